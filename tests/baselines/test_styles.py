"""StyleSpace plumbing: S, style offsets through affine hooks, gradient maps, the authors' region rules."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aufx.gan import Generator, GeneratorConfig
from baselines.styles import (
    block_majority,
    gradient_maps,
    locally_active,
    signal_to_noise,
    signed_signal_to_noise,
    split_flat,
    style_layers,
    style_offsets,
    style_sizes,
    styles,
    top_region_shares,
)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(img_resolution=16, channel_base=64, channel_max=8, z_dim=16, w_dim=8, mapping_layers=2)).eval()
    with torch.no_grad():
        for p in g.parameters():  # non-zero biases and noise strengths: every weight matters
            p.add_(0.1 * torch.randn_like(p))
        ws = g.mapping(torch.randn(2, 16))
    return g.requires_grad_(False), ws


def test_styles_are_the_affine_outputs_and_offsets_move_them(tiny):
    g, ws = tiny
    layers = style_layers(g)
    assert layers == [n for n in g.synthesis.layer_names if not n.endswith("torgb")]
    assert len(style_layers(g, torgb=True)) == len(g.synthesis.layer_names)
    s = styles(g, ws, layers)
    sizes = style_sizes(g, layers)
    assert s.shape == (2, sum(sizes))
    first = split_flat(s, layers, sizes)["b8.conv0"]
    torch.testing.assert_close(first, g.synthesis.b8.conv0.affine(ws[:, g.synthesis.w_index("b8.conv0")]))
    with torch.no_grad():
        plain = g.synthesis(ws)
        with style_offsets(g, {"b8.conv1": torch.zeros(1, sizes[2])}):
            torch.testing.assert_close(g.synthesis(ws), plain)
        offset = torch.zeros(2, sizes[2])
        offset[:, 3] = 0.7
        with style_offsets(g, {"b8.conv1": offset}):
            moved = g.synthesis(ws)
        assert not torch.allclose(moved, plain)
        torch.testing.assert_close(g.synthesis(ws), plain)  # hooks removed on exit
    with pytest.raises(ValueError, match="channels"), style_offsets(g, {"b8.conv1": torch.zeros(1, 99)}):
        pass


def test_gradient_maps_match_autograd(tiny):
    g, ws = tiny
    layers = style_layers(g)
    scale = styles(g, torch.randn(64, 8) @ torch.eye(8), layers).std(dim=0) + 0.1
    maps = gradient_maps(g, ws, layers, scale, size=8, eps=1e-3, batch=8)
    assert maps.shape == (2, len(scale), 8, 8)
    sizes = style_sizes(g, layers)
    for name, channel in (("b4.conv1", 2), ("b16.conv1", 3)):
        flat_index = sum(sizes[: layers.index(name)]) + channel
        offset = torch.zeros(2, sizes[layers.index(name)], requires_grad=True)
        with torch.enable_grad(), style_offsets(g, {name: offset}):
            pooled = F.adaptive_avg_pool2d(g.synthesis(ws), 8)
            jac = torch.stack([torch.autograd.grad(pooled[:, k].sum(dim=0).flatten()[p], offset, retain_graph=True)[0][:, channel]
                               for k in range(3) for p in range(64)])  # fmt: skip
        expected = jac.reshape(3, 64, 2).abs().mean(dim=0).T.reshape(2, 8, 8)
        torch.testing.assert_close(maps[:, flat_index], expected, rtol=0.05, atol=2e-4)


def test_block_majority_and_top_regions_follow_the_authors_rule():
    parts = torch.zeros(1, 4, 4, dtype=torch.long)
    parts[0, :2, :2] = 1  # part 1: top-left 2x2 block
    parts[0, 3, 3] = 2
    assert block_majority(parts, 2, 3).tolist() == [[[1, 0], [0, 0]]]
    with pytest.raises(ValueError, match="blocks"):
        block_majority(parts, 3, 3)
    maps = torch.zeros(2, 3, 4, 4)
    maps[:, 0, :2, :2] = 1.0  # channel 0 acts on part 1
    maps[:, 1, 3, 3] = 1.0  # channel 1 on the single pixel of part 2
    maps[0, 2, 2:, :2] = 1.0  # channel 2: the background (part 0) in face 0,
    maps[1, 2, :2, :2] = 1.0  # part 1 in face 1
    shares = top_region_shares(maps, parts.expand(2, -1, -1), 3)
    assert shares.shape == (3, 3)
    assert shares[0].tolist() == [0.0, 1.0, 0.0] and shares[1].tolist() == [0.0, 0.0, 1.0]
    assert shares[2].tolist() == [0.5, 0.5, 0.0]
    # a part absent from a face does not count that face
    parts2 = parts.expand(2, -1, -1).clone()
    parts2[1, 3, 3] = 0
    assert top_region_shares(maps, parts2, 3)[1, 2] == pytest.approx(1.0)


def test_locally_active_needs_the_share_and_the_margin():
    shares = np.array([[0.6, 0.3, 0.1], [0.6, 0.4, 0.0], [0.3, 0.35, 0.35], [0.9, 0.1, 0.0]])
    score = locally_active(shares, [0])
    assert np.isfinite(score).tolist() == [True, False, False, True] and score[3] == pytest.approx(0.9)
    assert np.isfinite(locally_active(shares, [1, 2])).tolist() == [False, False, True, False]


def test_signal_to_noise_is_the_normalised_positives_mean_over_std():
    mean, std = torch.tensor([0.0, 1.0]), torch.tensor([2.0, 0.5])
    positives = torch.tensor([[2.0, 1.0], [4.0, 0.5], [6.0, 0.0]])
    z = (positives - mean) / std  # channel 0: 1, 2, 3; channel 1: 0, -1, -2
    expected = z.mean(dim=0) / z.std(dim=0, correction=0)
    torch.testing.assert_close(signed_signal_to_noise(positives, mean, std), expected)
    torch.testing.assert_close(signal_to_noise(positives, mean, std), expected.abs())
    assert signed_signal_to_noise(positives, mean, std)[1] < 0
