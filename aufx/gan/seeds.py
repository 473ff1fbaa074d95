"""Seeds as NVIDIA's ``generate.py`` means them: z = ``np.random.RandomState(seed).randn(1, z_dim)``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch


def seed_latents(z_dim: int, seeds: Iterable[int]) -> torch.Tensor:
    """z [len(seeds), z_dim] float32, one ``RandomState(seed).randn(1, z_dim)`` row per seed."""
    rows = [np.random.RandomState(int(s)).randn(1, z_dim) for s in seeds]
    return torch.from_numpy(np.concatenate(rows, axis=0)).float()
