"""Facial-part label maps: which part of the face each pixel shows.

``PART_NAMES`` lists the labels; a part map is an int64 tensor ``[N, H, W]`` of indices into it.
``left_*`` / ``right_*`` follow the anatomical convention: the subject's left, i.e. the image's
right half (``x > 0``). Labels follow the rendered (expressive) face, so a raised brow's label
moves with it. Regions of skin are defined from the geometry: ``forehead`` above the neutral
brow line, ``nose`` from the glabella down to below the nostrils, ``eyes`` an ellipse around each
eye with its lids, crease, under-eye bulge and crow's-feet area, ``mouth`` the lips and the skin
just around them, ``cheeks`` the mid-face band between eyes and mouth corners, ``chin`` the face
below the mouth corners (jaw included), ``skin`` the rest of the face (temples, ears).
"""

from __future__ import annotations

import torch

from aufx.synthfacs import shapes
from aufx.synthfacs._raster import ellipse_radius, ellipse_sdf
from aufx.synthfacs.geometry import Geometry

Tensor = torch.Tensor

#: Facial part labels, in index order.
PART_NAMES: tuple[str, ...] = (
    "background", "hair", "neck", "clothes", "skin", "forehead",
    "left_brow", "right_brow", "left_eye", "right_eye", "nose",
    "left_cheek", "right_cheek", "mouth", "chin",
)  # fmt: skip
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}

#: Parts grouped without the left/right split (``"eyes"`` -> left_eye, right_eye).
PART_GROUPS: dict[str, tuple[str, ...]] = {
    "brows": ("left_brow", "right_brow"),
    "eyes": ("left_eye", "right_eye"),
    "cheeks": ("left_cheek", "right_cheek"),
    **{name: (name,) for name in PART_NAMES if not name.startswith(("left_", "right_"))},
}


def part_map(g: Geometry, x: Tensor, y: Tensor) -> Tensor:
    """Label every pixel (``[N, H, W]`` int64, indices into :data:`PART_NAMES`)."""
    n = g.a01.shape[0]
    ax = x.abs()
    right_side = x > 0  # subject's left
    labels = torch.zeros((n, y.shape[-2], x.shape[-1]), dtype=torch.int64)

    def paint(mask: Tensor, name: str) -> None:
        labels.masked_fill_(mask.expand_as(labels), PART_INDEX[name])

    def paint_sided(mask: Tensor, part: str) -> None:
        paint(mask & right_side, f"left_{part}")
        paint(mask & ~right_side, f"right_{part}")

    paint(shapes.back_hair_sdf(g, x, y) < 0, "hair")
    paint(torch.maximum(ax - (0.22 + 0.1 * g.face_w), g.face_cy + 0.2 - y) < 0, "neck")
    clothes = torch.maximum(ellipse_sdf(x, y, 0.0, 1.32, 0.95, 0.42), -ellipse_sdf(x, y, 0.0, 0.9, 0.2, 0.13))
    paint(clothes < 0, "clothes")
    paint(ellipse_sdf(ax, y, g.face_w - 0.015, g.eye_y + 0.07, 0.055, 0.11) < 0, "skin")
    face = shapes.face_sdf(g, x, y)[0] < 0
    paint(face, "skin")

    cx_, cy_ = shapes.corner(g)
    paint(face & (y < g.brow_y - g.brow_arch), "forehead")
    cheek_band = face & (y > g.eye_y + 0.06) & (y < cy_ + 0.06)
    paint_sided(cheek_band, "cheek")
    paint(face & (y >= cy_ + 0.06), "chin")
    top, bottom = shapes.lip_extent(g)
    nose_top = g.brow_y - g.brow_arch
    nose_bottom = g.nose_tip + 0.06
    frac = ((y - nose_top) / (nose_bottom - nose_top)).clamp(0, 1)
    nose = face & (y > nose_top) & (y < nose_bottom) & (ax < 0.05 + (g.nose_w + 0.05 - 0.05) * frac**2)
    paint(nose, "nose")
    mouth = ellipse_radius(x, y, 0.0, (top + bottom) / 2, g.mouth_w + 0.08, (bottom - top) / 2 + 0.06, 3.0) < 1
    paint(face & mouth, "mouth")
    eye_region = ellipse_radius(ax, y, g.eye_x + 0.02, g.eye_y - 0.025, g.eye_w + 0.08, 0.125, 2.5) < 1
    paint_sided(face & eye_region, "eye")
    paint(nose, "nose")
    paint_sided(face & (shapes.brow(g, ax, y).sdf < 0.01), "brow")
    paint(face & (shapes.top_hair_sdf(g, x, y) < 0), "hair")
    return labels
