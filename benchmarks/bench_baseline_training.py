"""CPU cost of one training step of each trained baseline, float32 vs bfloat16 autocast, side by side.

    nice -n 10 .venv/bin/python benchmarks/bench_baseline_training.py            # 128 px, batch 16
    .venv/bin/python benchmarks/bench_baseline_training.py --size 64 --steps 3

For each method (its width as trained), one trainer per precision from the same seed on the same
face pool (``~/.cache/aufx/baselines/data``), a generator step at every critic step
(``n_critic`` 1, so each step is the full cost), one warm-up step, then ``--steps`` timed steps; the
two precisions alternate ``--rounds`` times and the fastest round counts. Reported: process CPU
seconds per step (machine load inflates wall time, not CPU time), the speed-up, and the largest
relative difference of the logged losses after the timed steps (what bf16 rounding changes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

WIDTHS = {"stargan": 32, "ganimation": 32, "cascade-efgan": 16}


def time_steps(method: str, size: int, width: int, bf16: bool, steps: int, threads: int,
               pool: dict[str, Any] | None = None) -> tuple[float, dict[str, float]]:  # fmt: skip
    """(CPU seconds per step, the last step's losses) of a fresh trainer."""
    import torch

    from baselines.train_cli import build_config, trainer_class
    from baselines.training import TrainSettings

    torch.set_num_threads(threads)
    trainer = trainer_class(method)(build_config(method, size, width), state_dir=tempfile.mkdtemp(prefix="aufx-bench-"),
                                    settings=TrainSettings(n_critic=1, bf16=bf16, seed=0, **(pool or {})))  # fmt: skip
    trainer.train_step()  # warm-up (and the pool)
    start = time.process_time()
    for _ in range(steps):
        losses = trainer.train_step()
    return (time.process_time() - start) / steps, losses


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", default=",".join(WIDTHS))
    parser.add_argument("--pool-faces", type=int, default=8000, help="the trainings' face pool (rendered once)")
    parser.add_argument("--data-dir", default=None, help="face pool folder (default the trainings')")
    args = parser.parse_args(argv)
    pool = {"pool_faces": args.pool_faces, **({"data_dir": args.data_dir} if args.data_dir else {})}
    rows = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        best: dict[bool, float] = {}
        losses: dict[bool, dict[str, float]] = {}
        for _ in range(args.rounds):
            for bf16 in (False, True):
                seconds, losses[bf16] = time_steps(method, args.size, WIDTHS[method], bf16, args.steps, args.threads, pool)
                best[bf16] = min(best.get(bf16, float("inf")), seconds)
        drift = max(abs(losses[True][k] - v) / max(abs(v), 1e-3) for k, v in losses[False].items())
        rows.append({"method": method, "width": WIDTHS[method], "fp32": best[False], "bf16": best[True],
                     "speedup": best[False] / best[True], "loss_drift": drift})  # fmt: skip
    print(f"\n{args.size} px, batch 16, {args.threads} thread(s), n_critic 1, best of {args.rounds} rounds of {args.steps} steps\n")
    print("| method | width | float32 CPU-s/step | bf16 CPU-s/step | speed-up | largest loss difference |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['method']} | {r['width']} | {r['fp32']:.2f} | {r['bf16']:.2f} | {r['speedup']:.2f}× | {r['loss_drift']:.1%} |")
    return rows


if __name__ == "__main__":
    main()
