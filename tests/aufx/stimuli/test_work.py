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


def test_a_seed_face_of_a_distilled_generator_at_psi_1_carries_its_true_scene(tmp_path):
    import dataclasses

    import numpy as np

    from aufx.edit.dataset import seed_latents
    from aufx.gan.checkpoint import save_aufx
    from aufx.stimuli.work import _face_image_and_latent
    from aufx.synthfacs.latent import MIN_Z_DIM, SCENE_MAP, params_from_z
    from tests.aufx.edit.tiny import TINY_G, tiny_generator

    G = tiny_generator(config=dataclasses.replace(TINY_G, z_dim=MIN_Z_DIM))
    files = {name: save_aufx(G, tmp_path / f"{name}.pt", metadata) for name, metadata in
             (("distilled", {"scene_map": SCENE_MAP}), ("plain", {}))}  # fmt: skip

    def face(name: str, psi: float):
        context = {"generator": str(files[name]), "sha256": {"generator": f"{name}-sha"}, "psi": psi}
        return _face_image_and_latent({"context": context, "face": {"kind": "seeds", "seed": 7}, "need_latent": True})

    image, w, aus, source = face("distilled", 1.0)
    expected = params_from_z(seed_latents(MIN_Z_DIM, [7]).numpy()).aus
    assert image.shape[-1] == G.img_resolution and w.shape == (1, G.w_dim)
    np.testing.assert_array_equal(aus.numpy(), expected)
    assert "true scene" in source
    for name, psi in (("distilled", 0.7), ("plain", 1.0)):  # a truncated w, or no scene map: no truth
        assert face(name, psi)[2:] == (None, "")
