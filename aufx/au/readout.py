"""Closed-form linear AU read-out (a ridge-regression probe) on a trained analyzer's features.

SGD on the AU head is the slow part of training on a CPU; the encoder's 4x4 map and its 16x16
pyramid level (learnt for parts and identity) already place every feature the AUs move. A ridge
regression from those features to the 16 intensities, fit in closed form on fresh renders,
becomes the model's AU head (``AnalyzerConfig.au_readout = "linear"``); it is an ordinary
``nn.Linear``, so the analyzer stays differentiable.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from aufx.au.data import paired_batch
from aufx.au.model import FaceAnalyzer

#: Ridge fits draw their faces from SynthFACS seeds here on (disjoint from training and evaluation).
READOUT_SEED_BASE: int = 500_000_000


def readout_features(model: FaceAnalyzer, images: torch.Tensor) -> torch.Tensor:
    """The read-out's input features for ``images`` ``[N, 3, 64, 64]`` -> ``[N, F]`` (no grad)."""
    with torch.no_grad():
        _, f16, f8, f4 = model.features(images)
        p16 = model.lat16(f16) + F.interpolate(model.lat8(f8), scale_factor=2.0, mode="nearest")
        return model.readout_input(f4, p16)


def fit_linear_readout(model: FaceAnalyzer, n: int = 4000, ridge: float = 1000.0, seed: int = 0,
                       batch: int = 200) -> FaceAnalyzer:  # fmt: skip
    """A copy of ``model`` whose AU head is a ridge regression fit on ``n`` fresh renders.

    Features are standardised before the fit (ridge penalty ``ridge`` on the standardised
    weights); the standardisation is folded into the returned ``nn.Linear``.
    """
    if n < 2 or batch < 2:
        raise ValueError(f"n and batch must be >= 2, got {n} and {batch}")
    model = copy.deepcopy(model).eval()
    feats, targets = [], []
    for i, start in enumerate(range(0, n, batch)):
        size = min(batch, n - start)
        size += size % 2
        data = paired_batch(size, READOUT_SEED_BASE + seed * 100_000 + i)
        feats.append(readout_features(model, data.images).double())
        targets.append(data.aus.double())
    x = torch.cat(feats)
    y = torch.cat(targets)
    mean = x.mean(0)
    std = x.std(0) + 1e-3
    z = torch.cat([(x - mean) / std, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    penalty = ridge * torch.eye(z.shape[1], dtype=z.dtype)
    penalty[-1, -1] = 0.0  # no penalty on the bias
    w = torch.linalg.solve(z.T @ z + penalty, z.T @ y)  # [F + 1, 16]
    weight = (w[:-1] / std[:, None]).T
    bias = w[-1] - (mean / std) @ w[:-1]
    model.config.au_readout = "linear"
    with torch.no_grad():
        model.au_linear.weight.copy_(weight.float())
        model.au_linear.bias.copy_(bias.float())
    model.metadata = dict(getattr(model, "metadata", {}), au_readout={"n": n, "ridge": ridge, "seed": seed})
    return model
