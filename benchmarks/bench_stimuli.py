"""Stimuli throughput: plain loop vs Dask with 1 and 2 workers, on a tiny 32-px model.

    .venv/bin/python benchmarks/bench_stimuli.py [--items 6] [--repeats 1]

Each configuration runs in a fresh Python process (so model loading and, for Dask, cluster start
and worker imports are counted) on a fresh output folder. Reported per configuration:

- wall: seconds of the whole ``run_stimuli`` call (plan, cluster start, faces, stimuli, assembly);
- stimuli wave: seconds of the stimulus wave alone (what scales with the study's size);
- CPU: user + system seconds of the process and all its children (the Dask workers), so that
  the figures mean something on a machine shared with other work;
- stimuli/s over the whole call and over the stimulus wave.

Overhead of the Dask path = wall(Dask, 1 worker) / wall(loop) − 1 (goal <= 10 %).
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
        spec = write_spec(root, n=args.items, methods=METHODS, name="bench")
        results = []
        for repeat in range(args.repeats):
            for config in ("loop", "dask1", "dask2"):
                out = root / f"out-{config}-{repeat}"
                proc = subprocess.run([sys.executable, __file__, "--one", config, "--spec", str(spec), "--out", str(out)],
                                      capture_output=True, text=True, cwd=REPO)  # fmt: skip
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append(result)
                print(f"{config:6s} {result['stimuli']} stimuli  wall {result['wall_s']:7.1f} s ({result['per_s']:.3f}/s)  "
                      f"stimuli wave {result['wave_s']:7.1f} s ({result['wave_per_s']:.3f}/s)  CPU {result['cpu_s']:7.1f} s",
                      flush=True)  # fmt: skip
    best = {
        c: min((r for r in results if r["config"] == c), key=lambda r: r["wall_s"])
        for c in ("loop", "dask1", "dask2")
    }
    overhead = best["dask1"]["wall_s"] / best["loop"]["wall_s"] - 1
    wave_overhead = best["dask1"]["wave_s"] / best["loop"]["wave_s"] - 1
    cpu_overhead = best["dask1"]["cpu_s"] / best["loop"]["cpu_s"] - 1
    speedup = best["dask1"]["wave_s"] / best["dask2"]["wave_s"]
    print(
        f"Dask (1 worker) vs loop: wall {overhead:+.1%}, stimuli wave {wave_overhead:+.1%}, CPU {cpu_overhead:+.1%} (goal <= +10%)"
    )
    print(f"2 vs 1 Dask workers: stimuli-wave speed-up x{speedup:.2f}")
    print(json.dumps({"results": results, "overhead_wall": overhead, "overhead_wave": wave_overhead,
                      "overhead_cpu": cpu_overhead, "speedup_2v1": speedup}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
