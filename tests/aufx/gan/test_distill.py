"""Distillation on a tiny network at 16 px: the held-out L1 falls, resume is exact, the export names its map."""

import pytest
import torch

from aufx.gan.checkpoint import load_aufx
from aufx.gan.distill import SCENE_MAP, DistillConfig, DistillTrainer, pyramid_l1, render_targets

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
