"""Outputs assembled from the per-unit records: ``manifest.csv``, ``metrics.csv``, ``study.toml``
and ``contact_sheet.png``. Everything is written in plan order with atomic writes, so the same
spec + seed gives byte-identical files however (and in how many runs) the units were made.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from pathlib import Path
from typing import Any

from aufx.files import atomic_write
from aufx.stimuli.plan import Plan, canonical
from aufx.stimuli.spec import Spec
from aufx.stimuli.work import read_record

MANIFEST_COLUMNS: tuple[str, ...] = (
    "stimulus_id", "item_id", "source_id", "target_id", "task", "method", "parameters", "path", "sha256",
)  # fmt: skip
METRICS_KEY_COLUMNS: tuple[str, ...] = ("stimulus_id", "method", "item_id")
HEADLINE_METRICS: tuple[str, ...] = (
    "target_change", "transfer_error", "leakage", "outside_share", "identity_drift", "realism", "high_freq_ratio",
    "pixel_change",
)  # fmt: skip
#: Rows of the contact sheet at most (a large study shows its first items).
MAX_SHEET_ROWS = 64


def _csv(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.6g}"


def _records(plan: Plan, out: Path) -> list[dict[str, Any]]:
    records = []
    for unit in plan.stimuli:
        record = read_record(out, unit)
        if record is None:
            raise ValueError(
                f"{out}: stimulus {unit['stimulus_id']} has no record; rerun `aufx stimuli`"
            )
        records.append(record)
    return records


def write_manifest(plan: Plan, records: list[dict[str, Any]], out: Path) -> Path:
    rows: list[list[Any]] = [list(MANIFEST_COLUMNS)]
    for unit, record in zip(plan.stimuli, records, strict=True):
        method = unit["method"]
        parameters = {"method": method["kind"], "params": method["params"], "edit": unit["edit"]}
        if record.get("condition"):
            parameters["condition"] = record["condition"]
        if method["params"].get("weights") == "random":
            parameters["weights"] = "random init (untrained)"
        rows.append([unit["stimulus_id"], unit["item_id"], unit["source_id"], unit["target_id"], unit["task"],
                     method["name"], canonical(parameters), f"images/{unit['stimulus_id']}.png", record["sha256"]])  # fmt: skip
    path = out / "manifest.csv"
    atomic_write(path, _csv(rows))
    return path


def write_metrics(plan: Plan, records: list[dict[str, Any]], out: Path) -> Path:
    names = {k for r in records for k in r["metrics"]}
    columns = [m for m in HEADLINE_METRICS if m in names] + sorted(names - set(HEADLINE_METRICS))
    rows: list[list[Any]] = [list(METRICS_KEY_COLUMNS) + columns]
    for unit, record in zip(plan.stimuli, records, strict=True):
        rows.append([unit["stimulus_id"], unit["method"]["name"], unit["item_id"]]
                    + [_number(record["metrics"].get(c)) for c in columns])  # fmt: skip
    path = out / "metrics.csv"
    atomic_write(path, _csv(rows))
    return path


# ---------------------------------------------------------------------------- study.toml
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def study_toml(spec: Spec) -> str:
    """The study server's ``study.toml`` from the spec's ``[study]`` table (``id`` = the spec's name)."""
    study = dict(spec.study)
    lines = [f"# Written by `aufx stimuli` from {spec.path.name}; read by `aufx serve --study`.",
             f"id = {_toml_value(spec.name)}"]  # fmt: skip
    tables = {k: study.pop(k) for k in ("scale", "exclusion") if k in study}
    questions = study.pop("questions", None)
    for key in sorted(study):
        lines.append(f"{key} = {_toml_value(study[key])}")
    for key, table in tables.items():
        lines.append(f"\n[{key}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    for question in questions or []:
        lines.append("\n[[questions]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in question.items())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- contact sheet
def write_contact_sheet(spec: Spec, plan: Plan, out: Path, show_target: bool = True,
                        name: str = "contact_sheet.png") -> Path:
    """Rows: items; columns: source, target, then every method (blank where a method does not apply).

    ``show_target=False`` leaves out the target column (tasks without target faces); ``name`` is
    the file written in ``out``.
    """
    from PIL import Image, ImageDraw

    size, pad, line_height = spec.image_size, 2, 11
    methods = [m.name for m in spec.methods]
    columns = ["source", *(["target"] if show_target else []), *methods]
    # Column names wrapped to the tile width (PIL's default font is ~6 px per character), at most 3 lines.
    labels = [textwrap.wrap(column, max(4, size // 6), break_on_hyphens=True)[:3] for column in columns]
    header = 3 + line_height * max(len(lines) for lines in labels)
    items = plan.items[:MAX_SHEET_ROWS]
    by_cell = {(u["item_id"], u["method"]["name"]): u["stimulus_id"] for u in plan.stimuli}
    width = len(columns) * (size + pad) + pad
    height = header + len(items) * (size + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, lines in enumerate(labels):
        for k, line in enumerate(lines):
            draw.text((pad + c * (size + pad), 1 + k * line_height), line, fill=(0, 0, 0))
    for r, item in enumerate(items):
        files = [
            item["source_id"],
            *([item["target_id"]] if show_target else []),
            *[by_cell.get((item["item_id"], m), "") for m in methods],
        ]
        for c, ident in enumerate(files):
            if not ident:
                continue
            tile = Image.open(out / "images" / f"{ident}.png").convert("RGB")
            sheet.paste(tile, (pad + c * (size + pad), header + pad + r * (size + pad)))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    path = out / name
    atomic_write(path, buffer.getvalue())
    return path


def assemble(spec: Spec, plan: Plan, out: Path) -> dict[str, Path]:
    """Write manifest, metrics, study config and contact sheet from the records; returns their paths."""
    records = _records(plan, out)
    paths = {
        "manifest": write_manifest(plan, records, out),
        "metrics": write_metrics(plan, records, out),
    }
    study = out / "study.toml"
    atomic_write(study, study_toml(spec).encode("utf-8"))
    paths["study"] = study
    paths["contact_sheet"] = write_contact_sheet(spec, plan, out)
    return paths
