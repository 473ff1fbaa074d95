"""Training and evaluation batches for the analyzer, rendered on the fly from SynthFACS.

A batch of ``B`` faces holds ``B/2`` identities twice, each time with its own independently
sampled AUs, so the identity head can be taught to ignore expressions. Batches are a pure
function of ``(seed, index)``; training and evaluation use disjoint seed ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from aufx.synthfacs import render, sample_params

#: Training batch ``i`` of seed ``s`` uses SynthFACS seed ``TRAIN_SEED_BASE + s * 10_000_000 + i``.
TRAIN_SEED_BASE: int = 1_000_000
#: Held-out evaluation batches use seeds from here on (never reached by training).
EVAL_SEED_BASE: int = 900_000_000


@dataclass
class Batch:
    """Images ``[B, 3, 64, 64]`` in [-1, 1], AUs ``[B, 16]`` (0..5), identity params ``[B, D]``
    (0..1), parts ``[B, 64, 64]`` int64, and ``pair`` ``[B]`` (faces with equal ``pair`` share an identity)."""

    images: torch.Tensor
    aus: torch.Tensor
    identity: torch.Tensor
    parts: torch.Tensor
    pair: torch.Tensor


def paired_batch(batch_size: int, seed: int, size: int = 64) -> Batch:
    """A batch in which faces ``i`` and ``i + B/2`` share an identity (``batch_size`` even)."""
    if batch_size < 2 or batch_size % 2:
        raise ValueError(f"batch_size must be an even number >= 2, got {batch_size}")
    params = sample_params(batch_size, seed)
    half = batch_size // 2
    identity = params.identity.copy()
    identity[half:] = identity[:half]
    out = render(params.aus, identity, size=size)
    pair = torch.arange(batch_size) % half
    return Batch(images=out.images, aus=torch.from_numpy(params.aus), identity=torch.from_numpy(identity),
                 parts=out.parts, pair=pair)  # fmt: skip


def augment(images: torch.Tensor, parts: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mild photometric + 1-pixel shift augmentation (so that generated faces are read well too).

    Blur (half the faces), brightness/contrast jitter (+-8 %), Gaussian noise (sigma 0.02) and a
    random shift of up to one pixel applied to images and part maps alike.
    """
    n = images.shape[0]
    kernel = torch.tensor([0.25, 0.5, 0.25])
    kernel2d = (kernel[:, None] * kernel[None, :]).expand(3, 1, 3, 3)
    blurred = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), kernel2d, groups=3)
    use_blur = (torch.rand(n, 1, 1, 1, generator=generator) < 0.5).float()
    images = images + (blurred - images) * use_blur
    gain = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) - 0.5) * 0.16
    bias = (torch.rand(n, 1, 1, 1, generator=generator) - 0.5) * 0.16
    images = images * gain + bias + torch.randn(images.shape, generator=generator) * 0.02
    dy, dx = (int(v) for v in torch.randint(-1, 2, (2,), generator=generator))
    images = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    parts = torch.roll(parts, shifts=(dy, dx), dims=(1, 2))
    return images.clamp(-1.0, 1.0), parts


def eval_set(n: int, seed: int = 0, size: int = 64) -> Batch:
    """A held-out set of ``n`` faces (``n`` even) from the evaluation seed range."""
    return paired_batch(n, EVAL_SEED_BASE + seed, size=size)


def train_seed(seed: int, index: int) -> int:
    return TRAIN_SEED_BASE + seed * 10_000_000 + index
