"""Projector: find the W (or W+) latent whose image reconstructs a given aligned face.

Optimises latents with Adam from w_avg, as NVIDIA's ``projector.py`` does (learning-rate ramp
up/down, decaying Gaussian noise on the latent early on), with the loss

    Σ_levels [ MSE(pyr_l(x), pyr_l(t)) + λ_grad · L1(∇pyr_l(x), ∇pyr_l(t)) ]     (image pyramid)
    + λ_feat · Σ_k MSE(f_k(x), f_k(t))                                          (feature network)
    + λ_noise · NVIDIA's noise auto-correlation penalty                         (noise="optimize")

where the pyramid halves the image by 2×2 averaging down to 8 px and ``f`` is any feature network
(``images [N,3,H,W] in [-1,1] -> tensor or list of tensors``), e.g. the SynthFACS analyzer's
features; it is optional. Images in a batch are optimised independently (per-image losses are
summed; Adam is element-wise), so batching only saves time.

noise="const" keeps the generator's constant noise (latents then work with every aufx tool,
which all render with const noise); noise="optimize" also fits per-image noise maps, regularised
and re-normalised every step as in NVIDIA's projector.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from aufx.gan.layers import SynthesisLayer
from aufx.gan.networks import Generator
from aufx.gan.seeds import seed_latents

FeatureNet = Callable[[torch.Tensor], torch.Tensor | Sequence[torch.Tensor]]
NOISE_CHOICES = ("const", "optimize")


@dataclass(frozen=True)
class ProjectorConfig:
    """Hyper-parameters of :func:`project` (NVIDIA's schedule; losses described in the module doc)."""

    steps: int = 300
    wplus: bool = False
    lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    w_noise_factor: float = 0.05
    w_noise_ramp: float = 0.75
    noise: str = "const"
    noise_reg_weight: float = 1e5
    pyramid_min_size: int = 8
    gradient_weight: float = 1.0
    feature_weight: float = 1.0
    w_avg_samples: int = 4096
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.noise not in NOISE_CHOICES:
            raise ValueError(f"noise must be one of {NOISE_CHOICES}, got {self.noise!r}")


@dataclass
class Projection:
    """Result of :func:`project`.

    ws: [N, num_ws, w_dim] (W+ form; in W mode every row is the same w); w: [N, w_dim] in W mode
    else ``None``; images: the reconstructions [N, 3, R, R]; losses: total loss per step;
    noise: per-layer noise maps [N, 1, R, R] when noise="optimize".
    """

    ws: torch.Tensor
    w: torch.Tensor | None
    images: torch.Tensor
    losses: list[float] = field(default_factory=list)
    noise: dict[str, torch.Tensor] | None = None


@torch.no_grad()
def w_statistics(generator: Generator, samples: int = 4096, seed: int = 0) -> tuple[torch.Tensor, float]:
    """(w mean [w_dim], scalar std of w around it) over ``samples`` seeded z."""
    z = torch.from_numpy(np.random.RandomState(seed).randn(samples, generator.z_dim)).float()
    c = None
    if generator.c_dim > 0:
        c = F.one_hot(torch.arange(samples) % generator.c_dim, generator.c_dim).float()
    w = generator.mapping(z, c)[:, 0]
    mean = w.mean(dim=0)
    std = float(((w - mean).square().sum() / samples).sqrt())
    return mean, std


def image_pyramid(x: torch.Tensor, min_size: int = 8) -> list[torch.Tensor]:
    """[N, C, H, W] -> [x, x/2, x/4, ...] by 2×2 averaging, down to ``min_size`` pixels."""
    levels = [x]
    while levels[-1].shape[-1] > min_size and levels[-1].shape[-1] % 2 == 0:
        levels.append(F.avg_pool2d(levels[-1], 2))
    return levels


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def reconstruction_loss(synth: torch.Tensor, target: torch.Tensor, gradient_weight: float = 1.0,
                        min_size: int = 8) -> torch.Tensor:  # fmt: skip
    """Per-image multi-scale pixel + gradient loss: [N, 3, H, W] × 2 -> [N]."""
    total = synth.new_zeros(synth.shape[0])
    for xs, ts in zip(image_pyramid(synth, min_size), image_pyramid(target, min_size), strict=True):
        total = total + (xs - ts).square().mean(dim=(1, 2, 3))
        if gradient_weight:
            (gx, gy), (hx, hy) = _gradients(xs), _gradients(ts)
            grad = (gx - hx).abs().mean(dim=(1, 2, 3)) + (gy - hy).abs().mean(dim=(1, 2, 3))
            total = total + gradient_weight * grad
    return total


def _as_list(features: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [features] if isinstance(features, torch.Tensor) else list(features)


def feature_loss(feature_net: FeatureNet, synth: torch.Tensor, target_features: list[torch.Tensor]) -> torch.Tensor:
    """Per-image MSE between the feature network's outputs: -> [N]."""
    total = synth.new_zeros(synth.shape[0])
    for fs, ft in zip(_as_list(feature_net(synth)), target_features, strict=True):
        total = total + (fs - ft).square().reshape(fs.shape[0], -1).mean(dim=1)
    return total


def noise_regularization(noise_maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """NVIDIA's penalty on the spatial auto-correlation of noise maps [N, 1, R, R], at every scale ≥ 8."""
    reg = noise_maps[0].new_zeros(noise_maps[0].shape[0])
    for noise in noise_maps:
        while True:
            for dim in (3, 2):
                reg = reg + (noise * torch.roll(noise, shifts=1, dims=dim)).mean(dim=(1, 2, 3)).square()
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, kernel_size=2)
    return reg


def _learning_rate(config: ProjectorConfig, step: int) -> float:
    t = step / config.steps
    ramp = min(1.0, (1.0 - t) / config.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / config.lr_rampup) if config.lr_rampup > 0 else ramp
    return config.lr * ramp


def _prepare_noise(generator: Generator, n: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Give every noisy layer of ``generator`` (a private copy) a per-image noise map to optimise."""
    maps = {}
    for name in generator.synthesis.layer_names:
        layer = generator.synthesis.layer(name)
        if isinstance(layer, SynthesisLayer) and layer.use_noise:
            noise = torch.randn([n, 1, layer.resolution, layer.resolution], generator=gen)
            layer.noise_const = noise.requires_grad_(True)  # broadcasts over channels per image
            maps[name] = layer.noise_const
    return maps


def project(
    generator: Generator,
    targets: torch.Tensor,
    config: ProjectorConfig | None = None,
    feature_net: FeatureNet | None = None,
    progress: bool = True,
) -> Projection:
    """Invert ``targets`` [N, 3, R, R] in [-1, 1] (R = generator resolution); see the module doc."""
    config = config or ProjectorConfig()
    res = generator.img_resolution
    if targets.ndim != 4 or tuple(targets.shape[1:]) != (generator.img_channels, res, res):
        raise ValueError(f"targets must be [N, {generator.img_channels}, {res}, {res}], got {list(targets.shape)}")
    if generator.c_dim > 0:
        raise ValueError("projecting into a conditional generator is not supported")
    n = targets.shape[0]
    gen = torch.Generator().manual_seed(config.seed)
    generator = copy.deepcopy(generator).eval().requires_grad_(False)
    w_avg, w_std = w_statistics(generator, config.w_avg_samples, config.seed)
    num_ws = generator.num_ws
    shape = [n, num_ws, generator.w_dim] if config.wplus else [n, generator.w_dim]
    w_opt = w_avg.expand(shape).clone().requires_grad_(True)
    noise_maps = _prepare_noise(generator, n, gen) if config.noise == "optimize" else {}
    optimizer = torch.optim.Adam([w_opt, *noise_maps.values()], betas=(0.9, 0.999), lr=config.lr)
    targets = targets.detach().float()
    target_features = [f.detach() for f in _as_list(feature_net(targets))] if feature_net else []
    losses: list[float] = []
    bar = tqdm(range(config.steps), desc="invert", unit="step", disable=not progress)
    for step in bar:
        t = step / config.steps
        w_noise_scale = w_std * config.w_noise_factor * max(0.0, 1.0 - t / config.w_noise_ramp) ** 2
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, step)
        w_noise = torch.randn(w_opt.shape, generator=gen) * w_noise_scale
        synth = generator.synthesis(w_opt + w_noise, noise_mode="const")
        per_image = reconstruction_loss(synth, targets, config.gradient_weight, config.pyramid_min_size)
        if feature_net is not None and config.feature_weight:
            per_image = per_image + config.feature_weight * feature_loss(feature_net, synth, target_features)
        if noise_maps:
            per_image = per_image + config.noise_reg_weight * noise_regularization(list(noise_maps.values()))
        loss = per_image.sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()) / n)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        if noise_maps:
            with torch.no_grad():
                for noise in noise_maps.values():
                    noise -= noise.mean(dim=(1, 2, 3), keepdim=True)
                    noise *= noise.square().mean(dim=(1, 2, 3), keepdim=True).rsqrt()
    with torch.no_grad():
        w_final = w_opt.detach().clone()
        images = generator.synthesis(w_final, noise_mode="const")
    ws = w_final if config.wplus else w_final.unsqueeze(1).repeat(1, num_ws, 1)
    noise = {k: v.detach().clone() for k, v in noise_maps.items()} or None
    return Projection(ws=ws, w=None if config.wplus else w_final, images=images, losses=losses, noise=noise)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of [N, 3, H, W] images in [-1, 1] after NVIDIA's uint8 conversion."""
    def to_u8(x: torch.Tensor) -> torch.Tensor:
        return (x.detach() * 127.5 + 128).clamp(0, 255).to(torch.uint8).double()

    mse = (to_u8(a) - to_u8(b)).square().mean(dim=(1, 2, 3))
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-12))


@torch.no_grad()
def generated_targets(generator: Generator, seeds: Sequence[int], psi: float = 0.7) -> tuple[torch.Tensor, torch.Tensor]:
    """Images the generator makes from known w (NVIDIA seed semantics): (images [N,3,R,R], w [N, w_dim])."""
    z = seed_latents(generator.z_dim, seeds)
    ws = generator.mapping(z, truncation_psi=psi)
    return generator.synthesis(ws, noise_mode="const"), ws[:, 0]
