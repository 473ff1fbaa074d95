"""benchmarks/bench_abandon.py: 50 simulated participants, 10 abandon; the lists end balanced."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return load_benchmark("bench_abandon")


@pytest.mark.slow
def test_lists_stay_within_one_when_ten_of_fifty_abandon(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    on, off = bench.Settings(regime="timeout"), bench.Settings(regime="timeout", abandon_after_minutes=0)
    with_rule = [bench.run(seed, on, tmp_path) for seed in range(3)]
    for outcome in with_rule:
        assert sum(outcome.completed_per_list) == 40 and outcome.abandoned == 10
        assert outcome.spread <= 1, outcome.completed_per_list
        assert outcome.taken_per_list == outcome.completed_per_list  # nobody left in progress
    without = [bench.run(seed, off, tmp_path) for seed in range(3)]
    assert max(o.spread for o in without) >= 2  # the old rule: abandoned sessions hold their lists


def test_the_command_prints_a_table(bench, capsys) -> None:  # type: ignore[no-untyped-def]
    assert bench.main(["--seeds", "1", "--regime", "return", "--rule", "on"]) == 0
    out = capsys.readouterr().out
    assert "| return on the platform (at once) | abandoned after 10 min idle |" in out
    assert "1 seeds per row" in out
