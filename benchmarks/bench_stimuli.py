"""Stimuli throughput: plain loop vs Dask with 1 and 2 workers, on a tiny 32-px model.

    .venv/bin/python benchmarks/bench_stimuli.py [--items 6] [--repeats 1]

Each configuration runs in a fresh Python process (so model loading and, for Dask, cluster start
and worker imports are counted) on a fresh output folder. Reported per configuration:

- process wall / CPU: the whole command in a fresh process (interpreter start, imports, plan,
  cluster start, faces, stimuli, assembly, shutdown); CPU = user + system seconds of the process
  and all its children (the Dask workers), measured by the parent, so that the figures mean
  something on a machine shared with other work;
- wall: seconds of the ``run_stimuli`` call alone;
- stimuli wave: seconds of the stimulus wave alone (what scales with the study's size);
- stimuli/s over the whole call and over the stimulus wave.

Overhead of the Dask path = (Dask, 1 worker) / (loop) − 1, for process wall and process CPU (goal <= 10 %).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

METHODS = """
[[methods]]
kind = "aufx"
mode = "global-opt"
steps = 30
[[methods]]
kind = "aufx"
mode = "local-mux"
steps = 30
[[methods]]
kind = "ganimation"
weights = "random"
[[methods]]
kind = "cascade-efgan"
weights = "random"
"""


def cpu_seconds() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def children_cpu() -> float:
    """User + system seconds of the finished child processes (and their reaped descendants)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(config: str, spec: Path, out: Path) -> dict:
    """Run one configuration in this process; returns its figures."""
    import warnings

    warnings.simplefilter("ignore")
    from aufx.stimuli import load_spec
    from aufx.stimuli.run import run_stimuli

    workers = {"loop": 0, "dask1": 1, "dask2": 2}[config]
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    summary = run_stimuli(load_spec(spec), out, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    time.sleep(
        0.5
    )  # let the closed cluster's worker processes be reaped (their CPU joins RUSAGE_CHILDREN)
    n = len(summary.plan.stimuli)
    return {"config": config, "stimuli": n, "wall_s": wall, "wave_s": summary.seconds["stimuli"],
            "faces_s": summary.seconds["faces"], "cpu_s": cpu_seconds() - cpu0,
            "per_s": n / wall, "wave_per_s": n / summary.seconds["stimuli"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--steps",
        type=int,
        default=30,
        help="aufx optimisation steps per stimulus (work per stimulus)",
    )
    parser.add_argument("--one", choices=("loop", "dask1", "dask2"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(one(args.one, args.spec, args.out)))
        return 0
    from tests.aufx.stimuli.tiny_study import make_tiny_model, write_spec

    with tempfile.TemporaryDirectory(prefix="bench_stimuli_") as tmp:
        root = Path(tmp)
        make_tiny_model(root)
        spec = write_spec(
            root,
            n=args.items,
            methods=METHODS.replace("steps = 30", f"steps = {args.steps}"),
            name="bench",
        )
        results = []
        for repeat in range(args.repeats):
            for config in ("loop", "dask1", "dask2"):
                out = root / f"out-{config}-{repeat}"
                cpu0, t0 = children_cpu(), time.perf_counter()
                proc = subprocess.run([sys.executable, __file__, "--one", config, "--spec", str(spec), "--out", str(out)],
                                      capture_output=True, text=True, cwd=REPO)  # fmt: skip
                process_wall, process_cpu = time.perf_counter() - t0, children_cpu() - cpu0
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                result.update(process_wall_s=process_wall, process_cpu_s=process_cpu,
                              process_per_s=result["stimuli"] / process_wall,
                              stimuli_per_cpu_s=result["stimuli"] / process_cpu)  # fmt: skip
                results.append(result)
                print(f"{config:6s} {result['stimuli']} stimuli  process wall {process_wall:6.1f} s "
                      f"({result['process_per_s']:.3f}/s)  process CPU {process_cpu:6.1f} s "
                      f"({result['stimuli_per_cpu_s']:.2f}/CPU-s)  run_stimuli wall {result['wall_s']:6.1f} s  "
                      f"stimuli wave {result['wave_s']:6.1f} s ({result['wave_per_s']:.3f}/s)", flush=True)  # fmt: skip
    best = {
        c: min((r for r in results if r["config"] == c), key=lambda r: r["process_wall_s"])
        for c in ("loop", "dask1", "dask2")
    }
    ratios = {
        "overhead_process_wall": best["dask1"]["process_wall_s"] / best["loop"]["process_wall_s"]
        - 1,
        "overhead_process_cpu": best["dask1"]["process_cpu_s"] / best["loop"]["process_cpu_s"] - 1,
        "overhead_wave_wall": best["dask1"]["wave_s"] / best["loop"]["wave_s"] - 1,
        "speedup_2v1_process_wall": best["dask1"]["process_wall_s"]
        / best["dask2"]["process_wall_s"],
        "speedup_2v1_wave": best["dask1"]["wave_s"] / best["dask2"]["wave_s"],
    }
    print(f"Dask (1 worker) vs loop: process wall {ratios['overhead_process_wall']:+.1%}, process CPU "
          f"{ratios['overhead_process_cpu']:+.1%}, stimuli wave {ratios['overhead_wave_wall']:+.1%} (goal <= +10%)")  # fmt: skip
    print(f"2 vs 1 Dask workers: speed-up x{ratios['speedup_2v1_process_wall']:.2f} (process wall), "
          f"x{ratios['speedup_2v1_wave']:.2f} (stimuli wave)")  # fmt: skip
    print(json.dumps({"results": results, **ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
