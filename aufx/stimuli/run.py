"""The driver of ``aufx stimuli``: plan, run the units (plain loop or Dask), assemble the outputs.

Units run in two waves — faces, then stimuli (which read the faces' files). With ``workers=0``
they run in this process in a plain loop; otherwise on Dask: a ``LocalCluster`` of ``workers``
processes (one thread each), or the cluster at ``scheduler``. Units whose record exists are
skipped (see :mod:`aufx.stimuli.work`), so an interrupted run resumes where it stopped. The
manifest, metrics, study config and contact sheet are assembled from the records at the end, in
plan order, so the same spec + seed gives a byte-identical manifest however the work was split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aufx.stimuli.assemble import assemble
from aufx.stimuli.plan import Plan, build_plan
from aufx.stimuli.spec import Spec
from aufx.stimuli.work import read_record, run_unit


@dataclass
class RunSummary:
    """What a run did: counts of units run and skipped, per-wave seconds, and the files written."""

    plan: Plan
    ran: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)


Executor = Callable[
    [list[dict[str, Any]], str, str], Iterable[tuple[dict[str, Any], dict[str, Any] | Exception]]
]


def loop_executor(
    units: list[dict[str, Any]], out: str, label: str
) -> Iterable[tuple[dict[str, Any], Any]]:
    """Run units one after another in this process; yields (unit, record or exception)."""
    for unit in units:
        try:
            yield unit, run_unit(unit, out)
        except Exception as error:  # reported per unit; the others still run
            yield unit, error


#: Dask settings of the local cluster: units run for seconds, so Dask's per-second bookkeeping is
#: slowed down — no statistical profiler sampling every worker thread every 10 ms, a 200 ms
#: event-loop watchdog tick (20 ms), memory and system monitors every 1-2 s (0.1-0.5 s).
QUIET_DASK: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.gil.enabled": False,
}


@contextmanager
def dask_executor(workers: int = 1, scheduler: str | None = None):
    """A context giving an executor on Dask: a new LocalCluster (processes) or an existing scheduler."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        with dask.config.set(QUIET_DASK):  # the nannies pass this config on to their workers
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=40)  # fmt: skip
        client = Client(cluster)

    def run(
        units: list[dict[str, Any]], out: str, label: str
    ) -> Iterable[tuple[dict[str, Any], Any]]:
        from aufx.stimuli.plan import unit_key

        futures = client.map(
            run_unit, units, out=out, pure=False, key=[f"{label}-{unit_key(u)[:24]}" for u in units]
        )
        by_key = {f.key: u for f, u in zip(futures, units, strict=True)}
        for future in as_completed(futures):
            unit = by_key[future.key]
            try:
                yield unit, future.result()
            except Exception as error:
                yield unit, error
            future.release()

    try:
        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress(total: int, label: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=label, unit="img", disable=not enabled or total == 0, dynamic_ncols=True
    )


def _wave(
    units: list[dict[str, Any]],
    out: Path,
    label: str,
    executor: Executor,
    summary: RunSummary,
    progress: bool,
) -> None:
    pending = [u for u in units if read_record(out, u) is None]
    summary.skipped += len(units) - len(pending)
    start = time.perf_counter()
    with _progress(len(pending), label, progress) as bar:
        for unit, result in executor(pending, str(out), label):
            bar.update(1)
            if isinstance(result, Exception):
                ident = unit.get("stimulus_id") or unit.get("face_id")
                summary.failed.append(
                    f"{label} {ident}: {type(result).__name__}: {str(result).splitlines()[0] if str(result) else ''}"
                )
            elif result.get("skipped"):
                summary.skipped += 1
            else:
                summary.ran += 1
    summary.seconds[label] = time.perf_counter() - start


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files left by killed writers on this host (their pid is gone)."""
    import os
    import re

    removed = []
    for path in out.rglob(".*.tmp"):
        match = re.fullmatch(r"\..+\.(\d+)\.tmp", path.name)
        if not match:
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # a live process may still be writing it
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def run_stimuli(spec: Spec, out: str | Path, workers: int = 1, scheduler: str | None = None,
                progress: bool = True) -> RunSummary:  # fmt: skip
    """Make every stimulus of ``spec`` under ``out`` (see the module doc); returns a :class:`RunSummary`.

    Raises ValueError when units fail (after the others have finished and been recorded).
    """
    if workers < 0:
        raise ValueError(f"--workers must be >= 0 (0 = no Dask, a plain loop), got {workers}")
    out = Path(out).resolve()
    plan = build_plan(spec)
    (out / "images").mkdir(parents=True, exist_ok=True)
    if not scheduler:  # on a shared cluster, another host's writer may still own a temporary
        remove_stale_temporaries(out)
    summary = RunSummary(plan)

    def waves(executor: Executor) -> None:
        _wave(plan.faces, out, "faces", executor, summary, progress)
        if summary.failed:
            return
        _wave(plan.stimuli, out, "stimuli", executor, summary, progress)

    if workers == 0 and not scheduler:
        waves(loop_executor)
    else:
        with dask_executor(workers, scheduler) as executor:
            waves(executor)
    if summary.failed:
        more = f" (and {len(summary.failed) - 1} more)" if len(summary.failed) > 1 else ""
        raise ValueError(f"{len(summary.failed)} unit(s) failed; finished ones are kept, rerun to retry. "
                         f"First: {summary.failed[0]}{more}")  # fmt: skip
    summary.outputs = assemble(spec, plan, out)
    return summary
