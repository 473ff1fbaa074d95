"""Stimuli for perceptual studies: a study spec (TOML) -> blinded images, manifest, metrics, contact sheet.

    from aufx.stimuli import load_spec, run_stimuli
    summary = run_stimuli(load_spec("examples/study.toml"), "stimuli/", workers=2)

Modules: :mod:`~aufx.stimuli.spec` (the spec and its validation), :mod:`~aufx.stimuli.plan`
(units of work, opaque ids, content hashes), :mod:`~aufx.stimuli.work` (what a unit does, on a
Dask worker or in this process), :mod:`~aufx.stimuli.run` (the driver: loop or Dask, resume),
:mod:`~aufx.stimuli.assemble` (manifest.csv, metrics.csv, study.toml, contact sheet) and
:mod:`~aufx.stimuli.compare` (the objective comparison table). This package and ``aufx.cli``
are the only parts of the engine that reach ``baselines`` (through its registry).
"""

from aufx.stimuli.spec import Spec, SpecError, load_spec

__all__ = ["Spec", "SpecError", "load_spec", "run_stimuli"]


def run_stimuli(*args, **kwargs):  # noqa: ANN002, ANN003 - re-exported lazily (imports the driver)
    """See :func:`aufx.stimuli.run.run_stimuli`."""
    from aufx.stimuli.run import run_stimuli as run

    return run(*args, **kwargs)
