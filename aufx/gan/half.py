"""What storing a generator's weights in float16 changes in its images.

Bundled generators are stored with float16 weights (``save_aufx(..., half=True)``) when the
images of the float16 copy differ from the float32 model's by at most one 8-bit level: below what
a person or the analyzer can tell apart. :func:`half_precision_gap` measures that on fixed seeds.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from aufx.gan.networks import Generator


def half_copy(generator: Generator) -> Generator:
    """A copy of ``generator`` whose float weights are rounded to float16 (and kept as float32)."""
    rounded = copy.deepcopy(generator)
    rounded.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in generator.state_dict().items()})
    return rounded


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` on [-1, 1] -> 8-bit levels as NVIDIA's ``generate.py`` writes them."""
    return (images * 127.5 + 128).clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def half_precision_gap(generator: Generator, n: int = 64, seed: int = 0, batch: int = 16) -> dict[str, float]:
    """Image difference between ``generator`` and its float16-rounded copy on ``n`` latents.

    Returns ``max_abs`` (largest pixel difference on [-1, 1]), ``mean_abs``, ``changed_share``
    (share of 8-bit channel values that differ) and ``max_levels`` (largest 8-bit difference).
    """
    if n <= 0:
        raise ValueError(f"number of faces must be positive, got {n}")
    rounded = half_copy(generator)
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, generator.z_dim))).float()
    max_abs = total_abs = changed = levels = 0.0
    count = 0
    for start in range(0, n, batch):
        a = generator(z[start : start + batch], noise_mode="const")
        b = rounded(z[start : start + batch], noise_mode="const")
        diff = (a - b).abs()
        max_abs, total_abs, count = max(max_abs, diff.max().item()), total_abs + diff.sum().item(), count + diff.numel()
        qa, qb = to_uint8(a).int(), to_uint8(b).int()
        changed += (qa != qb).sum().item()
        levels = max(levels, (qa - qb).abs().max().item())
    return {"max_abs": max_abs, "mean_abs": total_abs / count, "changed_share": changed / count, "max_levels": float(levels)}
