"""Distillation curves: held-out rows read from the log (resumed duplicates once), a PNG with the phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aufx.gan.curves import plot_curve, read_heldout


def write_log(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_read_heldout_keeps_evaluation_rows_sorted_and_the_last_of_a_repeated_kimg(tmp_path: Path) -> None:
    write_log(tmp_path / "log.jsonl", [
        {"kimg": 0.3, "seconds": 1, "l1": 0.5, "heldout_l1": 0.9},
        {"kimg": 0.6, "seconds": 2, "l1": 0.4},
        {"kimg": 8.0, "seconds": 9, "heldout_l1": 0.2, "heldout_feature_l1": 0.3},
        {"kimg": 8.0, "seconds": 10, "heldout_l1": 0.19, "heldout_feature_l1": 0.29},  # resumed run
    ])  # fmt: skip
    curve = read_heldout(tmp_path / "log.jsonl")
    assert curve["kimg"].tolist() == [0.3, 8.0] and curve["heldout_l1"].tolist() == [0.9, 0.19]


def test_a_log_without_evaluations_is_named(tmp_path: Path) -> None:
    write_log(tmp_path / "log.jsonl", [{"kimg": 0.3, "seconds": 1, "l1": 0.5}])
    with pytest.raises(ValueError, match="log.jsonl: no held-out evaluations"):
        read_heldout(tmp_path / "log.jsonl")


def test_plot_writes_a_png_with_phases(tmp_path: Path) -> None:
    write_log(tmp_path / "log.jsonl", [{"kimg": k, "seconds": k, "heldout_l1": 1 / (1 + k)} for k in range(5)])
    write_log(tmp_path / "phases.jsonl", [
        {"kimg": 0.0, "lr": 0.002, "part_weight": 3, "expression_weight": 0, "perceptual_weight": 0.5, "adv_weight": 0},
        {"kimg": 2.0, "lr": 0.001, "part_weight": 3, "expression_weight": 10, "perceptual_weight": 0.5, "adv_weight": 0},
    ])  # fmt: skip
    out = plot_curve(tmp_path, tmp_path / "c.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
