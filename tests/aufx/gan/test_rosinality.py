"""rosinality .pt loading, checked against a reference forward written here from rosinality's math.

The reference below follows rosinality/stylegan2-pytorch ``model.py`` (EqualLinear lr scaling,
ModulatedConv2d with its 1/sqrt(fan_in) scale, transposed conv + Blur, NoiseInjection,
FusedLeakyReLU, ToRGB + Upsample) one sample at a time with plain ``torch.nn.functional``
calls, independently of aufx's grouped implementation. By hand, aufx vs rosinality's own
``model.py`` on random weights (64 px, channel_multiplier=1) differed by at most 8.3e-6.
"""

from __future__ import annotations

import argparse
import math

import pytest
import torch
import torch.nn.functional as F

from aufx.gan.checkpoint import CheckpointError
from aufx.gan.loaders import FORMAT_ROSINALITY, load_generator

SQRT2 = math.sqrt(2)
KERNEL = torch.tensor([1.0, 3, 3, 1])
KERNEL = torch.outer(KERNEL, KERNEL) / 64  # normalised 4x4 FIR


def make_state_dict(size: int = 16, dim: int = 16, n_mlp: int = 2, channels: dict | None = None, seed: int = 0) -> dict:
    """A rosinality ``g_ema`` state dict with its exact key names and shapes, random values."""
    g = torch.Generator().manual_seed(seed)
    channels = channels or {4: 16, 8: 16, 16: 8, 32: 4}

    def rnd(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    sd: dict[str, torch.Tensor] = {}
    for i in range(1, n_mlp + 1):
        sd[f"style.{i}.weight"] = rnd(dim, dim) / 0.01
        sd[f"style.{i}.bias"] = rnd(dim, std=0.1)

    def styled(prefix, cin, cout, up):
        sd[f"{prefix}.conv.weight"] = rnd(1, cout, cin, 3, 3)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + rnd(cin, std=0.1)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = KERNEL * 4
        sd[f"{prefix}.noise.weight"] = rnd(1, std=0.3)
        sd[f"{prefix}.activate.bias"] = rnd(cout, std=0.1)

    def rgb(prefix, cin, up):
        if up:
            sd[f"{prefix}.upsample.kernel"] = KERNEL * 4
        sd[f"{prefix}.conv.weight"] = rnd(1, 3, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + rnd(cin, std=0.1)
        sd[f"{prefix}.bias"] = rnd(1, 3, 1, 1, std=0.1)

    sd["input.input"] = rnd(1, channels[4], 4, 4)
    styled("conv1", channels[4], channels[4], False)
    rgb("to_rgb1", channels[4], False)
    log_size = int(math.log2(size))
    for k, i in enumerate(range(3, log_size + 1)):
        cin, cout = channels[2 ** (i - 1)], channels[2**i]
        styled(f"convs.{2 * k}", cin, cout, True)
        styled(f"convs.{2 * k + 1}", cout, cout, False)
        rgb(f"to_rgbs.{k}", cout, True)
    for j in range((log_size - 2) * 2 + 1):
        res = 2 ** ((j + 5) // 2)
        sd[f"noises.noise_{j}"] = rnd(1, 1, res, res)
    return sd


def _upfirdn(x: torch.Tensor, kernel: torch.Tensor, up: int, pad: tuple[int, int]) -> torch.Tensor:
    n, c, h, w = x.shape
    if up > 1:
        y = torch.zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = kernel.flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)


def _modconv(sd, prefix, x, w, up=False, demodulate=True):
    weight = sd[f"{prefix}.conv.weight"]  # [1, O, I, k, k]
    _, cout, cin, ks, _ = weight.shape
    mod_w, mod_b = sd[f"{prefix}.conv.modulation.weight"], sd[f"{prefix}.conv.modulation.bias"]
    style = F.linear(w, mod_w / math.sqrt(mod_w.shape[1]), mod_b)  # EqualLinear, lr_mul 1
    outs = []
    for n in range(x.shape[0]):
        wt = weight[0] / math.sqrt(cin * ks * ks) * style[n].view(1, cin, 1, 1)
        if demodulate:
            wt = wt * torch.rsqrt(wt.pow(2).sum([1, 2, 3]) + 1e-8).view(cout, 1, 1, 1)
        if up:
            y = F.conv_transpose2d(x[n : n + 1], wt.transpose(0, 1), stride=2)
            y = _upfirdn(y, KERNEL * 4, 1, (1, 1))
        else:
            y = F.conv2d(x[n : n + 1], wt, padding=ks // 2)
        outs.append(y)
    return torch.cat(outs)


def _styled(sd, prefix, x, w, noise, up=False):
    y = _modconv(sd, prefix, x, w, up=up)
    y = y + sd[f"{prefix}.noise.weight"] * noise
    return F.leaky_relu(y + sd[f"{prefix}.activate.bias"].view(1, -1, 1, 1), 0.2) * SQRT2


def rosinality_reference(sd: dict, latent_avg: torch.Tensor, z: torch.Tensor, psi: float) -> torch.Tensor:
    """rosinality ``Generator([z], truncation=psi, truncation_latent=latent_avg, randomize_noise=False)``."""
    x = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in sd:
        weight, bias = sd[f"style.{i}.weight"], sd[f"style.{i}.bias"]
        x = F.linear(x, weight * (0.01 / math.sqrt(weight.shape[1])))
        x = F.leaky_relu(x + bias * 0.01, 0.2) * SQRT2
        i += 1
    w = latent_avg + psi * (x - latent_avg)
    noise = lambda j: sd[f"noises.noise_{j}"]  # noqa: E731
    out = sd["input.input"].repeat(z.shape[0], 1, 1, 1)
    out = _styled(sd, "conv1", out, w, noise(0))
    skip = _modconv(sd, "to_rgb1", out, w, demodulate=False) + sd["to_rgb1.bias"]
    k = 0
    while f"convs.{2 * k}.conv.weight" in sd:
        out = _styled(sd, f"convs.{2 * k}", out, w, noise(2 * k + 1), up=True)
        out = _styled(sd, f"convs.{2 * k + 1}", out, w, noise(2 * k + 2))
        rgb = _modconv(sd, f"to_rgbs.{k}", out, w, demodulate=False) + sd[f"to_rgbs.{k}.bias"]
        skip = rgb + _upfirdn(skip, KERNEL * 4, 2, (2, 1))
        k += 1
    return skip


def test_matches_reference_forward(tmp_path):
    sd = make_state_dict(size=32)
    latent_avg = torch.randn(16, generator=torch.Generator().manual_seed(3))
    torch.save({"g_ema": sd, "latent_avg": latent_avg}, tmp_path / "ros.pt")
    loaded = load_generator(tmp_path / "ros.pt")
    assert loaded.format == FORMAT_ROSINALITY
    c = loaded.config
    assert (c.img_resolution, c.z_dim, c.w_dim, c.mapping_layers) == (32, 16, 16, 2)
    assert [c.channels(r) for r in (4, 8, 16, 32)] == [16, 16, 8, 4]
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = rosinality_reference(sd, latent_avg, z, 0.7)
        got = loaded.generator(z, truncation_psi=0.7, noise_mode="const")
    assert got.shape == (2, 3, 32, 32)
    assert (got - expected).abs().max().item() < 1e-4 * max(1.0, expected.abs().max().item())


def test_training_checkpoint_with_args_and_estimated_w_avg(tmp_path):
    sd = make_state_dict(size=16, channels={4: 8, 8: 8, 16: 8})
    args = argparse.Namespace(size=16, n_mlp=2, channel_multiplier=2, path="/data/lmdb")
    torch.save({"g": sd, "d": {}, "g_ema": sd, "args": args, "ada_aug_p": 0.1}, tmp_path / "100000.pt")
    loaded = load_generator(tmp_path / "100000.pt")
    assert loaded.metadata["args"]["path"] == "/data/lmdb"
    assert loaded.metadata["w_avg"].startswith("estimated")
    assert loaded.generator.mapping.w_avg.abs().sum() > 0


def test_unknown_keys_and_bad_kernels_are_refused(tmp_path):
    sd = make_state_dict(size=16, channels={4: 8, 8: 8, 16: 8})
    torch.save({"g_ema": {**sd, "to_rgbs.0.iwt.ll": torch.zeros(1)}}, tmp_path / "swagan.pt")
    with pytest.raises(CheckpointError, match=r"swagan.pt: unknown architecture.*to_rgbs\.0\.iwt\.ll"):
        load_generator(tmp_path / "swagan.pt")
    torch.save({"g_ema": {**sd, "convs.0.conv.blur.kernel": torch.ones(3, 3)}}, tmp_path / "blur.pt")
    with pytest.raises(CheckpointError, match=r"blur.pt: convs\.0\.conv\.blur\.kernel"):
        load_generator(tmp_path / "blur.pt")
    del sd["noises.noise_2"]
    torch.save({"g_ema": sd}, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing.pt: rosinality g_ema has no key 'noises.noise_2'"):
        load_generator(tmp_path / "missing.pt")
