"""Read OpenFace 2.0 ``FeatureExtraction`` CSVs (real-data AU labels).

OpenFace writes column names with a leading space (`` AU01_r``, `` confidence``,
`` success``); files edited by hand or other tools often drop it. Both spellings are accepted.
Only the 16 AUs of the paper are read (``aufx.aus.AU_CODES``); the ``_c`` presence columns and
AU45 are ignored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from aufx.aus import AU_CODES

#: Columns read besides the AU intensities.
META_COLUMNS: tuple[str, ...] = ("confidence", "success")
#: Optional columns kept when present.
OPTIONAL_COLUMNS: tuple[str, ...] = ("frame", "face_id", "timestamp")


def read_openface_csv(path: str | Path, min_confidence: float | None = None,
                      successful_only: bool = False) -> pd.DataFrame:  # fmt: skip
    """Load an OpenFace 2.0 CSV as a tidy DataFrame.

    Args:
        path: the CSV written by OpenFace's ``FeatureExtraction``.
        min_confidence: drop rows whose ``confidence`` is below this (0..1).
        successful_only: drop rows whose ``success`` is 0.

    Returns:
        DataFrame with columns ``AU01`` ... ``AU26`` (float intensities, 0..5), ``confidence``
        (float), ``success`` (bool), plus ``frame``/``face_id``/``timestamp`` when present.

    Raises:
        FileNotFoundError: naming the missing file.
        ValueError: naming every missing column, or a value that is not a number.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"OpenFace CSV not found: {path}")
    raw = pd.read_csv(path, skipinitialspace=False)
    stripped = {column: column.strip() for column in raw.columns}
    table = raw.rename(columns=stripped)
    wanted = [f"{code}_r" for code in AU_CODES] + list(META_COLUMNS)
    missing = [name for name in wanted if name not in table.columns]
    if missing:
        listed = ", ".join(repr(" " + name) for name in missing)
        raise ValueError(f"{path}: not an OpenFace 2.0 CSV, missing column(s) {listed}")
    out = pd.DataFrame(index=table.index)
    for name in OPTIONAL_COLUMNS:
        if name in table.columns:
            out[name] = table[name]
    for code in AU_CODES:
        out[code] = _numeric(table[f"{code}_r"], f"{code}_r", path)
    out["confidence"] = _numeric(table["confidence"], "confidence", path)
    out["success"] = _numeric(table["success"], "success", path).astype(int).astype(bool)
    if successful_only:
        out = out[out["success"]]
    if min_confidence is not None:
        out = out[out["confidence"] >= min_confidence]
    return out.reset_index(drop=True)


def _numeric(column: pd.Series, name: str, path: Path) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        row = int(bad.idxmax())
        raise ValueError(f"{path}: column {name!r} row {row} is not a number: {str(column.iloc[row]).strip()!r}")
    return values.astype(float)
