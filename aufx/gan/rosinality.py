"""Read rosinality/stylegan2-pytorch checkpoints (``{'g_ema': state_dict, 'latent_avg': w, ...}``).

rosinality's generator computes the same function as NVIDIA's with other names and shapes:

=================================  =====================================  ==========================
rosinality ``g_ema`` key           aufx key                               transform
=================================  =====================================  ==========================
``style.{i}.weight/bias`` (i≥1)    ``mapping.fc{i-1}.weight/bias``        none (same lr scaling)
``input.input`` [1,C,4,4]          ``synthesis.b4.const`` [C,4,4]         drop batch dim
``conv1`` / ``convs.{2k}``, ``{2k+1}``  ``b4.conv1`` / ``b{8·2^k}.conv0``, ``conv1``
  ``.conv.weight`` [1,O,I,k,k]     ``.weight`` [O,I,k,k]                  × 1/sqrt(I·k²) (its scale)
  ``.conv.modulation.*``           ``.affine.*``                          none
  ``.noise.weight`` [1]            ``.noise_strength`` []                 squeeze
  ``.activate.bias`` [O]           ``.bias`` [O]                          none
``noises.noise_{j}`` [1,1,R,R]     layer j's ``.noise_const`` [R,R]       squeeze
``to_rgb1`` / ``to_rgbs.{k}``      ``b4.torgb`` / ``b{8·2^k}.torgb``
  ``.conv.weight`` [1,3,I,1,1]     ``.weight`` [3,I,1,1]                  drop batch dim (aufx
                                                                          scales the styles)
  ``.bias`` [1,3,1,1]              ``.bias`` [3]                          flatten
``latent_avg`` [w]                 ``mapping.w_avg``                      none
=================================  =====================================  ==========================

Blur/upsample kernels must be the standard [1,3,3,1] FIR (checked, then aufx's own is used).
The configuration (resolution, channels, mapping depth, w_dim) is inferred from the shapes.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping
from typing import Any

import torch

from aufx.gan import ops
from aufx.gan.checkpoint import CheckpointError, load_state_dict_strict
from aufx.gan.networks import Generator, GeneratorConfig

#: Classes a rosinality training checkpoint may pickle besides tensors (``args``).
SAFE_GLOBALS: tuple[type, ...] = (argparse.Namespace,)

#: Samples used to estimate w_avg when a checkpoint has no ``latent_avg``.
W_AVG_SAMPLES = 4096


def is_rosinality_payload(payload: Any) -> bool:
    return isinstance(payload, Mapping) and isinstance(payload.get("g_ema"), Mapping)


def _get(sd: Mapping[str, torch.Tensor], key: str, source: str) -> torch.Tensor:
    try:
        value = sd[key]
    except KeyError:
        raise CheckpointError(f"{source}: rosinality g_ema has no key {key!r}") from None
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{source}: rosinality g_ema[{key!r}] is a {type(value).__name__}, not a tensor")
    return value.detach().float()


def infer_channel_layout(channels: Mapping[int, int], source: str) -> tuple[int, int]:
    """Find (channel_base, channel_max) with ``min(base // r, max) == channels[r]`` for every r."""
    channel_max = max(channels.values())
    top = max(channels)
    candidates = [c * r for r, c in channels.items() if c < channel_max] + [channel_max * top]
    for base in sorted(set(candidates), reverse=True):
        if all(min(base // r, channel_max) == c for r, c in channels.items()):
            return base, channel_max
    layout = ", ".join(f"{r}:{c}" for r, c in sorted(channels.items()))
    raise CheckpointError(f"{source}: channel layout {{{layout}}} is not min(base // res, max) for any base")


def config_from_state_dict(sd: Mapping[str, torch.Tensor], source: str) -> GeneratorConfig:
    """Infer a :class:`GeneratorConfig` from the shapes of a rosinality ``g_ema`` state dict."""
    style_ids = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    if not style_ids or style_ids != list(range(1, len(style_ids) + 1)):
        raise CheckpointError(f"{source}: rosinality g_ema has no mapping layers style.1 ... style.N")
    conv_ids = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"convs\.(\d+)\.conv\.weight", k)))
    if len(conv_ids) % 2 or conv_ids != list(range(len(conv_ids))):
        raise CheckpointError(f"{source}: rosinality g_ema has an odd/incomplete list of convs ({len(conv_ids)})")
    num_blocks = len(conv_ids) // 2
    resolution = 4 * 2**num_blocks
    channels = {4: _get(sd, "input.input", source).shape[1]}
    for k in range(num_blocks):
        channels[8 * 2**k] = _get(sd, f"convs.{2 * k}.conv.weight", source).shape[1]
    w_dim = _get(sd, "style.1.weight", source).shape[0]
    z_dim = _get(sd, "style.1.weight", source).shape[1]
    base, cmax = infer_channel_layout(channels, source)
    try:
        return GeneratorConfig(
            img_resolution=resolution, z_dim=z_dim, w_dim=w_dim, channel_base=base, channel_max=cmax,
            mapping_layers=len(style_ids), mapping_lr_multiplier=0.01,
        )  # fmt: skip
    except ValueError as error:
        raise CheckpointError(f"{source}: unsupported rosinality generator: {error}") from None


def _check_kernel(sd: Mapping[str, torch.Tensor], key: str, source: str) -> None:
    if key not in sd:
        return
    expected = ops.setup_filter() * 4
    kernel = sd[key].float()
    if kernel.shape != expected.shape or not torch.allclose(kernel, expected, atol=1e-6):
        raise CheckpointError(f"{source}: {key} is not the [1,3,3,1] FIR kernel aufx supports")


def _styled_conv(sd: Mapping, prefix: str, noise_key: str, source: str) -> dict[str, torch.Tensor]:
    weight = _get(sd, f"{prefix}.conv.weight", source)
    if weight.ndim != 5 or weight.shape[0] != 1:
        raise CheckpointError(f"{source}: {prefix}.conv.weight has shape {list(weight.shape)}, expected [1,O,I,k,k]")
    _, _, in_ch, kh, kw = weight.shape
    scale = 1 / math.sqrt(in_ch * kh * kw)
    return {
        "weight": weight[0] * scale,
        "affine.weight": _get(sd, f"{prefix}.conv.modulation.weight", source),
        "affine.bias": _get(sd, f"{prefix}.conv.modulation.bias", source),
        "noise_strength": _get(sd, f"{prefix}.noise.weight", source).reshape([]),
        "bias": _get(sd, f"{prefix}.activate.bias", source),
        "noise_const": _get(sd, noise_key, source)[0, 0],
    }


def _to_rgb(sd: Mapping, prefix: str, source: str) -> dict[str, torch.Tensor]:
    return {
        "weight": _get(sd, f"{prefix}.conv.weight", source)[0],
        "affine.weight": _get(sd, f"{prefix}.conv.modulation.weight", source),
        "affine.bias": _get(sd, f"{prefix}.conv.modulation.bias", source),
        "bias": _get(sd, f"{prefix}.bias", source).reshape(-1),
    }


def convert_state_dict(
    sd: Mapping[str, torch.Tensor], config: GeneratorConfig, source: str, latent_avg: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Map a rosinality ``g_ema`` state dict onto aufx names (see the module table)."""
    known: set[str] = set()
    out: dict[str, torch.Tensor] = {}

    def put(prefix: str, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            out[f"{prefix}.{name}"] = value

    for i in range(1, config.mapping_layers + 1):
        put(f"mapping.fc{i - 1}", {"weight": _get(sd, f"style.{i}.weight", source), "bias": _get(sd, f"style.{i}.bias", source)})
        known |= {f"style.{i}.weight", f"style.{i}.bias"}
    out["synthesis.b4.const"] = _get(sd, "input.input", source)[0]
    put("synthesis.b4.conv1", _styled_conv(sd, "conv1", "noises.noise_0", source))
    put("synthesis.b4.torgb", _to_rgb(sd, "to_rgb1", source))
    for k, res in enumerate(config.block_resolutions[1:]):
        put(f"synthesis.b{res}.conv0", _styled_conv(sd, f"convs.{2 * k}", f"noises.noise_{2 * k + 1}", source))
        put(f"synthesis.b{res}.conv1", _styled_conv(sd, f"convs.{2 * k + 1}", f"noises.noise_{2 * k + 2}", source))
        put(f"synthesis.b{res}.torgb", _to_rgb(sd, f"to_rgbs.{k}", source))
        _check_kernel(sd, f"convs.{2 * k}.conv.blur.kernel", source)
        _check_kernel(sd, f"to_rgbs.{k}.upsample.kernel", source)
    for key in sd:  # everything consumed above, by pattern
        if re.fullmatch(r"(conv1|convs\.\d+)\.(conv\.(weight|modulation\.(weight|bias)|blur\.kernel)|noise\.weight|activate\.bias)", key):
            known.add(key)
        elif re.fullmatch(r"(to_rgb1|to_rgbs\.\d+)\.(conv\.(weight|modulation\.(weight|bias))|bias|upsample\.kernel)", key):
            known.add(key)
        elif re.fullmatch(r"noises\.noise_\d+|input\.input", key):
            known.add(key)
    unexpected = sorted(set(sd) - known)
    if unexpected:
        shown = ", ".join(unexpected[:6]) + (f" ... ({len(unexpected)} in all)" if len(unexpected) > 6 else "")
        raise CheckpointError(f"{source}: unknown architecture: unexpected rosinality keys {shown}")
    fresh = Generator(config).state_dict()
    for name, value in fresh.items():  # FIR filters (checked above) and, if absent, w_avg
        if name.endswith("resample_filter"):
            out[name] = value
    if latent_avg is not None:
        out["mapping.w_avg"] = latent_avg.detach().float().reshape(-1)
    return out


@torch.no_grad()
def estimate_w_avg(generator: Generator, samples: int = W_AVG_SAMPLES, seed: int = 0) -> torch.Tensor:
    """Mean of mapping(z) over ``samples`` seeded normal z (rosinality's ``mean_latent``)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, generator.z_dim, generator=gen)
    return generator.mapping(z)[:, 0].mean(dim=0)


def generator_from_rosinality(payload: Mapping, source: str) -> tuple[Generator, dict]:
    """Build an aufx generator from a loaded rosinality checkpoint dict; returns (generator, metadata)."""
    sd = payload["g_ema"]
    config = config_from_state_dict(sd, source)
    latent_avg = payload.get("latent_avg")
    if latent_avg is not None and (not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != config.w_dim):
        raise CheckpointError(f"{source}: latent_avg must be a tensor of {config.w_dim} values")
    generator = Generator(config)
    converted = convert_state_dict(sd, config, source, latent_avg)
    if latent_avg is None:
        converted["mapping.w_avg"] = torch.zeros(config.w_dim)
    load_state_dict_strict(generator, converted, source)
    metadata: dict[str, Any] = {"w_avg": "latent_avg" if latent_avg is not None else f"estimated from {W_AVG_SAMPLES} samples"}
    if latent_avg is None:
        generator.mapping.w_avg.copy_(estimate_w_avg(generator))
    args = payload.get("args")
    if isinstance(args, argparse.Namespace):
        metadata["args"] = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}
    return generator.eval().requires_grad_(False), metadata
