"""StyleGAN2 math as plain functions, separate from the modules that hold parameters.

Every function here follows the reference (CPU) path of NVIDIA's stylegan2-ada-pytorch
(``torch_utils/ops``) so that a checkpoint loaded into aufx gives the same images; the
numbers they compute are facts of the architecture, the code is aufx's own.

Shapes: N batch, C channels, H×W spatial, O output channels, I input channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_ALPHA = 0.2
LRELU_GAIN = math.sqrt(2.0)


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale ``x`` so that its mean square along ``dim`` is 1 (the mapping network's input norm)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add a per-channel bias (dim 1), apply ``linear`` or ``lrelu`` (slope 0.2), scale, clamp.

    ``gain`` defaults to the activation's own (1 for linear, sqrt(2) for lrelu).
    """
    if activation not in ("linear", "lrelu"):
        raise ValueError(f"unsupported activation {activation!r} (expected 'linear' or 'lrelu')")
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2))
    # After the bias add, x is our own buffer: without autograd, work on it in place (same numbers).
    inplace = bias is not None and not (torch.is_grad_enabled() and x.requires_grad)
    if activation == "lrelu":
        x = F.leaky_relu(x, LRELU_ALPHA, inplace=inplace)
        gain = LRELU_GAIN if gain is None else gain
        inplace = inplace or not (torch.is_grad_enabled() and x.requires_grad)
    if gain is not None and gain != 1:
        x = x.mul_(gain) if inplace else x * gain
        inplace = inplace or not (torch.is_grad_enabled() and x.requires_grad)
    if clamp is not None and clamp >= 0:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    return x


def setup_filter(taps: list[float] | tuple[float, ...] = (1, 3, 3, 1)) -> torch.Tensor:
    """A normalised 2-D FIR filter (outer product of ``taps``), shape [k, k], summing to 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample by zero insertion, pad (x0, x1, y0, y1; negative crops), filter with ``f``, downsample.

    x: [N, C, H, W]; f: [kh, kw] FIR filter (applied as a true convolution, i.e. flipped).
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    conv_pad = (0, 0)
    if px0 == px1 >= 0 and py0 == py1 >= 0:  # symmetric: let the convolution pad (no copy)
        conv_pad = (py0, px0)
    else:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
        x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    kernel = (f * (gain ** (f.ndim / 2))).to(x.dtype).flip([0, 1])
    x = F.conv2d(x, kernel[None, None].expand(c, 1, *kernel.shape), padding=conv_pad, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Upsample [N, C, H, W] -> [N, C, H·up, W·up] with the FIR filter ``f`` (skip-RGB path)."""
    fw = f.shape[-1]
    pad0 = (fw + up - 1) // 2
    pad1 = (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=(pad0, pad1, pad0, pad1), gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Downsample [N, C, H, W] -> [N, C, H/down, W/down] with the FIR filter ``f``."""
    fw = f.shape[-1]
    pad0 = (fw - down + 1) // 2
    pad1 = (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=(pad0, pad1, pad0, pad1))


def conv2d_up2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """3×3 convolution with 2× upsampling: transposed conv (stride 2) then FIR filtering.

    x: [N, I·groups, H, W]; weight: [O·groups, I, k, k] -> [N, O·groups, 2H, 2W].
    """
    out_total, in_per_group, kh, kw = weight.shape
    # conv_transpose2d wants [I·groups, O, k, k].
    w = weight.reshape(groups, out_total // groups, in_per_group, kh, kw).transpose(1, 2)
    w = w.reshape(groups * in_per_group, out_total // groups, kh, kw)
    x = F.conv_transpose2d(x, w, stride=2, groups=groups)
    fw = f.shape[-1]
    pad0 = (fw + 1) // 2 + 1 - (kw - 1)  # padding of the reference: 1 + (fw+up-1)//2 - (kw-1)
    pad1 = (fw - 2) // 2 + 1 - (kw - 2)
    return upfirdn2d(x, f, padding=(pad0, pad1, pad0, pad1), gain=4)


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
) -> torch.Tensor:
    """StyleGAN2's modulated convolution as one grouped convolution over the batch.

    x: [N, I, H, W]; weight: [O, I, k, k]; styles: [N, I]; noise broadcastable to [N, O, H', W'].
    Returns [N, O, H', W'] with H' = H·up.
    """
    n = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    if styles.shape != (n, in_channels):
        raise ValueError(f"styles must be [{n}, {in_channels}], got {list(styles.shape)}")
    w = weight.unsqueeze(0) * styles.reshape(n, 1, in_channels, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
        w = w * dcoefs.reshape(n, out_channels, 1, 1, 1)
    x = x.reshape(1, n * in_channels, *x.shape[2:])
    w = w.reshape(n * out_channels, in_channels, kh, kw)
    if up == 2:
        if resample_filter is None:
            raise ValueError("up=2 needs a resample_filter")
        x = conv2d_up2(x, w, resample_filter, groups=n)
    elif up == 1:
        x = F.conv2d(x, w, padding=padding, groups=n)
    else:
        raise ValueError(f"up must be 1 or 2, got {up}")
    x = x.reshape(n, out_channels, *x.shape[2:])
    if noise is not None:
        # x is the convolution's fresh output: add in place when autograd does not need it.
        x = x.add_(noise) if not torch.is_grad_enabled() else x + noise
    return x
