"""Dask worker preload of ``aufx stimuli``: imports what units need while the worker starts.

The local cluster passes ``preload=["aufx.stimuli.preload"]`` to its workers, so a worker's
imports (torch, the engine, metrics, baselines; ~2 CPU-s) happen before it reports ready — the
cluster's start-up, not the first unit. On an existing cluster, start workers with
``dask worker ADDRESS --preload aufx.stimuli.preload`` for the same effect (optional).
"""

from __future__ import annotations

from typing import Any


def dask_setup(worker: Any = None) -> None:  # noqa: ARG001 - Dask's preload hook signature
    """Called by Dask in each worker at start-up."""
    from aufx.stimuli.work import warm_up

    warm_up()
