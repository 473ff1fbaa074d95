"""Feature outlines shared by the painter and the part labeller.

Every function takes a :class:`~aufx.synthfacs.geometry.Geometry` and the pixel grid (``x``,
``y`` each ``[1, H, W]``; see :mod:`aufx.synthfacs._raster`) and returns ``[N, H, W]`` tensors in
image units: signed distances (negative inside) or curve heights. Symmetric features use the
mirrored coordinate ``ax = |x|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aufx.synthfacs._raster import ellipse_sdf
from aufx.synthfacs.geometry import Geometry

Tensor = torch.Tensor


def face_sdf(g: Geometry, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Signed distance to the face outline and its normalised radius (1 on the outline).

    Upper half: an ellipse; lower half: a super-ellipse whose power (jaw squareness) is an
    identity parameter and whose height follows the jaw (AU26 down, AU17 up).
    """
    dy = y - g.face_cy
    upper = dy < 0
    ry = torch.where(upper, g.face_top, g.face_bottom)
    p = torch.where(upper, torch.full_like(g.jaw_power, 2.0), g.jaw_power)
    u = (x.abs() / g.face_w).clamp_min(1e-6)
    v = (dy.abs() / ry).clamp_min(1e-6)
    k = (u**p + v**p) ** (1.0 / p)
    # |grad k| for the p-norm, to turn (k - 1) into a distance
    kp = k ** (p - 1)
    gx = u ** (p - 1) / (g.face_w * kp)
    gy = v ** (p - 1) / (ry * kp)
    return (k - 1.0) / torch.sqrt(gx * gx + gy * gy).clamp_min(1e-4), k


def back_hair_sdf(g: Geometry, x: Tensor, y: Tensor) -> Tensor:
    """Hair behind the head: a cap around the skull plus, for long hair, a fall to ``hair_bottom``."""
    rx = g.face_w + 0.05 + g.hair_volume
    cap = ellipse_sdf(x, y, 0.0, g.face_cy - 0.03, rx, g.face_top + 0.04 + g.hair_volume)
    fall = torch.maximum(torch.maximum(x.abs() - rx * 0.97, y - g.hair_bottom), g.face_cy - 0.03 - y)
    return torch.minimum(cap, fall)


def top_hair_sdf(g: Geometry, x: Tensor, y: Tensor) -> Tensor:
    """Hair drawn over the face: the cap above a hairline that dips to the temples at the sides."""
    cap = ellipse_sdf(x, y, 0.0, g.face_cy - 0.03, g.face_w + 0.05 + g.hair_volume * 0.9,
                      g.face_top + 0.04 + g.hair_volume * 0.9)  # fmt: skip
    side = (x.abs() / g.face_w).clamp(max=1.2) ** 3
    line = g.hairline + (g.eye_y - 0.02 - g.hairline) * side + g.hair_part * x / g.face_w
    return torch.maximum(cap, y - line)


@dataclass
class BrowCurve:
    """Brow centre line ``centre`` and signed distance ``sdf``, each ``[N, H, W]``; ``t`` 0 inner .. 1 outer."""

    t: Tensor
    centre: Tensor
    sdf: Tensor


def brow(g: Geometry, ax: Tensor, y: Tensor) -> BrowCurve:
    """The brow (mirrored). AU01 lifts its inner end, AU02 its outer end, AU04 lowers and draws it in."""
    length = g.brow_out - g.brow_in
    t = ((ax - g.brow_in) / length).clamp(0.0, 1.0)
    centre = (
        g.brow_y - g.brow_arch * 4.0 * t * (1.0 - t) + 0.015 * t
        - 0.09 * g.a01 * (1.0 - t) ** 1.5 - 0.09 * g.a02 * t**1.3
        + 0.05 * g.a04 + 0.035 * g.a04 * (1.0 - t)
    )  # fmt: skip
    half = 0.5 * g.brow_th * (1.0 - 0.45 * t)
    sdf = torch.maximum((y - centre).abs() - half, torch.maximum(g.brow_in - ax, ax - g.brow_out))
    return BrowCurve(t=t, centre=centre, sdf=sdf)


@dataclass
class EyeCurves:
    """Eye (mirrored): ``dx`` from the eye centre (+ outwards), lid heights and the opening's SDF."""

    dx: Tensor
    upper: Tensor
    lower: Tensor
    shape: Tensor
    opening: Tensor


def eye(g: Geometry, ax: Tensor, y: Tensor) -> EyeCurves:
    """Almond eye opening between the upper lid (AU05 up; AU07, AU06 down) and the lower lid (AU06, AU07 up)."""
    dx = ax - g.eye_x
    t = dx / g.eye_w
    shape = (1.0 - t * t).clamp_min(0.0) ** 0.9
    upper = g.eye_y - g.lid_up * shape - 0.012 * t
    lower = g.eye_y + g.lid_low * shape - 0.006 * t
    opening = torch.maximum(torch.maximum(upper - y, y - lower), dx.abs() - g.eye_w)
    return EyeCurves(dx=dx, upper=upper, lower=lower, shape=shape, opening=opening)


@dataclass
class LipCurves:
    """Mouth curves (each ``[N, H, W]``): outer/inner upper lip, inner/outer lower lip, and the lip line."""

    t: Tensor
    line: Tensor
    upper_outer: Tensor
    upper_inner: Tensor
    lower_inner: Tensor
    lower_outer: Tensor
    upper_lip: Tensor
    lower_lip: Tensor
    inside: Tensor


def lips(g: Geometry, x: Tensor, y: Tensor) -> LipCurves:
    """Lips and mouth opening. Corners move with AU12/15/20/23/14, the opening with AU25/26/10."""
    t = (x / g.mouth_w).clamp(-1.2, 1.2)
    s = (1.0 - t * t).clamp_min(0.0)
    line = g.mouth_y + g.corner_dy * t.abs() ** 2.2
    s07 = s**0.7
    s05 = s**0.5
    upper_inner = line - (g.open_up + g.lip_raise) * s07
    lower_inner = line + g.open_low * s07
    upper_outer = (upper_inner - g.upper_th * (0.35 + 0.65 * s05)
                   + 0.3 * g.upper_th * torch.exp(-((t / 0.13) ** 2)))  # fmt: skip
    lower_outer = lower_inner + g.lower_th * (0.3 + 0.7 * s05)
    side = x.abs() - g.mouth_w
    upper_lip = torch.maximum(torch.maximum(upper_outer - y, y - upper_inner), side)
    lower_lip = torch.maximum(torch.maximum(lower_inner - y, y - lower_outer), side)
    inside = torch.maximum(torch.maximum(upper_inner - y, y - lower_inner), side)
    return LipCurves(t=t, line=line, upper_outer=upper_outer, upper_inner=upper_inner,
                     lower_inner=lower_inner, lower_outer=lower_outer,
                     upper_lip=upper_lip, lower_lip=lower_lip, inside=inside)  # fmt: skip


def lip_extent(g: Geometry) -> tuple[Tensor, Tensor]:
    """Top of the upper lip and bottom of the lower lip at the mouth's centre line, each ``[N, 1, 1]``."""
    top = g.mouth_y - g.open_up - g.lip_raise - g.upper_th + 0.3 * g.upper_th
    bottom = g.mouth_y + g.open_low + g.lower_th
    return top, bottom


def corner(g: Geometry) -> tuple[Tensor, Tensor]:
    """Mirrored position ``(|x|, y)`` of the lip corners, each ``[N, 1, 1]``."""
    return g.mouth_w, g.mouth_y + g.corner_dy
