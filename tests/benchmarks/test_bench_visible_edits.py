"""benchmarks/bench_visible_edits.py on a tiny random model: every AU gets a row, the count of AUs
meeting the goal matches the rows, and the strip has the original plus 16 edits per face."""

from __future__ import annotations

import re

import numpy as np
import torch

from tests.aufx.stimuli.tiny_study import make_tiny_model
from tests.benchmarks.helpers import load_benchmark


def test_tiny_run_prints_a_row_per_au_and_writes_the_strip(tmp_path, capsys):
    bench = load_benchmark("bench_visible_edits")
    model = make_tiny_model(tmp_path / "m")
    strip = tmp_path / "strip.png"
    assert bench.main(["--model", str(model), "--analyzer", str(tmp_path / "m" / "analyzer.pt"), "--faces", "3",
                       "--strip", str(strip), "--strip-faces", "2", "--threads", "1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (AU\d\d) \| ([+-][\d.]+) \| \[[+-][\d.]+, [+-][\d.]+\] \| \d+% \| [+-][\d.]+ \| (✓|✗) \|$", out, flags=re.M)
    assert [r[0] for r in rows] == [f"AU{c}" for c in ("01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26")]
    met = int(re.search(r"mean rise ≥ 1.5: (\d+)/16 AUs", out)[1])
    assert met == sum(float(r[1]) >= 1.5 for r in rows) == sum(r[2] == "✓" for r in rows)
    assert strip.read_bytes()[:4] == b"\x89PNG"


def test_table_counts_the_goal_from_the_analyzer_rise_not_the_editor():
    bench = load_benchmark("bench_visible_edits")
    from aufx.aus import AU_CODES

    results = {code: {"rise": np.full(4, 2.0 if i % 2 else 1.0), "predicted": np.full(4, 2.0), "images": torch.zeros(4, 3, 8, 8)}
               for i, code in enumerate(AU_CODES)}  # fmt: skip
    text, met = bench.table(results, 2.0)
    assert met == 8 and text.count("✓") == 8 and "| AU01 | +1.00 |" in text
