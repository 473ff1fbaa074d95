"""Distillation on a tiny network at 16 px: the held-out L1 falls, resume is exact, the export names its map."""

import numpy as np
import pytest
import torch

from aufx.gan.checkpoint import load_aufx
from aufx.gan.distill import (
    EXPRESSION_THRESHOLD,
    DistillConfig,
    DistillTrainer,
    expression_mask,
    pyramid_l1,
    render_targets,
)
from aufx.synthfacs.latent import SCENE_MAP

TINY = dict(resolution=16, channel_base=256, channel_max=32, z_dim=48, w_dim=32, mapping_layers=2, batch=8,
            log_every=1, lr=0.01, eval_every_kimg=1e9, perceptual_weight=0.0)  # fmt: skip


def test_targets_are_renders_of_the_latents_scenes():
    z = torch.randn(3, 48)
    targets = render_targets(z, 16)
    assert targets.shape == (3, 3, 16, 16) and targets.min() >= -1 and targets.max() <= 1
    torch.testing.assert_close(render_targets(2 * z, 16), targets)  # the scene of z is the scene of its direction


def test_pyramid_l1_is_zero_for_equal_images_and_sees_coarse_shifts():
    a = torch.rand(2, 3, 16, 16)
    assert pyramid_l1(a, a).item() == 0
    assert pyramid_l1(a + 0.5, a).item() == pytest.approx(0.5)


def test_training_lowers_the_held_out_l1(tmp_path):
    trainer = DistillTrainer(DistillConfig(**TINY), tmp_path)
    before = trainer.heldout_l1()
    trainer.run(total_kimg=0.8, progress=False)  # 100 steps
    trainer.G_ema.load_state_dict(trainer.G.state_dict())
    assert trainer.heldout_l1() < 0.8 * before


def test_resume_continues_exactly(tmp_path):
    straight = DistillTrainer(DistillConfig(**TINY), tmp_path / "a")
    straight.run(total_kimg=0.032, progress=False)
    first = DistillTrainer(DistillConfig(**TINY), tmp_path / "b")
    first.run(total_kimg=0.016, progress=False)
    resumed = DistillTrainer(DistillConfig(**TINY), tmp_path / "b")
    assert resumed.load_state() and resumed.step == 2
    resumed.run(total_kimg=0.032, progress=False)
    for key, value in straight.G_ema.state_dict().items():
        torch.testing.assert_close(resumed.G_ema.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)


def test_export_names_the_scene_map_and_leaves_out_an_untrained_discriminator(tmp_path):
    trainer = DistillTrainer(DistillConfig(**TINY), tmp_path)
    trainer.run(total_kimg=0.008, progress=False)
    generator, metadata = load_aufx(trainer.export(tmp_path / "g.pt"))
    assert metadata["scene_map"] == SCENE_MAP and "discriminator_fp16" not in metadata
    assert generator.z_dim == 48


def test_adversarial_term_trains_the_discriminator(tmp_path):
    trainer = DistillTrainer(DistillConfig(**{**TINY, "adv_weight": 0.1, "r1_interval": 2}), tmp_path)
    stats = trainer.train_step()
    assert {"adv_G", "loss_D", "r1"} <= set(stats)
    assert "discriminator_fp16" in load_aufx(trainer.export(tmp_path / "g.pt"))[1]


def test_latents_too_short_for_the_scene_are_refused():
    with pytest.raises(ValueError, match="z_dim must be >= 48"):
        DistillConfig(z_dim=16)


def test_expression_mask_marks_the_pixels_the_aus_change_and_nothing_on_neutral_faces():
    from aufx.synthfacs.latent import params_from_z
    from aufx.synthfacs.renderer import render

    z = torch.from_numpy(np.random.default_rng(3).standard_normal((40, 64))).float()
    aus = params_from_z(z.numpy()).aus
    neutral_rows, expressive_rows = np.flatnonzero(aus.max(1) == 0), np.flatnonzero(aus.max(1) > 1)
    assert neutral_rows.size and expressive_rows.size
    images = render_targets(z, 32)
    mask = expression_mask(z, images)
    assert mask.shape == (40, 1, 32, 32) and mask[neutral_rows].sum() == 0
    row = expressive_rows[0]
    scene = params_from_z(z[row : row + 1].numpy())
    neutral = render(np.zeros_like(scene.aus), scene.identity, size=32, with_parts=False).images
    expected = ((images[row : row + 1] - neutral).abs().mean(1, keepdim=True) > EXPRESSION_THRESHOLD).float()
    torch.testing.assert_close(mask[row : row + 1], expected)
    assert 0 < expected.mean() < 0.5


def test_expression_weight_raises_the_loss_of_errors_inside_the_expression(tmp_path):
    trainer = DistillTrainer(DistillConfig(**{**TINY, "expression_weight": 10.0, "part_weight": 0.0}), tmp_path)
    real = torch.zeros(1, 3, 16, 16)
    expression = torch.zeros(1, 1, 16, 16)
    expression[..., :4, :4] = 1
    inside, outside = real.clone(), real.clone()
    inside[..., 0, 0] = 1.0
    outside[..., 15, 15] = 1.0
    loss_in = trainer.reconstruction_losses(inside, real, None, expression)
    loss_out = trainer.reconstruction_losses(outside, real, None, expression)
    assert loss_in["l1_plain"] == loss_out["l1_plain"] and loss_in["l1"] > 5 * loss_out["l1"]
    assert loss_in["l1_expression"].item() == pytest.approx(1 / 16) and loss_out["l1_expression"].item() == 0
