"""benchmarks/bench_baseline_training.py: float32 and bf16 steps of every trained baseline, side by side."""

from __future__ import annotations

from tests.benchmarks.helpers import load_benchmark


def test_both_precisions_train_every_method_and_the_table_is_printed(tmp_path, capsys):
    bench = load_benchmark("bench_baseline_training")
    rows = bench.main(["--size", "16", "--steps", "1", "--rounds", "1", "--pool-faces", "24", "--data-dir", str(tmp_path)])
    assert [r["method"] for r in rows] == ["stargan", "ganimation", "cascade-efgan"]
    for r in rows:
        assert r["fp32"] > 0 and r["bf16"] > 0 and r["speedup"] > 0
        assert r["loss_drift"] < 0.5  # the same start and batches: bf16 rounding only
    assert "| stargan | 32 |" in capsys.readouterr().out
