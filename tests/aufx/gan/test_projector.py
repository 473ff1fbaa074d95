"""Projector on a tiny random generator: reconstructions of images it made from known w improve."""

from __future__ import annotations

import pytest
import torch

from aufx.gan.projector import (
    ProjectorConfig,
    generated_targets,
    image_pyramid,
    noise_regularization,
    project,
    psnr,
    reconstruction_loss,
    w_statistics,
)

from .tiny_nets import TINY, random_generator


@pytest.fixture(scope="module")
def setup():
    generator = random_generator(TINY, seed=1)
    targets, w_true = generated_targets(generator, [1000, 1001])  # held-out seeds
    return generator, targets, w_true


def _initial_psnr(generator, targets):
    start = project(generator, targets, ProjectorConfig(steps=1, lr=0.0, w_avg_samples=500), progress=False)
    return psnr(start.images, targets)


@pytest.mark.slow
def test_w_projection_recovers_known_w(setup):
    generator, targets, w_true = setup
    result = project(generator, targets, ProjectorConfig(steps=60, w_avg_samples=500), progress=False)
    assert result.ws.shape == (2, generator.num_ws, 16) and result.w.shape == (2, 16)
    assert torch.equal(result.ws[:, 3], result.w)
    before, after = _initial_psnr(generator, targets), psnr(result.images, targets)
    assert (after > before + 10).all(), (before, after)
    assert result.losses[-1] < result.losses[0] / 10
    w_avg, _ = w_statistics(generator, 500)
    start_err = (w_true - w_avg).norm(dim=1)
    assert ((result.w - w_true).norm(dim=1) < 0.2 * start_err).all()


def test_wplus_projection_improves_and_feature_net_is_used(setup):
    generator, targets, _ = setup
    calls = []
    kernel = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(0))

    def features(x):
        calls.append(x.shape)
        return [torch.nn.functional.conv2d(x, kernel), x.mean(dim=(2, 3))]

    config = ProjectorConfig(steps=40, wplus=True, w_avg_samples=500)
    result = project(generator, targets, config, feature_net=features, progress=False)
    assert result.w is None and result.ws.shape == (2, generator.num_ws, 16)
    assert len(calls) == 41  # once for the targets, once per step
    assert (psnr(result.images, targets) > _initial_psnr(generator, targets) + 5).all()


def test_noise_optimisation_keeps_normalised_maps(setup):
    generator, targets, _ = setup
    result = project(generator, targets, ProjectorConfig(steps=5, noise="optimize", w_avg_samples=200), progress=False)
    assert set(result.noise) == {n for n in generator.synthesis.layer_names if not n.endswith("torgb")}
    for name, noise in result.noise.items():
        res = int(name.split(".")[0][1:])
        assert noise.shape == (2, 1, res, res)
        assert noise.mean(dim=(1, 2, 3)).abs().max() < 1e-5
        assert (noise.square().mean(dim=(1, 2, 3)) - 1).abs().max() < 1e-4
    layer = generator.synthesis.b8.conv0  # the caller's generator keeps its constant noise
    assert layer.noise_const.shape == (8, 8) and not layer.noise_const.requires_grad


def test_losses_and_pyramid():
    x = torch.randn(2, 3, 32, 32)
    assert [level.shape[-1] for level in image_pyramid(x)] == [32, 16, 8]
    assert torch.equal(reconstruction_loss(x, x), torch.zeros(2))
    y = x.clone()
    y[1] += 0.5
    loss = reconstruction_loss(x, y)
    assert loss[0] == 0 and loss[1] > 0
    smooth = torch.ones(1, 1, 16, 16)
    rough = torch.ones(1, 1, 16, 16)
    rough[..., ::2, :] = -1
    assert noise_regularization([rough]) > noise_regularization([smooth * torch.randn(1, 1, 16, 16)])
    with pytest.raises(ValueError, match=r"targets must be \[N, 3, 16, 16\]"):
        project(random_generator(TINY), torch.zeros(1, 3, 8, 8), ProjectorConfig(steps=1), progress=False)
