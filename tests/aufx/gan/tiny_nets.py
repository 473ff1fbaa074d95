"""Tiny random StyleGAN2 generators for the loader, hook, CLI and projector tests."""

from __future__ import annotations

import torch

from aufx.gan.networks import Generator, GeneratorConfig

TINY = GeneratorConfig(img_resolution=16, z_dim=16, w_dim=16, channel_base=128, channel_max=16, mapping_layers=2)
TINY32 = GeneratorConfig(img_resolution=32, z_dim=16, w_dim=16, channel_base=256, channel_max=16, mapping_layers=2)


def random_generator(config: GeneratorConfig = TINY, seed: int = 0, *, affine_and_w_avg: bool = True) -> Generator:
    """A generator whose noise strengths, biases and w_avg are non-zero (so every weight matters).

    ``affine_and_w_avg=False`` leaves the affine biases and ``w_avg`` at their initial values (and
    draws nothing for them): the editing tests' generator (``tests.aufx.edit.tiny``).
    """
    torch.manual_seed(seed)
    generator = Generator(config).eval().requires_grad_(False)
    with torch.no_grad():
        for name, tensor in generator.state_dict().items():
            if name.endswith("noise_strength"):
                tensor.normal_(0, 0.3)
            elif name.endswith(".bias") and ".affine." not in name:
                tensor.normal_(0, 0.1)
            elif not affine_and_w_avg:
                continue
            elif name.endswith("affine.bias"):
                tensor.add_(torch.randn_like(tensor) * 0.1)
            elif name.endswith("w_avg"):
                tensor.normal_()
    return generator


def seeded_z(generator: Generator, n: int = 3, seed: int = 7) -> torch.Tensor:
    return torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(seed))
