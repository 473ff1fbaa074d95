"""Load and validate the long-format ratings export (schema in DESIGN.md).

``load_ratings`` reads a CSV/Parquet file or takes a DataFrame, checks every column and value,
drops excluded participants and attention-check rows, and returns the clean ratings together
with a :class:`LoadSummary` of what was dropped and why. Every error names the column, the row
(1-based data row, as a spreadsheet would show it after the header) and the offending value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns every ratings export must have.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "study_id",
    "trial_index",
    "stimulus_id",
    "item_id",
    "method",
    "question",
    "rating",
    "rt_ms",
    "created_at",
)
#: Columns only the analysis needs (a user's own export may leave the others out with ``strict=False``).
CORE_COLUMNS: tuple[str, ...] = ("participant_id", "stimulus_id", "item_id", "method", "question", "rating")
#: Optional boolean flag columns.
FLAG_COLUMNS: tuple[str, ...] = ("attention_check", "excluded")
#: Column names that mark a data set as simulated.
SIMULATED_COLUMNS: tuple[str, ...] = ("simulated",)

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class RatingsError(ValueError):
    """Invalid ratings input; the message names the column, row and value."""


@dataclass(frozen=True)
class Scale:
    """A Likert scale with integer points ``low`` .. ``high``."""

    low: int = 1
    high: int = 5

    @classmethod
    def parse(cls, text: str) -> Scale:
        """Parse ``"1-5"`` or ``"1..7"``."""
        cleaned = text.replace("..", "-").strip()
        try:
            low_text, high_text = cleaned.split("-")
            scale = cls(int(low_text), int(high_text))
        except ValueError:
            raise RatingsError(f"scale must look like '1-5', got {text!r}") from None
        if scale.high - scale.low < 1:
            raise RatingsError(f"scale needs at least two points, got {text!r}")
        return scale

    @property
    def points(self) -> list[int]:
        return list(range(self.low, self.high + 1))

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


@dataclass
class LoadSummary:
    """What was read, what was dropped and why."""

    n_rows_read: int
    n_rows_kept: int
    n_participants_read: int
    n_participants_kept: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    excluded_participants: list[str] = field(default_factory=list)
    attention: pd.DataFrame | None = None  # per participant: checks, passed
    simulated: bool = False
    scale: Scale = field(default_factory=Scale)
    methods: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    n_items: int = 0
    n_stimuli: int = 0

    def as_frame(self) -> pd.DataFrame:
        """Tidy table ``step, rows, participants``."""
        rows = [("read", self.n_rows_read, self.n_participants_read)]
        rows += [(f"dropped: {reason}", -n, None) for reason, n in self.dropped.items()]
        rows.append(("analysed", self.n_rows_kept, self.n_participants_kept))
        return pd.DataFrame(rows, columns=["step", "rows", "participants"]).astype({"participants": "Int64"})

    def text(self) -> str:
        """One paragraph for the methods section."""
        parts = [
            f"{self.n_rows_read} ratings from {self.n_participants_read} participants were read"
        ]
        for reason, n in self.dropped.items():
            parts.append(f"{n} rows were dropped ({reason})")
        parts.append(
            f"{self.n_rows_kept} ratings from {self.n_participants_kept} participants "
            f"({len(self.methods)} methods, {self.n_items} items, {len(self.questions)} questions) "
            f"were analysed on a {self.scale} scale"
        )
        return "; ".join(parts) + "."


def _row_text(row: int, csv: bool) -> str:
    """1-based data row; for a CSV also its line in the file (the header is line 1)."""
    return f"row {row + 1} (line {row + 2} of the CSV)" if csv else f"row {row + 1}"


def _to_bool(series: pd.Series, column: str, csv: bool = False) -> pd.Series:
    """Parse a boolean flag column; errors name the first bad row."""
    if series.dtype == bool:
        return series
    text = series.astype("string").str.strip().str.lower().fillna("")
    good = text.isin(_TRUE | _FALSE)
    if not good.all():
        row = int(np.flatnonzero(~good.to_numpy())[0])
        raise RatingsError(
            f"column {column!r}: {_row_text(row, csv)} has value {str(series.iloc[row])!r}, "
            "expected true/false"
        )
    return text.isin(_TRUE)


def _bad_row(
    mask: np.ndarray, column: str, values: pd.Series, expected: str, csv: bool = False
) -> RatingsError:
    row = int(np.flatnonzero(mask)[0])
    n = int(mask.sum())
    more = f" ({n - 1} more rows like it)" if n > 1 else ""
    value = values.iloc[row]
    value = value.item() if isinstance(value, np.generic) else value
    return RatingsError(
        f"column {column!r}: {_row_text(row, csv)} has value {value!r}, expected {expected}{more}"
    )


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; a missing file raises FileNotFoundError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"participant_id": "string", "stimulus_id": "string",
                                    "item_id": "string", "method": "string", "question": "string"},
                       low_memory=False)


def load_ratings(
    source: str | Path | pd.DataFrame,
    *,
    scale: Scale | str = Scale(),
    strict: bool = True,
    drop_failed_attention: bool = True,
    simulated: bool | None = None,
) -> tuple[pd.DataFrame, LoadSummary]:
    """Validate ratings, honour exclusions, and return ``(ratings, summary)``.

    ``strict`` requires every column of the export schema; otherwise only the core columns.
    Participants flagged ``excluded`` are dropped; attention-check rows are never analysed as
    stimuli, and participants who failed one (rating != ``expected`` when the export has an
    ``expected`` column) are dropped when ``drop_failed_attention``. ``simulated`` overrides the
    ``simulated`` marker column. The result has categorical ``method``/``question`` and an
    integer ``rating`` column.
    """
    if isinstance(scale, str):
        scale = Scale.parse(scale)
    frame = read_table(source) if not isinstance(source, pd.DataFrame) else source.copy()
    csv = not isinstance(source, pd.DataFrame) and Path(source).suffix.lower() not in {".parquet", ".pq"}
    needed = REQUIRED_COLUMNS if strict else CORE_COLUMNS
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RatingsError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"the ratings export needs {', '.join(needed)}"
        )
    if frame.empty:
        raise RatingsError("the ratings table has no rows")
    frame = frame.reset_index(drop=True)
    for column in ("participant_id", "stimulus_id", "item_id", "method", "question"):
        values = frame[column]
        blank = values.isna().to_numpy() | (values.astype("string").str.strip() == "").fillna(True).to_numpy()
        if blank.any():
            raise _bad_row(blank, column, values, "a non-empty value", csv)
        frame[column] = values.astype("string").str.strip()

    raw = frame["rating"]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        raise _bad_row(bad, "rating", raw, f"a number on the {scale} scale", csv)
    values = numeric.to_numpy(dtype=float)
    off_scale = (values < scale.low) | (values > scale.high) | (values != np.round(values))
    if off_scale.any():
        raise _bad_row(off_scale, "rating", raw, f"an integer from {scale.low} to {scale.high}", csv)
    frame["rating"] = values.astype(np.int64)

    n_read, p_read = len(frame), frame["participant_id"].nunique()
    dropped: dict[str, int] = {}
    is_sim = False
    for column in SIMULATED_COLUMNS:
        if column in frame.columns:
            is_sim = bool(_to_bool(frame[column], column, csv).any())
    if simulated is not None:
        is_sim = simulated

    excluded_ids: list[str] = []
    if "excluded" in frame.columns:
        flag = _to_bool(frame["excluded"], "excluded", csv)
        excluded_ids = sorted(frame.loc[flag, "participant_id"].unique().tolist())
        mask = frame["participant_id"].isin(excluded_ids).to_numpy()
        if mask.any():
            dropped["participants flagged excluded"] = int(mask.sum())
            frame = frame.loc[~mask].reset_index(drop=True)

    attention = None
    if "attention_check" in frame.columns:
        check = _to_bool(frame["attention_check"], "attention_check", csv).to_numpy()
        if check.any():
            checks = frame.loc[check]
            if "expected" in frame.columns:
                expected = pd.to_numeric(checks["expected"], errors="coerce")
                passed = (expected == checks["rating"]).to_numpy()
            else:
                passed = np.ones(len(checks), dtype=bool)
            attention = (
                pd.DataFrame({"participant_id": checks["participant_id"].to_numpy(), "passed": passed})
                .groupby("participant_id")["passed"].agg(checks="size", passed="sum").reset_index()
            )
            dropped["attention-check trials"] = int(check.sum())
            frame = frame.loc[~check].reset_index(drop=True)
            failed = attention.loc[attention["passed"] < attention["checks"], "participant_id"]
            if drop_failed_attention and len(failed):
                mask = frame["participant_id"].isin(failed).to_numpy()
                dropped["participants who failed an attention check"] = int(mask.sum())
                excluded_ids = sorted(set(excluded_ids) | set(failed))
                frame = frame.loc[~mask].reset_index(drop=True)

    key = ["participant_id", "stimulus_id", "question"]
    duplicate = frame.duplicated(key, keep="first").to_numpy()
    if duplicate.any():
        dropped["repeated answers (first kept)"] = int(duplicate.sum())
        warnings.warn(
            f"{int(duplicate.sum())} repeated answers (same participant, stimulus, question); "
            "the first is kept",
            stacklevel=2,
        )
        frame = frame.loc[~duplicate].reset_index(drop=True)

    if frame.empty:
        raise RatingsError("no ratings left after exclusions")
    n_participants = frame["participant_id"].nunique()
    if n_participants < 2:
        raise RatingsError(
            f"only {n_participants} participant left after exclusions; tests over participants "
            "need at least 2"
        )
    methods = sorted(frame["method"].unique().tolist())
    if len(methods) < 2:
        raise RatingsError(f"only one method ({methods[0]!r}) in the ratings; nothing to compare")
    questions = list(dict.fromkeys(frame["question"].tolist()))
    for q in questions:
        present = set(frame.loc[frame["question"] == q, "method"].unique())
        absent = [m for m in methods if m not in present]
        if absent:
            warnings.warn(
                f"question {q!r} has no ratings for method(s) {', '.join(map(repr, absent))}; "
                "the comparisons and model terms that need them are left out (rows with a note)",
                stacklevel=2,
            )

    frame["method"] = pd.Categorical(frame["method"], categories=methods)
    frame["question"] = pd.Categorical(frame["question"], categories=questions)
    summary = LoadSummary(
        n_rows_read=n_read,
        n_rows_kept=len(frame),
        n_participants_read=p_read,
        n_participants_kept=n_participants,
        dropped=dropped,
        excluded_participants=excluded_ids,
        attention=attention,
        simulated=is_sim,
        scale=scale,
        methods=methods,
        questions=questions,
        n_items=frame["item_id"].nunique(),
        n_stimuli=frame["stimulus_id"].nunique(),
    )
    return frame, summary


def choose_reference(methods: list[str], reference: str | None = None) -> str:
    """The reference method: ``reference`` if given, else ``aufx``, else the one ``aufx*``."""
    if reference is not None:
        if reference not in methods:
            raise RatingsError(
                f"reference method {reference!r} not in the ratings; methods: {', '.join(methods)}"
            )
        return reference
    if "aufx" in methods:
        return "aufx"
    candidates = [m for m in methods if m.lower().startswith("aufx")]
    if len(candidates) == 1:
        return candidates[0]
    raise RatingsError(
        "cannot choose the reference method (no 'aufx', and "
        f"{len(candidates)} methods start with 'aufx'); pass --reference, one of: {', '.join(methods)}"
    )
