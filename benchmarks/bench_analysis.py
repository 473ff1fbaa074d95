"""Benchmark ``aufx analyze``: synthetic ratings of growing size → the full report.

Each size is written as a CSV (the export format), then analysed in a fresh child process
(``python -m analysis.cli``-equivalent ``analyze(...)`` call) so that wall time and peak memory
(max RSS of the child) cover exactly what a user's ``aufx analyze`` run costs: reading the CSV,
validation, all tests and models, figures, tables and report.html.

    .venv/bin/python benchmarks/bench_analysis.py            # 10k, 100k and 1M ratings
    .venv/bin/python benchmarks/bench_analysis.py --sizes 1000000

The 1M-rating study: 2,000 participants × 42 items × 4 methods × 3 questions (1,008,000 answers;
8,000 answers removed at random, as missing answers, to give exactly 1,000,000) plus attention
checks and two excluded participants.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from analysis.report import analyze
result = analyze(sys.argv[1], sys.argv[2], metrics=sys.argv[3])
wall = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
peak_mib = usage.ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": peak_mib, "rows": result.summary.n_rows_kept,
                  "participants": result.summary.n_participants_kept,
                  "timings": result.timings,
                  "notes": sorted(set(result.tables["mixed"]["note"]) | set(result.tables["ordinal_mixed"]["note"]) | set(result.tables["ordinal_marginal"]["note"]))}))
"""

DESIGNS = {  # target ratings -> (participants, items)
    10_000: (24, 35),
    100_000: (210, 40),
    1_000_000: (2000, 42),
}


def make_study(target: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    from analysis.fixtures import simulate_metrics, simulate_ratings

    participants, items = DESIGNS[target]
    ratings = simulate_ratings(n_participants=participants, n_items=items, seed=seed,
                               n_excluded=2, n_failing_attention=2)
    real = ~ratings["attention_check"] & ~ratings["excluded"]
    kept_ids = ratings.loc[real, "participant_id"].unique()
    failing = kept_ids[-2:]  # the last two fail their attention check
    analysed = real & ~ratings["participant_id"].isin(failing)
    surplus = int(analysed.sum()) - target
    if surplus > 0:  # missing answers at random, so that exactly `target` ratings are analysed
        drop = np.random.default_rng(seed).choice(np.flatnonzero(analysed), surplus, replace=False)
        ratings = ratings.drop(index=ratings.index[drop])
    ratings_path, metrics_path = folder / f"ratings_{target}.csv", folder / f"metrics_{target}.csv"
    ratings.to_csv(ratings_path, index=False)
    simulate_metrics(ratings, seed=seed + 1).to_csv(metrics_path, index=False)
    return ratings_path, metrics_path


def run(sizes: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            ratings_path, metrics_path = make_study(size, folder)
            out = folder / f"report_{size}"
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(ratings_path), str(out), str(metrics_path)],
                capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["size"] = size
            row["csv_mib"] = ratings_path.stat().st_size / 2**20
            row["report_kib"] = (out / "report.html").stat().st_size / 1024
            rows.append(row)
            print(f"{size:>9,} ratings: {row['wall_s']:6.1f} s wall, {row['cpu_s']:6.1f} s CPU, "
                  f"peak {row['peak_mib']:7.0f} MiB "
                  f"(steps: " + ", ".join(f"{k} {v:.1f}" for k, v in row["timings"].items()) + ")",
                  flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(DESIGNS), choices=sorted(DESIGNS))
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = run(args.sizes)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {started}")
    print("| ratings | participants | wall (s) | CPU (s) | peak RSS (MiB) | load | tests | models | agreement | figures | write |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["timings"]
        print(f"| {r['rows']:,} | {r['participants']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mib']:.0f} | "
              + " | ".join(f"{t.get(k, float('nan')):.1f}" for k in
                           ("load", "tests", "models", "agreement", "figures", "write")) + " |")
    for r in rows:
        if r["notes"] and any(r["notes"]):
            print(f"{r['rows']:,}: " + "; ".join(n for n in r["notes"] if n))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
