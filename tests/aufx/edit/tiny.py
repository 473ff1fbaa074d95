"""Tiny random networks for the editing-engine tests: a 32-px generator, an analyzer stand-in."""

from __future__ import annotations

import torch
from torch import nn

from aufx.aus import N_AUS
from aufx.gan.networks import Generator, GeneratorConfig
from aufx.synthfacs.parts import PART_NAMES
from tests.aufx.gan.tiny_nets import TINY32, random_generator

TINY_G = TINY32


def tiny_generator(seed: int = 0, config: GeneratorConfig = TINY_G) -> Generator:
    """Random generator with non-zero biases/noise strengths (every weight matters); its affine
    biases and ``w_avg`` keep their initial values."""
    return random_generator(config, seed, affine_and_w_avg=False)


class TinyAnalyzer(nn.Module):
    """Random conv net with the analyzer protocol: images -> (aus [N,16], identity [N,8], part logits [N,P,16,16])."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        self.aus = nn.Linear(8, N_AUS)
        self.identity = nn.Linear(8, 8)
        self.parts = nn.Conv2d(8, len(PART_NAMES), 1)
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor):
        h = self.body(images)
        pooled = h.mean(dim=(2, 3))
        aus = 2.5 + 2.0 * torch.tanh(self.aus(pooled) * 3)
        return aus, self.identity(pooled), self.parts(h)
