"""Tiny random networks for the editing-engine tests: a 32-px generator, an analyzer stand-in."""

from __future__ import annotations

import torch
from torch import nn

from aufx.aus import N_AUS
from aufx.gan.networks import Generator, GeneratorConfig
from aufx.synthfacs.parts import PART_NAMES

TINY_G = GeneratorConfig(img_resolution=32, z_dim=16, w_dim=16, channel_base=256, channel_max=16, mapping_layers=2)


def tiny_generator(seed: int = 0, config: GeneratorConfig = TINY_G) -> Generator:
    """Random generator with non-zero biases/noise strengths (every weight matters)."""
    torch.manual_seed(seed)
    generator = Generator(config).eval().requires_grad_(False)
    with torch.no_grad():
        for name, tensor in generator.state_dict().items():
            if name.endswith("noise_strength"):
                tensor.normal_(0, 0.3)
            elif name.endswith(".bias") and ".affine." not in name:
                tensor.normal_(0, 0.1)
    return generator


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
