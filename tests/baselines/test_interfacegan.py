"""InterFaceGAN: boundaries on planted latents, calibrated and conditional edits, files, the adapter."""

import numpy as np
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX, emotion_targets
from aufx.gan import Generator, GeneratorConfig
from baselines.checkpoints import CheckpointError
from baselines.interfacegan import (
    Boundaries,
    InterFaceGAN,
    InterFaceGANConfig,
    binarise,
    fit_boundaries,
    principal_basis,
)
from baselines.latent_edit import AUEdit

W_DIM = 24


@pytest.fixture(scope="module")
def planted():
    """Latents whose AU j is ``max(0, 1.5·uⱼᵀw)`` (half the faces show none of it) for known unit uⱼ;
    the last 4 of the 24 dims barely vary (a flat direction, like W off the mapping's image)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3000, W_DIM))
    w[:, -4:] *= 1e-4
    u = rng.standard_normal((16, W_DIM - 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    aus = np.clip(1.5 * w[:, : W_DIM - 4] @ u.T, 0, 5)
    config = InterFaceGANConfig(share=0.1, C=0.1, pca_variance=0.99)
    return w, aus, u, fit_boundaries(w, aus, config)


def test_boundaries_find_the_planted_directions(planted):
    w, aus, u, b = planted
    cosine = np.sum(b.normals[:, :-4] * u, axis=1)
    assert cosine.min() > 0.95 and np.abs(b.normals[:, -4:]).max() < 1e-4  # nothing along the flat dims
    np.testing.assert_allclose(np.linalg.norm(b.normals, axis=1), 1.0, rtol=1e-6)
    assert b.val_accuracy.min() > 0.95 and b.r.min() > 0.8 and (b.slopes > 0).all()
    assert principal_basis(w, 0.99).shape == (W_DIM, W_DIM - 4) and principal_basis(w, None).shape == (W_DIM, W_DIM)


def test_one_target_moves_its_predicted_au_by_the_request(planted):
    *_, b = planted
    w = torch.zeros(1, W_DIM, dtype=torch.float64)
    step = b.edit_vector({"AU12": 2.0}).double()
    j = AU_INDEX["AU12"]
    torch.testing.assert_close(step, torch.from_numpy(b.normals[j] * 2.0 / b.slopes[j]), rtol=1e-5, atol=1e-6)
    moved = b.distances(w + step) - b.distances(w)
    assert float(moved[0, j] * b.slopes[j]) == pytest.approx(2.0, rel=1e-5)


def test_conditional_edits_hold_the_conditions(planted):
    *_, b = planted
    i, j, k = AU_INDEX["AU12"], AU_INDEX["AU06"], AU_INDEX["AU25"]
    n1, n2 = b.normals[i], b.normals[j]
    paper = n1 - (n1 @ n2) * n2  # the paper's one-condition direction
    step = b.edit_vector({"AU12": 1.5}, hold=["AU06"]).double().numpy()
    assert step @ paper / (np.linalg.norm(step) * np.linalg.norm(paper)) == pytest.approx(1.0, abs=1e-6)
    for hold in (["AU06"], ["AU06", "AU25"], [c for c in AU_CODES if c != "AU12"]):
        moved = b.distances(torch.from_numpy(b.edit_vector({"AU12": 1.5}, hold=hold).double().numpy())[None]) - b.distances(torch.zeros(1, W_DIM))
        assert float(moved[0, i] * b.slopes[i]) == pytest.approx(1.5, rel=1e-5)
        assert moved[0, [AU_INDEX[h] for h in hold]].abs().max() < 1e-6
    two = b.edit_vector({"AU12": 1.0, "AU25": -0.5})  # several targets: each reaches its request
    moved = b.distances(two.double()[None]) - b.distances(torch.zeros(1, W_DIM))
    assert float(moved[0, i] * b.slopes[i]) == pytest.approx(1.0, rel=1e-5)
    assert float(moved[0, k] * b.slopes[k]) == pytest.approx(-0.5, rel=1e-5)


def test_binarise_refuses_a_share_that_reaches_neutral_faces():
    rng = np.random.default_rng(0)
    scores = np.r_[np.zeros(95), np.linspace(1, 5, 5)]  # 5 % of faces show the attribute
    pos, neg = binarise(scores, 0.05, rng)
    assert scores[pos].min() == 1 and scores[neg].max() == 0
    with pytest.raises(ValueError, match="lower the share"):
        binarise(scores, 0.1, rng)


def test_files_round_trip_and_errors(planted, tmp_path):
    *_, b = planted
    path = b.save(tmp_path / "b.npz", InterFaceGANConfig(C=0.5), "tiny")
    loaded, config = Boundaries.load(path)
    np.testing.assert_allclose(loaded.normals, b.normals, rtol=1e-6)
    np.testing.assert_allclose(loaded.slopes, b.slopes)
    assert config["C"] == 0.5
    np.savez(tmp_path / "bad.npz", normals=np.zeros((16, 4)))
    with pytest.raises(CheckpointError, match="not an InterFaceGAN boundaries file"):
        Boundaries.load(tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match="no such"):
        InterFaceGAN().load(tmp_path / "missing.npz")


@pytest.fixture(scope="module")
def tiny_adapter():
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(img_resolution=16, channel_base=128, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2)).eval()
    with torch.no_grad():
        w = g.mapping(torch.randn(2000, 16))[:, 0]
    rng = np.random.default_rng(1)
    u = rng.standard_normal((16, 16))
    aus = np.clip((w.numpy() - w.numpy().mean(0)) @ u.T, 0, 5)
    return InterFaceGAN(g, InterFaceGANConfig(share=0.1, invert_steps=2)).train(w, aus), w[:3]


def test_adapter_edits_latents_along_the_calibrated_step(tiny_adapter):
    adapter, w = tiny_adapter
    images = adapter.generator.synthesis(w)
    out = adapter.edit(images, AUEdit({"AU12": 2.0}, source_ws=w))
    expected = adapter.generator.synthesis(w + adapter.boundaries.edit_vector({"AU12": 2.0}))
    assert out.shape == (3, 3, 16, 16)
    torch.testing.assert_close(out, expected.clamp(-1, 1))
    # W+ latents get the same step on every layer
    wplus = adapter.generator.synthesis.broadcast_ws(w)
    torch.testing.assert_close(adapter.edit(images, AUEdit({"AU12": 2.0}, source_ws=wplus)), out)


def test_absolute_targets_start_from_the_methods_estimate(tiny_adapter):
    adapter, w = tiny_adapter
    images = adapter.generator.synthesis(w)
    before = adapter.boundaries.predict(w)
    out = adapter.edit(images, AUEdit(emotion_targets("happiness"), relative=False, source_ws=w))
    moved = torch.cat([adapter.edit_w(w[i : i + 1], {c: 3.0 - float(before[i, AU_INDEX[c]]) for c in ("AU06", "AU12")})
                       for i in range(3)])  # fmt: skip
    torch.testing.assert_close(out, adapter.generator.synthesis(moved).clamp(-1, 1))


def test_adapter_inverts_images_given_without_latents(tiny_adapter):
    adapter, w = tiny_adapter
    images = adapter.generator.synthesis(w[:1])
    big = torch.nn.functional.interpolate(images, size=32)
    out = adapter.edit(big, "surprise")
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()
    # an emotion name means its EMFACS prototype AUs at intensity 3 (same inversion, same result)
    torch.testing.assert_close(out, adapter.edit(big, AUEdit(emotion_targets("surprise"), relative=False)))
