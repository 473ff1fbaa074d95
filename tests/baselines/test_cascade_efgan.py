"""Cascade EF-GAN: region boxes cover SynthFACS parts, the cascade edits, bundles round-trip."""

import pytest
import torch

from aufx.aus import AU_INDEX
from aufx.synthfacs import PART_INDEX, render, sample_params
from baselines.cascade_efgan import (
    REGIONS,
    CascadeEFGAN,
    CascadeEFGANConfig,
    CascadeTarget,
    region_box,
)
from baselines.checkpoints import CheckpointError, save_bundle
from baselines.nets import PatchCritic

TINY = CascadeEFGANConfig(image_size=16, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=2,
                          d_conv_dim=4, d_repeat_num=3)  # fmt: skip
PARTS = {"eyes": ("left_eye", "right_eye", "left_brow", "right_brow"), "nose": ("nose",), "mouth": ("mouth",)}


def test_region_boxes_cover_the_parts():
    params = sample_params(24, seed=11)
    parts = render(params.aus, params.identity, size=48, with_parts=True).parts
    for region, names in PARTS.items():
        top, left, h, w = region_box(region, 48)
        mask = torch.zeros_like(parts, dtype=torch.bool)
        for name in names:
            mask |= parts == PART_INDEX[name]
        inside = mask[:, top : top + h, left : left + w].sum()
        assert inside / mask.sum() >= 0.95, (region, float(inside / mask.sum()))
    assert set(REGIONS) == {"eyes", "nose", "mouth"}


def _target(n):
    aus = torch.zeros(n, 16)
    aus[:, AU_INDEX["AU25"]] = 3.0
    return aus


def test_cascade_runs_its_steps_and_keeps_shape(images16):
    adapter = CascadeEFGAN(TINY)
    adapter.weights_source = "test"
    out = adapter.edit(images16, CascadeTarget(_target(3), source_aus=torch.zeros(16)))
    assert out.shape == images16.shape and out.abs().max() <= 1
    images, conds, attentions, colour_gaps = adapter.net(images16, torch.zeros(3, 17), torch.full((3, 17), 0.6), return_steps=True)
    assert len(images) == TINY.steps and len(attentions) == len(colour_gaps) == TINY.steps * 4
    torch.testing.assert_close(conds[0], torch.full((3, 17), 0.3))  # halfway at step 1 of 2
    with pytest.raises(ValueError, match="needs source AUs"):
        adapter.edit(images16, _target(3))


def test_branches_that_keep_the_source_return_it_exactly_without_box_seams():
    # every branch's attention is 1 (keep the source): the output must be the input, pixel for
    # pixel. Composing the low-resolution crop and resizing it back blurred each box (a box grid).
    from baselines.cascade_efgan import EFGAN

    class KeepAll(torch.nn.Module):
        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return torch.ones_like(features[:, :1])

    config = CascadeEFGANConfig(image_size=32, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=1,
                                d_conv_dim=4, d_repeat_num=4)  # fmt: skip
    efgan = EFGAN(config)
    for branch in [efgan.global_branch, *efgan.local_branches.values()]:
        setattr(branch, branch._names[2], KeepAll())
    params = sample_params(2, seed=5)
    x = render(params.aus, params.identity, size=32, with_parts=False).images
    with torch.no_grad():
        out = efgan(x, torch.zeros(2, config.c_dim)).image
    torch.testing.assert_close(out, x.clamp(-1, 1), rtol=0, atol=1e-6)


def test_bundle_with_critic_round_trips(tmp_path, images16):
    adapter = CascadeEFGAN(TINY)
    critic = PatchCritic(16, 4, 17, 3)
    from dataclasses import asdict

    path = save_bundle(tmp_path / "c.pt", "cascade-efgan", asdict(TINY), adapter.net.state_dict(),
                       extra={"critic": critic.state_dict()})  # fmt: skip
    loaded = CascadeEFGAN().load(path)
    assert loaded.image_size == 16 and loaded.critic is not None
    src = loaded.estimate_aus(images16)
    assert src.shape == (3, 16) and src.min() >= 0 and src.max() <= 5
    expected = adapter.net(images16, torch.zeros(3, 17), torch.zeros(3, 17))
    target = CascadeTarget(torch.zeros(3, 16), torch.zeros(3, 16))
    torch.testing.assert_close(loaded.edit(images16, target), expected.clamp(-1, 1))
    bad = dict(adapter.net.state_dict())
    bad.pop("efgan.fusion.0.weight")
    save_bundle(tmp_path / "bad.pt", "cascade-efgan", asdict(TINY), bad)
    with pytest.raises(CheckpointError, match="missing keys: efgan.fusion.0.weight"):
        CascadeEFGAN().load(tmp_path / "bad.pt")
    save_bundle(tmp_path / "other.pt", "stargan", {}, {"x": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="holds method 'stargan'"):
        CascadeEFGAN().load(tmp_path / "other.pt")


def test_local_results_fade_in_so_the_box_edges_leave_no_step():
    # global branch keeps the source, every local branch paints white, the fusion takes the local
    # canvas fully: the old composition jumped from the source to white at each box edge
    from baselines.cascade_efgan import EFGAN, box_window, region_box

    class Const(torch.nn.Module):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return torch.full_like(features[:, :1], self.value)

    config = CascadeEFGANConfig(image_size=64, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=1,
                                d_conv_dim=4, d_repeat_num=5)  # fmt: skip
    efgan = EFGAN(config)
    setattr(efgan.global_branch, efgan.global_branch._names[2], Const(1.0))  # keep the source
    for branch in efgan.local_branches.values():
        setattr(branch, branch._names[1], Const(1.0))  # colour: white
        setattr(branch, branch._names[2], Const(0.0))  # attention: take the colour
    efgan.fusion = Const(30.0)  # sigmoid -> 1
    x = torch.full((1, 3, 64, 64), -1.0)  # black face: white - black = 2 at a hard edge
    with torch.no_grad():
        out = efgan(x, torch.zeros(1, config.c_dim)).image
    top, left, h, w = region_box("eyes", 64)  # its top edge borders no other box
    assert out[0, 0, top + h // 2, left + w // 2] == pytest.approx(1.0)  # the box's middle is the local result
    step_in = (out[0, :, top, left + w // 2] - out[0, :, top - 1, left + w // 2]).abs().max()
    assert step_in <= 2.0 / max(1, round(0.2 * h)) + 1e-6  # a ramp, not the jump of 2
    window = box_window(h, w)
    assert window.shape == (1, 1, h, w) and window.max() == 1.0 and window[0, 0, 0, 0] < 0.1


def test_each_branch_reports_how_far_its_colour_head_strays_from_its_input():
    # the colour term's input: a global head that paints white on a black face strays by 2 everywhere;
    # local heads that return their input stray by 0
    from baselines.cascade_efgan import EFGAN

    class White(torch.nn.Module):
        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return torch.ones(features.shape[0], 3, *features.shape[2:])

    config = CascadeEFGANConfig(image_size=32, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=1,
                                d_conv_dim=4, d_repeat_num=4)  # fmt: skip
    efgan = EFGAN(config)
    setattr(efgan.global_branch, efgan.global_branch._names[1], White())
    x = torch.full((1, 3, 32, 32), -1.0)
    for branch in efgan.local_branches.values():
        branch.forward = lambda crop, c: (crop, torch.ones_like(crop[:, :1]))  # colour = the crop itself
    with torch.no_grad():
        gaps = efgan(x, torch.zeros(1, config.c_dim)).colour_gaps
    assert len(gaps) == 4 and float(gaps[0]) == pytest.approx(2.0) and all(float(g) == 0.0 for g in gaps[1:])
