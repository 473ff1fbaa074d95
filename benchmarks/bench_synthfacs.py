"""SynthFACS render speed: faces per second at 64 px on one CPU thread, with and without part maps.

    .venv/bin/python benchmarks/bench_synthfacs.py [--n 1024] [--repeats 3]

Prints wall-clock and CPU-time rates (CPU time is the fairer number on a shared machine).
"""

from __future__ import annotations

import argparse
import time

import torch

from aufx.synthfacs import render, sample_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = sample_params(args.n, seed=0)
    render(params.aus[:16], params.identity[:16], size=args.size)  # warm-up
    print(f"SynthFACS render, {args.n} faces at {args.size} px, 1 thread (best of {args.repeats})")
    print("| parts | faces/s (wall) | faces/s (CPU time) |")
    print("|---|---|---|")
    for with_parts in (False, True):
        best_wall = best_cpu = 0.0
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            render(params.aus, params.identity, size=args.size, with_parts=with_parts)
            best_wall = max(best_wall, args.n / (time.perf_counter() - w0))
            best_cpu = max(best_cpu, args.n / (time.process_time() - c0))
        print(f"| {'yes' if with_parts else 'no'} | {best_wall:.0f} | {best_cpu:.0f} |")


if __name__ == "__main__":
    main()
