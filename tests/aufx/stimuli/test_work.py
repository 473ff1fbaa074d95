"""Batches of units (one Dask task) and the worker preload."""

from __future__ import annotations

import sys

from aufx.stimuli.work import run_units


def test_run_units_returns_a_failing_units_error_in_its_place(tmp_path):
    bad = {"stage": "stimulus", "stimulus_id": "s0", "context": {"image_size": 32},
           "source_id": "fmissing", "target_id": ""}  # fmt: skip
    results = run_units([bad, {**bad, "stimulus_id": "s1"}], str(tmp_path))
    assert len(results) == 2 and all(isinstance(r, FileNotFoundError) for r in results)
    assert "fmissing.npz" in str(results[0])
    assert not (tmp_path / ".aufx-stimuli" / "records").exists()  # nothing recorded for failures


def test_preload_imports_what_units_use():
    from aufx.stimuli.preload import dask_setup

    dask_setup(None)
    for name in ("torch", "aufx.edit.engine", "aufx.metrics", "baselines.registry"):
        assert name in sys.modules, name
