"""Held-out accuracy of a face analyzer on fresh SynthFACS renders.

:func:`evaluate` renders ``n`` faces from the evaluation seed range (never used in training;
pairs of faces share an identity with independent AUs) and measures

- per-AU Pearson r and MAE of the predicted intensities (0..5 scale),
- facial-part segmentation IoU per part and their mean (mIoU, over parts present),
- identity retrieval: for each face of the first half, is its nearest neighbour (cosine) among
  the second half the render of the same identity with other AUs? (top-1 accuracy; chance 2/n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from aufx.au.data import eval_set
from aufx.au.model import FaceAnalyzer
from aufx.aus import AU_CODES
from aufx.synthfacs import PART_NAMES


@dataclass
class EvalReport:
    """``per_au``: DataFrame indexed by AU code with ``r`` and ``mae``; ``part_iou``: Series per part."""

    per_au: pd.DataFrame
    part_iou: pd.Series
    identity_top1: float
    n: int
    seed: int

    @property
    def mean_r(self) -> float:
        return float(self.per_au["r"].mean())

    @property
    def miou(self) -> float:
        return float(self.part_iou.mean())

    def summary(self) -> dict[str, float]:
        return {"mean_r": round(self.mean_r, 4), "min_r": round(float(self.per_au["r"].min()), 4),
                "mean_mae": round(float(self.per_au["mae"].mean()), 4), "miou": round(self.miou, 4),
                "identity_top1": round(self.identity_top1, 4), "n": self.n, "seed": self.seed}  # fmt: skip


def pearson(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Column-wise Pearson r of two ``[N, K]`` arrays (NaN for a constant column)."""
    p = pred - pred.mean(0)
    t = true - true.mean(0)
    denom = np.sqrt((p * p).sum(0) * (t * t).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p * t).sum(0) / denom


def evaluate(model: FaceAnalyzer, n: int = 2000, seed: int = 0, batch: int = 250) -> EvalReport:
    """Measure ``model`` on ``n`` fresh held-out renders (``n`` even); see the module docstring."""
    if n < 4 or n % 2:
        raise ValueError(f"n must be an even number >= 4, got {n}")
    data = eval_set(n, seed=seed)
    model = model.eval()
    aus, embeddings = [], []
    n_parts = len(PART_NAMES)
    inter = torch.zeros(n_parts, dtype=torch.float64)
    union = torch.zeros(n_parts, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, n, batch):
            out = model(data.images[start : start + batch])
            aus.append(out.aus)
            embeddings.append(out.identity)
            pred = out.parts
            true = data.parts[start : start + batch]
            for k in range(n_parts):
                p, t = pred == k, true == k
                inter[k] += (p & t).sum()
                union[k] += (p | t).sum()
    pred_aus = torch.cat(aus).numpy().astype(np.float64)
    true_aus = data.aus.numpy().astype(np.float64)
    per_au = pd.DataFrame({"r": pearson(pred_aus, true_aus), "mae": np.abs(pred_aus - true_aus).mean(0)},
                          index=pd.Index(AU_CODES, name="au"))  # fmt: skip
    present = union > 0
    part_iou = pd.Series((inter[present] / union[present]).numpy(),
                         index=[name for name, ok in zip(PART_NAMES, present.tolist(), strict=True) if ok], name="iou")  # fmt: skip
    emb = torch.cat(embeddings)
    half = n // 2
    nearest = (emb[:half] @ emb[half:].T).argmax(1)
    top1 = float((nearest == torch.arange(half)).float().mean())
    return EvalReport(per_au=per_au, part_iou=part_iou, identity_top1=top1, n=n, seed=seed)
