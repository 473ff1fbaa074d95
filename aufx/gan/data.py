"""Training data sources for the generator trainer: functions (batch, rng) -> images [N, 3, R, R]."""

from __future__ import annotations

import numpy as np
import torch


def synthfacs_source(size: int = 64):
    """Fresh SynthFACS renders every batch (the world is procedural: no dataset is stored).

    Each batch draws its own seed from the trainer's RNG, so a resumed run continues the same
    stream of faces.
    """
    from aufx.synthfacs import render, sample_params

    def source(batch: int, rng: np.random.Generator) -> torch.Tensor:
        params = sample_params(batch, seed=int(rng.integers(0, 2**31 - 1)))
        return render(params.aus, params.identity, size=size, with_parts=False).images

    return source
