"""Building blocks shared by StarGAN, GANimation and Cascade EF-GAN.

StarGAN (Choi et al. 2018) and GANimation (Pumarola et al. 2018) use the same conditional
encoder–decoder: a 7×7 conv on the image with the condition tiled over it (``3 + c_dim``
channels), two stride-2 4×4 down-convs, ``repeat_num`` residual blocks, two stride-2 4×4
transposed convs (optionally each followed by a fixed binomial blur: :class:`BlurredConvTranspose2d`,
an aufx addition against their checkerboard); and the same PatchGAN critic with an auxiliary head. Module *positions* in
the ``nn.Sequential`` containers follow the authors' code so that their state dicts load key for
key; the module attribute names (``main``, ``model``, ``conv_block``) are parameters.

Shapes: images ``[N, 3, S, S]``; conditions ``[N, c_dim]``; ``S`` divisible by 4 (generator)
and by ``2 ** repeat_num`` (critic).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormFactory = Callable[[int], nn.Module]


class TrackedInstanceNorm(nn.InstanceNorm2d):
    """``InstanceNorm2d(affine=True, track_running_stats=True)`` as in StarGAN's code.

    Training behaves as PyTorch's (per-image statistics, running statistics updated). Outside
    training, ``per_image_at_test=True`` (the default) keeps normalising with each image's own
    statistics without touching the running buffers: this is what StarGAN's official ``test()``
    computes, because it never calls ``eval()``. ``per_image_at_test=False`` gives PyTorch's
    eval-mode behaviour (normalise with the running statistics).
    """

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, affine=True, track_running_stats=True)
        self.per_image_at_test = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not self.per_image_at_test:
            return super().forward(x)
        return F.instance_norm(x, None, None, self.weight, self.bias, use_input_stats=True, eps=self.eps)


class ResidualBlock(nn.Module):
    """x + [conv3×3, norm, ReLU, conv3×3, norm](x), the layers held under attribute ``attr``."""

    def __init__(self, dim: int, norm: NormFactory, conv_bias: bool = False, attr: str = "main") -> None:
        super().__init__()
        self._attr = attr
        layers = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=conv_bias), norm(dim), nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=conv_bias), norm(dim),
        )  # fmt: skip
        self.add_module(attr, layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + getattr(self, self._attr)(x)


def binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` filtered by the 3×3 binomial kernel ``[1, 2, 1]ᵀ[1, 2, 1] / 16`` per channel
    (replicated edges): its response is 0 at a 2-pixel period and 1 at period ∞."""
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    kernel = (taps[:, None] * taps[None, :] / 16.0).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])


class BlurredConvTranspose2d(nn.ConvTranspose2d):
    """A stride-2 transposed convolution followed by :func:`binomial_blur`.

    A stride-2 transposed convolution gives even and odd output pixels different kernel taps, which
    leaves a 2-pixel-period checkerboard unless training balances them exactly (Odena, Dumoulin &
    Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016); the blur has zero response at
    that period, so the pattern cannot pass it (StyleGAN2 low-passes its upsampling likewise). An aufx
    addition to the papers' generators (``upsample_blur`` in their configs): same parameters, same
    state-dict keys, so weights trained without it start a training with it.
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        return binomial_blur(super().forward(x, output_size))


def encoder_decoder(
    in_channels: int, conv_dim: int, repeat_num: int, norm: NormFactory,
    conv_bias: bool = False, block_attr: str = "main", upsample_blur: bool = False,
) -> tuple[list[nn.Module], int]:  # fmt: skip
    """Layers of the shared trunk (without the output head) and its output channels (``conv_dim``).

    ``upsample_blur``: the two up-convs are :class:`BlurredConvTranspose2d` (same keys)."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, conv_dim, 7, 1, 3, bias=conv_bias), norm(conv_dim), nn.ReLU(inplace=True),
    ]  # fmt: skip
    dim = conv_dim
    for _ in range(2):
        layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=conv_bias), norm(dim * 2), nn.ReLU(inplace=True)]
        dim *= 2
    layers += [ResidualBlock(dim, norm, conv_bias, block_attr) for _ in range(repeat_num)]
    up_conv = BlurredConvTranspose2d if upsample_blur else nn.ConvTranspose2d
    for _ in range(2):
        layers += [up_conv(dim, dim // 2, 4, 2, 1, bias=conv_bias), norm(dim // 2), nn.ReLU(inplace=True)]
        dim //= 2
    return layers, dim


def tile_condition(images: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` + ``[N, C]`` -> ``[N, 3 + C, H, W]`` (condition repeated over every pixel)."""
    if condition.ndim != 2 or condition.shape[0] != images.shape[0]:
        raise ValueError(f"condition must be [N={images.shape[0]}, C], got {list(condition.shape)}")
    c = condition.to(images.dtype)[:, :, None, None].expand(-1, -1, images.shape[2], images.shape[3])
    return torch.cat([images, c], dim=1)


class PatchCritic(nn.Module):
    """StarGAN's / GANimation's critic: ``repeat_num`` stride-2 convs, a 3×3 realism map and a condition head.

    Keys: ``main.{0,2,...}`` (convs with bias, LeakyReLU 0.01 between), ``conv1`` (realism, no
    bias), ``conv2`` (kernel ``image_size / 2**repeat_num``, ``c_dim`` outputs, no bias).
    forward: ``[N, 3, S, S]`` -> (realism map ``[N, 1, S/2^r, S/2^r]``, condition ``[N, c_dim]``).
    """

    def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
        super().__init__()
        if image_size % (2**repeat_num):
            raise ValueError(f"image_size {image_size} is not divisible by 2**repeat_num = {2**repeat_num}")
        layers: list[nn.Module] = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        dim = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(dim, c_dim, image_size // 2**repeat_num, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def count_blocks(state_dict: dict, prefix: str, attr: str) -> int:
    """Number of residual blocks ``{prefix}.{i}.{attr}.0.weight`` in a state dict."""
    return sum(1 for k in state_dict if k.startswith(prefix + ".") and k.endswith(f".{attr}.0.weight"))


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """The authors' initialisation: conv weights N(0, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
