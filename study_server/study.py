"""The study folder: ``manifest.csv`` + images (DESIGN.md) and the study config ``study.toml``.

:func:`load_study` reads and validates both and returns a :class:`Study`, the read-only
description every other module works from. Errors are :class:`StudyError` (a ``ValueError``)
whose message names the file, the row or key, and the bad value.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

MANIFEST_COLUMNS: tuple[str, ...] = (
    "stimulus_id", "item_id", "source_id", "target_id", "task", "method", "parameters", "path", "sha256",
)  # fmt: skip
STUDY_FILE = "study.toml"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
DESIGNS = ("latin-square", "within")
#: A session idle this long (no study page open: pages ping once a minute) is marked abandoned and
#: its counterbalancing list is reassigned.
DEFAULT_ABANDON_AFTER_MINUTES = 10


class StudyError(ValueError):
    """The study folder or its config is invalid; the message says where and why."""


@dataclass(frozen=True)
class Question:
    """One Likert question shown on every trial."""

    id: str
    text: str
    anchors: tuple[str, ...]


#: The paper's three questions (Section 5), 5-point scale with labelled anchors.
DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question(
        "expression",
        "How successfully was the expression of the target transferred to the source face?",
        ("Not at all", "Slightly", "Moderately", "Mostly", "Completely"),
    ),
    Question(
        "identity",
        "How well is the identity of the source face preserved?",
        ("Not at all", "Slightly", "Moderately", "Mostly", "Completely"),
    ),
    Question(
        "artifacts",
        "How free of artifacts is the edited image?",
        ("Many artifacts", "Several", "Some", "Few", "No artifacts"),
    ),
)


@dataclass(frozen=True)
class Stimulus:
    """One row of ``manifest.csv``; ``method`` and ``parameters`` never reach a participant."""

    stimulus_id: str
    item_id: str
    source_id: str
    target_id: str
    task: str
    method: str
    parameters: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class Exclusion:
    """Exclusion rules, applied as flags in the export."""

    max_failed_checks: int = 0
    min_median_rt_ms: int = 0
    exclude_incomplete: bool = False


@dataclass(frozen=True)
class Study:
    """A validated study: its config and its stimuli."""

    folder: Path
    study_id: str
    title: str
    information: str
    instructions: str
    debrief: str
    consent_text: str
    questions: tuple[Question, ...]
    scale_points: int
    design: str
    practice_trials: int
    attention_checks: tuple[int, ...]
    min_view_ms: int
    completion_code: str
    completion_url: str
    allow_repeat: bool
    demographics: bool
    open_on_start: bool
    exclusion: Exclusion
    abandon_after_minutes: int
    stimuli: dict[str, Stimulus] = field(repr=False)
    references: dict[str, Path] = field(repr=False)

    @property
    def methods(self) -> list[str]:
        return sorted({s.method for s in self.stimuli.values()})

    @property
    def items(self) -> list[str]:
        return sorted({s.item_id for s in self.stimuli.values()})

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def n_main_trials(self) -> int:
        per = len(self.items) if self.design == "latin-square" else len(self.stimuli)
        return per + len(self.attention_checks)

    def completion_link(self) -> str:
        """The completion redirect with ``{code}`` filled in, or ``""``."""
        return self.completion_url.replace("{code}", self.completion_code)


_KNOWN_KEYS = {
    "id", "title", "information", "instructions", "debrief", "consent_file", "questions",
    "scale", "design", "practice_trials", "attention_checks", "min_view_ms", "completion_code",
    "completion_url", "allow_repeat", "demographics", "open", "exclusion", "verify_sha256",
    "abandon_after_minutes",
}  # fmt: skip


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) and kind in (int, (int,)):
        raise StudyError(f"{where}: '{key}' must be an integer, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise StudyError(f"{where}: '{key}' must be {names}, got {value!r}")
    return value


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / STUDY_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise StudyError(f"{path}: not valid TOML: {error}") from None


def _parse_questions(config: dict[str, Any], points: int, where: str) -> tuple[Question, ...]:
    raw = config.get("questions")
    if raw is None:
        if points != 5:
            return tuple(Question(q.id, q.text, _default_anchors(points)) for q in DEFAULT_QUESTIONS)
        return DEFAULT_QUESTIONS
    if not isinstance(raw, list) or not raw:
        raise StudyError(f"{where}: 'questions' must be a non-empty array of tables")
    scale_anchors = config.get("scale", {}).get("anchors")
    questions = []
    for i, entry in enumerate(raw, 1):
        w = f"{where}: questions[{i}]"
        if not isinstance(entry, dict):
            raise StudyError(f"{w} must be a table with 'id' and 'text'")
        unknown = set(entry) - {"id", "text", "anchors"}
        if unknown:
            raise StudyError(f"{w}: unknown key {sorted(unknown)[0]!r} (allowed: id, text, anchors)")
        qid = _get(entry, "id", str, "", w)
        if not SLUG_RE.match(qid):
            raise StudyError(f"{w}: 'id' must match {SLUG_RE.pattern}, got {qid!r}")
        text = _get(entry, "text", str, "", w).strip()
        if not text:
            raise StudyError(f"{w}: 'text' must not be empty")
        anchors = entry.get("anchors", scale_anchors) or _default_anchors(points)
        if not isinstance(anchors, list) or len(anchors) != points or not all(isinstance(a, str) for a in anchors):
            raise StudyError(f"{w}: 'anchors' must be {points} strings (one per scale point), got {anchors!r}")
        questions.append(Question(qid, text, tuple(anchors)))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise StudyError(f"{where}: question ids must be unique, got {ids}")
    return tuple(questions)


def _default_anchors(points: int) -> tuple[str, ...]:
    return tuple(["Not at all"] + [""] * (points - 2) + ["Completely"])


def _read_manifest(folder: Path, verify: bool) -> tuple[dict[str, Stimulus], dict[str, Path]]:
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        raise StudyError(f"{folder}: no manifest.csv (written by `aufx stimuli`)")
    root = folder.resolve()
    stimuli: dict[str, Stimulus] = {}
    references: dict[str, Path] = {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StudyError(f"{manifest}: missing column(s) {', '.join(missing)}")
        for row_number, row in enumerate(reader, 2):
            where = f"{manifest}:{row_number}"
            values = {c: (row[c] or "").strip() for c in MANIFEST_COLUMNS}
            for column in ("stimulus_id", "item_id", "source_id", "method"):
                if not ID_RE.match(values[column]):
                    raise StudyError(f"{where}: {column} must match {ID_RE.pattern}, got {values[column]!r}")
            if values["target_id"] and not ID_RE.match(values["target_id"]):
                raise StudyError(f"{where}: target_id must match {ID_RE.pattern}, got {values['target_id']!r}")
            if values["stimulus_id"] in stimuli:
                raise StudyError(f"{where}: duplicate stimulus_id {values['stimulus_id']!r}")
            path = _inside(root, values["path"], where)
            if verify and values["sha256"]:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest != values["sha256"].lower():
                    raise StudyError(f"{where}: sha256 of {values['path']} does not match the manifest")
            for column in ("source_id", "target_id"):
                ref = values[column]
                if ref and ref not in references:
                    references[ref] = _inside(root, f"images/{ref}.png", where)
            stimuli[values["stimulus_id"]] = Stimulus(
                values["stimulus_id"], values["item_id"], values["source_id"], values["target_id"],
                values["task"], values["method"], values["parameters"], path, values["sha256"],
            )  # fmt: skip
    if not stimuli:
        raise StudyError(f"{manifest}: no stimuli")
    return stimuli, references


def _inside(root: Path, relative: str, where: str) -> Path:
    if not relative or Path(relative).is_absolute():
        raise StudyError(f"{where}: path must be relative to the manifest, got {relative!r}")
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise StudyError(f"{where}: path {relative!r} leaves the study folder")
    if path.suffix.lower() != ".png":
        raise StudyError(f"{where}: {relative!r} is not a .png file")
    if not path.is_file():
        raise StudyError(f"{where}: image {relative!r} does not exist")
    return path


def _check_latin_square(stimuli: dict[str, Stimulus], where: str) -> None:
    methods = sorted({s.method for s in stimuli.values()})
    cells: dict[tuple[str, str], str] = {}
    for s in stimuli.values():
        key = (s.item_id, s.method)
        if key in cells:
            raise StudyError(
                f"{where}: design 'latin-square' needs one stimulus per item and method; item "
                f"{s.item_id!r} has two for one method ({cells[key]!r}, {s.stimulus_id!r})"
            )
        cells[key] = s.stimulus_id
    for item in sorted({s.item_id for s in stimuli.values()}):
        lacking = [m for m in methods if (item, m) not in cells]
        if lacking:
            raise StudyError(
                f"{where}: design 'latin-square' needs every method for every item; item {item!r} "
                f"has no stimulus for {len(lacking)} method(s)"
            )


def load_study(folder: str | Path) -> Study:
    """Read and validate a study folder (``manifest.csv``, images, optional ``study.toml``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyError(f"study folder {str(folder)!r} does not exist")
    config = _read_config(folder)
    where = str(folder / STUDY_FILE)
    unknown = set(config) - _KNOWN_KEYS
    if unknown:
        raise StudyError(f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(_KNOWN_KEYS))})")
    study_id = _get(config, "id", str, re.sub(r"[^A-Za-z0-9_\-]", "-", folder.resolve().name)[:64] or "study", where)
    if not SLUG_RE.match(study_id):
        raise StudyError(f"{where}: 'id' must match {SLUG_RE.pattern}, got {study_id!r}")
    scale = _get(config, "scale", dict, {}, where)
    unknown_scale = set(scale) - {"points", "anchors"}
    if unknown_scale:
        raise StudyError(f"{where}: unknown key scale.{sorted(unknown_scale)[0]} (allowed: points, anchors)")
    points = _get(scale, "points", int, 5, f"{where}: [scale]")
    if not 2 <= points <= 9:
        raise StudyError(f"{where}: scale.points must be 2..9 (one key per point), got {points}")
    questions = _parse_questions(config, points, where)
    design = _get(config, "design", str, "latin-square", where)
    if design not in DESIGNS:
        raise StudyError(f"{where}: 'design' must be one of {', '.join(DESIGNS)}, got {design!r}")
    checks = _get(config, "attention_checks", list, [], where)
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in checks) or len(set(checks)) != len(checks):
        raise StudyError(f"{where}: 'attention_checks' must be distinct trial positions >= 1, got {checks!r}")
    practice = _get(config, "practice_trials", int, 1, where)
    min_view = _get(config, "min_view_ms", int, 0, where)
    if practice < 0 or min_view < 0:
        raise StudyError(f"{where}: 'practice_trials' and 'min_view_ms' must be >= 0")
    abandon_after = _get(config, "abandon_after_minutes", int, DEFAULT_ABANDON_AFTER_MINUTES, where)
    if not 0 <= abandon_after <= 7 * 24 * 60:
        raise StudyError(f"{where}: 'abandon_after_minutes' must be 0 (never) to 10080 (a week), got {abandon_after}")
    completion_url = _get(config, "completion_url", str, "", where).strip()
    if completion_url and urlparse(completion_url).scheme not in ("https", "http"):
        raise StudyError(f"{where}: 'completion_url' must be an http(s) URL, got {completion_url!r}")
    completion_code = _get(config, "completion_code", str, "", where).strip()
    if completion_code and not SLUG_RE.match(completion_code):
        raise StudyError(f"{where}: 'completion_code' must match {SLUG_RE.pattern}, got {completion_code!r}")
    exclusion_table = _get(config, "exclusion", dict, {}, where)
    bad = set(exclusion_table) - {"max_failed_checks", "min_median_rt_ms", "exclude_incomplete"}
    if bad:
        raise StudyError(f"{where}: unknown key exclusion.{sorted(bad)[0]}")
    exclusion = Exclusion(
        _get(exclusion_table, "max_failed_checks", int, 0, f"{where}: [exclusion]"),
        _get(exclusion_table, "min_median_rt_ms", int, 0, f"{where}: [exclusion]"),
        _get(exclusion_table, "exclude_incomplete", bool, False, f"{where}: [exclusion]"),
    )
    consent_file = _get(config, "consent_file", str, "consent.txt", where)
    consent_path = (folder / consent_file).resolve()
    if not consent_path.is_relative_to(folder.resolve()):
        raise StudyError(f"{where}: 'consent_file' must lie in the study folder, got {consent_file!r}")
    if consent_path.is_file():
        consent_text = consent_path.read_text(encoding="utf-8")
    elif "consent_file" in config:
        raise StudyError(f"{where}: consent file {consent_file!r} does not exist")
    else:
        consent_text = (
            "You are invited to rate images of faces. Taking part is voluntary and you may stop at "
            "any time by closing this window. Your ratings are stored under a random identifier."
        )
    stimuli, references = _read_manifest(folder, _get(config, "verify_sha256", bool, True, where))
    if design == "latin-square":
        _check_latin_square(stimuli, str(folder / "manifest.csv"))
    per = len({s.item_id for s in stimuli.values()}) if design == "latin-square" else len(stimuli)
    if checks and max(checks) > per + len(checks):
        raise StudyError(
            f"{where}: attention check position {max(checks)} is beyond the last trial ({per + len(checks)})"
        )
    return Study(
        folder=folder.resolve(),
        study_id=study_id,
        title=_get(config, "title", str, "Rating edited face images", where),
        information=_get(config, "information", str, "In this study you will see face images that were edited by a computer, and rate each edited image on a few questions.", where),
        instructions=_get(config, "instructions", str, "Each screen shows the source face, for transfer tasks the target expression, and the edited image. Answer every question with the mouse, a tap, or the number keys, then continue.", where),
        debrief=_get(config, "debrief", str, "Thank you for taking part. The images were made by several face-editing methods; your ratings help compare them.", where),
        consent_text=consent_text,
        questions=questions,
        scale_points=points,
        design=design,
        practice_trials=practice,
        attention_checks=tuple(sorted(checks)),
        min_view_ms=min_view,
        completion_code=completion_code,
        completion_url=completion_url,
        allow_repeat=_get(config, "allow_repeat", bool, False, where),
        demographics=_get(config, "demographics", bool, True, where),
        open_on_start=_get(config, "open", bool, True, where),
        exclusion=exclusion,
        abandon_after_minutes=abandon_after,
        stimuli=stimuli,
        references=references,
    )
