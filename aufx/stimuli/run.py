"""The driver of ``aufx stimuli``: plan, run the units (plain loop or Dask), assemble the outputs.

Units run in two waves — faces, then stimuli (which read the faces' files). With ``workers=0``
they run in this process in a plain loop; otherwise on Dask: a ``LocalCluster`` of ``workers``
processes (one thread each; a single worker is a thread of this process), or the cluster at
``scheduler``. Units go to Dask in batches of the same method (:func:`batches`); each unit still
writes its own record when it finishes. Units whose record exists are
skipped (see :mod:`aufx.stimuli.work`), so an interrupted run resumes where it stopped. The
manifest, metrics, study config and contact sheet are assembled from the records at the end, in
plan order, so the same spec + seed gives a byte-identical manifest however the work was split.
The units' warnings are not printed by the units (once per face, or per worker process): the
driver says each once at the end of the run, with the number of units that warned it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aufx.stimuli.assemble import assemble
from aufx.stimuli.plan import Plan, build_plan, canonical
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
    #: stimulus id -> AUs, for the ``global-linear`` edits of this run whose W step was shortened
    #: to the cap (reported once per run, see :func:`linear_cap_warning`).
    linear_capped: dict[str, list[str]] = field(default_factory=dict)
    #: (wave, warning category name, message) -> how many units of this run warned it.
    warnings: dict[tuple[str, str, str], int] = field(default_factory=dict)


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
#: event-loop watchdog tick (20 ms), memory and system monitors every 1-2 s (0.1-0.5 s). Worker
#: processes also start without Dask's ``MALLOC_TRIM_THRESHOLD_=65536``: it turns off glibc's
#: adaptive mmap threshold, so every torch buffer over 128 KiB is mmap'ed and page-faulted anew
#: (measured: +1.2 CPU-s of system time per 8.6 CPU-s of tiny stimuli, 10x the page faults).
QUIET_DASK: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": None},
}
#: Most units in one Dask task (a batch); see :func:`batches`.
MAX_BATCH = 8


def batches(
    units: list[dict[str, Any]], slots: int, max_batch: int = MAX_BATCH
) -> list[list[dict[str, Any]]]:
    """Split units into Dask tasks: grouped by method (plan order within a method), at most
    ``max_batch`` units and about four tasks per worker thread (``slots``) so the workers stay
    balanced. A worker then reuses the model it loaded for the previous unit of its batch, and
    the scheduler sees one task per batch instead of one per unit."""
    if not units:
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for unit in units:
        groups.setdefault(canonical(unit.get("method", "")), []).append(unit)
    size = max(1, min(max_batch, math.ceil(len(units) / (4 * max(1, slots)))))
    return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]


@contextmanager
def dask_executor(workers: int = 1, scheduler: str | None = None, processes: bool | None = None):
    """A context giving an executor on Dask: a new LocalCluster or an existing scheduler.

    The local cluster runs ``workers`` worker processes with one thread each (imports preloaded,
    see :mod:`aufx.stimuli.preload`); with ``processes=None`` (default) a single worker runs as
    one thread of this process instead — the same scheduling, without a second interpreter
    re-importing torch and re-loading the models. ``processes=False`` needs ``workers == 1``:
    torch's thread setting is per process, so two unit threads in one process would race.
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    if processes is None:
        processes = workers > 1
    if not processes and workers > 1 and not scheduler:
        raise ValueError(
            f"processes=False runs one worker thread in this process; got workers={workers}"
        )
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        with dask.config.set(QUIET_DASK):  # the nannies pass this config on to their workers
            extra = {"preload": ["aufx.stimuli.preload"]} if processes else {}
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                   dashboard_address=None, silence_logs=40, **extra)  # fmt: skip
        client = Client(cluster)

    def run(
        units: list[dict[str, Any]], out: str, label: str
    ) -> Iterable[tuple[dict[str, Any], Any]]:
        from aufx.stimuli.plan import unit_key
        from aufx.stimuli.work import run_units

        slots = sum(client.nthreads().values()) or workers or 1
        chunks = batches(units, slots)
        futures = client.map(run_units, chunks, out=out, pure=False,
                             key=[f"{label}-{unit_key(c[0])[:24]}-{len(c)}" for c in chunks])  # fmt: skip
        by_key = {f.key: c for f, c in zip(futures, chunks, strict=True)}
        for future in as_completed(futures):
            chunk = by_key[future.key]
            try:
                results = future.result()
            except Exception as error:  # the whole task failed (e.g. its worker died too often)
                results = [error] * len(chunk)
            yield from zip(chunk, results, strict=True)
            future.release()

    try:
        yield run
    finally:
        _close(client, cluster)


def _close(client: Any, cluster: Any) -> None:
    """Close the client and the local cluster. On a busy machine a worker process can take longer
    than the nanny's 5 s to be reaped after its SIGKILL; that timeout is not a failure of the run
    (every unit's files and record are already written), so it is reported as a warning only."""
    import warnings

    try:
        client.close()
        if cluster is not None:
            cluster.close()
    except TimeoutError:
        warnings.warn("Dask workers were slow to stop (busy machine?); the run's files are complete",
                      RuntimeWarning, stacklevel=3)  # fmt: skip


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
                if result.get("linear_capped"):
                    summary.linear_capped[result["stimulus_id"]] = result["linear_capped"]
                for category, message in result.get("warnings", ()):
                    key = (label, category, message)
                    summary.warnings[key] = summary.warnings.get(key, 0) + 1
    summary.seconds[label] = time.perf_counter() - start


def linear_cap_warning(summary: RunSummary) -> str | None:
    """The one line reporting the run's capped ``global-linear`` steps (``None`` when there were none)."""
    if not summary.linear_capped:
        return None
    aus = sorted({au for codes in summary.linear_capped.values() for au in codes})
    return (f"global-linear shortened the W-space step to the cap on {len(summary.linear_capped)} of this "
            f"run's stimuli (AUs {', '.join(aus)}): their targets are not reached; use mode global-opt for them")  # fmt: skip


def _report_warnings(summary: RunSummary) -> None:
    """Warn what the units of the run warned, each message once with its count of units (a
    worker would print it per face, or per worker process), and the capped steps in one line."""
    import builtins
    import warnings

    for (label, name, message), count in summary.warnings.items():
        category = getattr(builtins, name, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        warnings.warn(f"{message} (for {count} of this run's {label})", category, stacklevel=3)
    message = linear_cap_warning(summary)
    if message:
        warnings.warn(message, UserWarning, stacklevel=3)


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
                progress: bool = True, processes: bool | None = None) -> RunSummary:  # fmt: skip
    """Make every stimulus of ``spec`` under ``out`` (see the module doc); returns a :class:`RunSummary`.

    ``processes``: for the local cluster, worker processes (True) or one worker thread in this
    process (False, needs ``workers == 1``); default: a thread for 1 worker, processes for more.
    ``summary.seconds`` holds ``startup`` (cluster start, Dask only), ``faces`` and ``stimuli``.

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
        start = time.perf_counter()
        with dask_executor(workers, scheduler, processes) as executor:
            summary.seconds["startup"] = time.perf_counter() - start
            waves(executor)
    _report_warnings(summary)
    if summary.failed:
        more = f" (and {len(summary.failed) - 1} more)" if len(summary.failed) > 1 else ""
        raise ValueError(f"{len(summary.failed)} unit(s) failed; finished ones are kept, rerun to retry. "
                         f"First: {summary.failed[0]}{more}")  # fmt: skip
    summary.outputs = assemble(spec, plan, out)
    return summary
