"""Stimuli throughput: plain loop vs Dask with 1 and 2 workers, on a tiny 32-px model.

    .venv/bin/python benchmarks/bench_stimuli.py [--items 12] [--steps 30] [--repeats 1]

Configurations, run side by side in one invocation on the same spec:

- ``loop``: ``workers=0``, a plain loop in the driver (no Dask);
- ``dask1``: ``workers=1``, the default: a LocalCluster whose one worker is a thread of the driver;
- ``dask1p``: ``workers=1, processes=True``: one worker process (what ``workers=1`` was before);
- ``dask2``: ``workers=2``: two worker processes.

Each configuration runs in a fresh Python process (so model loading and, for Dask, cluster start
and worker imports are counted) on a fresh output folder. Reported per configuration:

- process wall / CPU: the whole command (interpreter start, imports, plan, cluster start, faces,
  stimuli, assembly, shutdown); CPU = user + system seconds of the process and all its children
  (the Dask workers), measured by the parent;
- start-up: seconds to start the cluster (worker processes importing torch and the engine);
- faces wave, stimuli wave: wall and CPU seconds (driver + worker processes, each counted once)
  of each wave; the stimulus wave (models already loaded by the faces wave) is the steady state.

Overheads vs the loop, at 1 worker: whole command (wall, CPU) and steady state (stimulus wave wall,
CPU); goal <= +10 %.
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


CONFIGS = {"loop": (0, None), "dask1": (1, None), "dask1p": (1, True), "dask2": (2, None)}


def cluster_cpu() -> float:
    """CPU seconds of this process plus the worker processes of the current Dask client, each once."""
    import os

    own = cpu_seconds()
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return own

    def worker_cpu() -> tuple[int, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return os.getpid(), usage.ru_utime + usage.ru_stime

    by_pid = dict(client.run(worker_cpu).values())
    by_pid.pop(os.getpid(), None)  # an in-process worker is already in ``own``
    return own + sum(by_pid.values())


def one(config: str, spec: Path, out: Path) -> dict:
    """Run one configuration in this process; returns its figures."""
    import warnings

    warnings.simplefilter("ignore")
    import aufx.stimuli.run as run
    from aufx.stimuli import load_spec

    waves: dict[str, float] = {}
    wave = run._wave

    def timed_wave(units, out_, label, executor, summary, progress):  # noqa: ANN001, ANN202
        cpu0 = cluster_cpu()
        wave(units, out_, label, executor, summary, progress)
        waves[f"{label}_cpu_s"] = cluster_cpu() - cpu0

    run._wave = timed_wave
    workers, processes = CONFIGS[config]
    t0 = time.perf_counter()
    summary = run.run_stimuli(
        load_spec(spec), out, workers=workers, processes=processes, progress=False
    )
    wall = time.perf_counter() - t0
    time.sleep(
        0.5
    )  # let the closed cluster's worker processes be reaped (their CPU joins RUSAGE_CHILDREN)
    n = len(summary.plan.stimuli)
    return {"config": config, "stimuli": n, "wall_s": wall, "startup_s": summary.seconds.get("startup", 0.0),
            "faces_s": summary.seconds["faces"], "wave_s": summary.seconds["stimuli"],
            "faces_cpu_s": waves["faces_cpu_s"], "wave_cpu_s": waves["stimuli_cpu_s"],
            "wave_per_s": n / summary.seconds["stimuli"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--steps",
        type=int,
        default=30,
        help="aufx optimisation steps per stimulus (work per stimulus)",
    )
    parser.add_argument(
        "--configs",
        default="loop,dask1,dask1p,dask2",
        help="comma-separated: loop,dask1,dask1p,dask2",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="also check that every configuration wrote the same bytes",
    )
    parser.add_argument("--one", choices=tuple(CONFIGS), help=argparse.SUPPRESS)
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
        configs = args.configs.split(",")
        for repeat in range(args.repeats):
            # a fresh folder per run, also when a configuration is listed twice (else the second
            # run would find everything done and skip it)
            outs = [root / f"out-{position}-{config}-{repeat}" for position, config in enumerate(configs)]
            for config, out in zip(configs, outs, strict=True):
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
                print(f"{config:6s} {result['stimuli']} stimuli | process wall {process_wall:6.1f} s "
                      f"({result['process_per_s']:.2f}/s), CPU {process_cpu:6.1f} s | start-up {result['startup_s']:5.1f} s | "
                      f"faces {result['faces_s']:5.1f} s / {result['faces_cpu_s']:5.1f} CPU-s | "
                      f"stimuli wave {result['wave_s']:6.1f} s ({result['wave_per_s']:.2f}/s) / "
                      f"{result['wave_cpu_s']:5.1f} CPU-s", flush=True)  # fmt: skip
            if args.check:
                ref = folder_bytes(outs[0])
                same = all(folder_bytes(out) == ref for out in outs)
                print(f"outputs byte-identical across configurations: {same}", flush=True)
    best = {
        c: min((r for r in results if r["config"] == c), key=lambda r: r["process_wall_s"])
        for c in configs
    }
    ratios = {}
    if "loop" in best:
        for c in (c for c in configs if c != "loop"):
            ratios[f"overhead_{c}"] = {k: best[c][k] / best["loop"][k] - 1
                                       for k in ("process_wall_s", "process_cpu_s", "wave_s", "wave_cpu_s")}  # fmt: skip
            o = ratios[f"overhead_{c}"]
            print(f"{c} vs loop: whole command wall {o['process_wall_s']:+.1%}, CPU {o['process_cpu_s']:+.1%}; "
                  f"steady state (stimulus wave) wall {o['wave_s']:+.1%}, CPU {o['wave_cpu_s']:+.1%} (goal <= +10%)")  # fmt: skip
    if "dask2" in best:
        for one_worker in ("dask1", "dask1p"):
            if one_worker in best:
                a, b = best[one_worker], best["dask2"]
                ratios[f"speedup_2v_{one_worker}"] = {"process_wall": a["process_wall_s"] / b["process_wall_s"],
                                                      "wave": a["wave_s"] / b["wave_s"]}  # fmt: skip
                print(f"2 workers vs {one_worker}: x{a['process_wall_s'] / b['process_wall_s']:.2f} stimuli/s "
                      f"(whole command), x{a['wave_s'] / b['wave_s']:.2f} (stimulus wave)")  # fmt: skip
    print(json.dumps({"results": results, **ratios}))
    return 0


def folder_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".aufx-stimuli" not in p.parts}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
