"""Vectorised 2-D shape primitives for the SynthFACS renderer.

Coordinates are normalised image coordinates: ``x`` and ``y`` run from -1 (left / top) to +1
(right / bottom), so one unit is half the image side. Grids are ``x`` ``[1, 1, W]`` and ``y`` ``[1, H, 1]``;
shape parameters are tensors of shape ``[N, 1, 1]`` (one value per face) or floats, and every
function broadcasts to ``[N, H, W]``. Signed distances (SDF) are negative inside a shape.
Anti-aliasing is analytic: :func:`coverage` turns a signed distance into the fraction of a pixel
covered, a linear ramp one pixel wide.
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def grid(size: int, device: torch.device | None = None) -> tuple[Tensor, Tensor, float]:
    """Pixel-centre coordinates ``x`` ``[1, 1, size]`` and ``y`` ``[1, size, 1]``, and the pixel width.

    ``x`` and ``y`` are kept separable so that terms depending on one axis only are computed
    once per row or column; broadcasting forms the full ``[N, H, W]`` maps where both meet.
    """
    centres = (torch.arange(size, dtype=torch.float32, device=device) + 0.5) / size * 2.0 - 1.0
    return centres.view(1, 1, size), centres.view(1, size, 1), 2.0 / size


def coverage(sdf: Tensor, pixel: float) -> Tensor:
    """Fraction (0..1) of a pixel inside the shape, from its signed distance (one-pixel ramp)."""
    return (0.5 - sdf / pixel).clamp_(0.0, 1.0)


def soft(sdf: Tensor, width: float | Tensor) -> Tensor:
    """A soft mask (0..1) that fades over ``width`` units around the shape's edge (for shading)."""
    return (0.5 - sdf / width).clamp(0.0, 1.0)


def ellipse_sdf(x: Tensor, y: Tensor, cx, cy, rx, ry) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse (first-order, exact on circles)."""
    dx = (x - cx) / rx
    dy = (y - cy) / ry
    k0 = torch.sqrt(dx * dx + dy * dy)
    k1 = torch.sqrt((dx / rx) ** 2 + (dy / ry) ** 2).clamp_min(1e-6)
    return k0 * (k0 - 1.0) / k1


def ellipse_radius(x: Tensor, y: Tensor, cx, cy, rx, ry, power: float | Tensor = 2.0) -> Tensor:
    """Normalised super-ellipse radius ``(|dx/rx|^p + |dy/ry|^p)^(1/p)``: 1 on the boundary."""
    dx = ((x - cx) / rx).abs()
    dy = ((y - cy) / ry).abs()
    return (dx**power + dy**power) ** (1.0 / power)


def segment_sdf(x: Tensor, y: Tensor, ax, ay, bx, by, radius) -> Tensor:
    """Signed distance to a capsule: the segment from ``(ax, ay)`` to ``(bx, by)`` thickened by ``radius``."""
    pax = x - ax
    pay = y - ay
    bax = bx - ax
    bay = by - ay
    h = ((pax * bax + pay * bay) / (bax * bax + bay * bay + 1e-9)).clamp(0.0, 1.0)
    return torch.sqrt((pax - bax * h) ** 2 + (pay - bay * h) ** 2) - radius


def band_sdf(y: Tensor, centre: Tensor, half_thickness) -> Tensor:
    """Signed vertical distance to a band of given half thickness around the curve ``y = centre(x)``."""
    return (y - centre).abs() - half_thickness


def over(image: Tensor, colour: Tensor, alpha: Tensor) -> Tensor:
    """Composite ``colour`` (``[N, 3, 1, 1]`` or ``[N, 3, H, W]``) over ``image`` with ``alpha`` ``[N, H, W]``."""
    a = alpha.unsqueeze(1)
    return image + (colour - image) * a


def shade(image: Tensor, amount: Tensor) -> Tensor:
    """Multiply ``image`` by ``1 - amount`` (``amount`` ``[N, H, W]``; negative values brighten)."""
    return image * (1.0 - amount).unsqueeze(1)


class Window:
    """A rectangular crop of the pixel grid that holds all of a feature's non-zero pixels.

    Built from bounds in image units (per-face tensors or floats; the batch's extremes are used,
    widened by two pixels). ``x``, ``y`` and ``ax = |x|`` are the cropped grids; :meth:`crop`
    cuts the same rectangle out of any ``[..., H, W]`` tensor. Drawing a feature inside its window
    gives the same pixels as drawing it on the whole image, at a fraction of the cost.
    """

    def __init__(self, x: Tensor, y: Tensor, px: float, y0, y1, x_max) -> None:
        xs = x.reshape(-1)
        ys = y.reshape(-1)
        margin = 2.0 * px
        lo = float(torch.as_tensor(y0).min()) - margin
        hi = float(torch.as_tensor(y1).max()) + margin
        half = float(torch.as_tensor(x_max).max()) + margin
        r0 = int(torch.searchsorted(ys, torch.tensor([lo], dtype=ys.dtype)))
        r1 = int(torch.searchsorted(ys, torch.tensor([hi], dtype=ys.dtype), right=True))
        c0 = int(torch.searchsorted(xs, torch.tensor([-half], dtype=xs.dtype)))
        c1 = int(torch.searchsorted(xs, torch.tensor([half], dtype=xs.dtype), right=True))
        self.rows = slice(r0, max(r0, r1))
        self.cols = slice(c0, max(c0, c1))
        self.x = x[..., self.cols]
        self.y = y[:, self.rows, :]
        self.ax = self.x.abs()
        self.px = px

    def crop(self, full: Tensor) -> Tensor:
        """The window's rectangle of ``full`` (``[..., H, W]``), as a view."""
        return full[..., self.rows, self.cols]
