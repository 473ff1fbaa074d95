"""StyleGAN2 discriminator (residual architecture, minibatch standard deviation), for training.

Names follow NVIDIA (``b64.fromrgb``, ``b64.conv0``, ``b64.conv1``, ``b64.skip``, ``b4.mbstd``,
``b4.conv``, ``b4.fc``, ``b4.out``). Images in: [N, 3, R, R] in [-1, 1]; logits out: [N, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aufx.gan import ops
from aufx.gan.layers import FullyConnectedLayer


class Conv2dLayer(nn.Module):
    """Equalised-learning-rate convolution, optionally FIR-filtered 2× downsampling."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        down: int = 1,
    ) -> None:
        super().__init__()
        self.activation = activation
        self.down = down
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", ops.setup_filter())
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        if self.down == 2:
            fw = self.resample_filter.shape[-1]
            pad = self.padding + (fw - 1) // 2
            pad1 = self.padding + (fw - 2) // 2
            if w.shape[-1] == 1:
                x = ops.upfirdn2d(x, self.resample_filter, down=2, padding=(pad, pad1, pad, pad1))
                x = F.conv2d(x, w)
            else:
                x = ops.upfirdn2d(x, self.resample_filter, padding=(pad, pad1, pad, pad1))
                x = F.conv2d(x, w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        act_gain = (ops.LRELU_GAIN if self.activation == "lrelu" else 1.0) * gain
        return ops.bias_act(x, self.bias, activation=self.activation, gain=act_gain)


class DiscriminatorBlock(nn.Module):
    """Residual block at one resolution: [fromrgb] → conv0 → conv1 (↓2), plus a 1×1 skip (↓2)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int = 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu")
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu")
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class MinibatchStdLayer(nn.Module):
    """Append the mean standard deviation over groups of ``group_size`` samples as extra channels."""

    def __init__(self, group_size: int = 4, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size else n
        if n % g:
            g = 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = y.square().mean(dim=0)
        y = (y + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4])
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """The 4×4 head: minibatch std, conv, fully connected, output logit."""

    def __init__(self, in_channels: int, mbstd_group_size: int = 4) -> None:
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group_size)
        self.conv = Conv2dLayer(in_channels + 1, in_channels, 3, activation="lrelu")
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """Residual StyleGAN2 discriminator for square images of ``img_resolution``."""

    def __init__(
        self, img_resolution: int, channel_base: int = 32768, channel_max: int = 512, img_channels: int = 3
    ) -> None:
        super().__init__()
        self.img_resolution = img_resolution
        log2 = int(math.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]

        def channels(res: int) -> int:
            return min(channel_base // res, channel_max)

        for res in self.block_resolutions:
            in_channels = channels(res) if res < img_resolution else 0
            block = DiscriminatorBlock(in_channels, channels(res), channels(res // 2), img_channels)
            setattr(self, f"b{res}", block)
        self.b4 = DiscriminatorEpilogue(channels(4))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """img: [N, 3, R, R] -> logits [N, 1]."""
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        return self.b4(x)
