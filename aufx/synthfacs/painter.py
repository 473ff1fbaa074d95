"""Paint SynthFACS faces: layer by layer, back to front, every layer vectorised over the batch.

:func:`paint` takes a :class:`~aufx.synthfacs.geometry.Geometry`, the identity colours and the
pixel grid, and returns RGB images ``[N, 3, H, W]`` on 0..1. Shapes come from
:mod:`aufx.synthfacs.shapes`; wrinkles and folds are thin capsules and bands whose darkness is
proportional to their AU's intensity, so an AU at 0 leaves no trace at all.
"""

from __future__ import annotations

import torch

from aufx.synthfacs import shapes
from aufx.synthfacs._raster import (
    Window,
    band_sdf,
    coverage,
    ellipse_sdf,
    over,
    segment_sdf,
    shade,
    soft,
)
from aufx.synthfacs.geometry import Geometry

Tensor = torch.Tensor


def _c(colour: Tensor) -> Tensor:
    """``[N, 3]`` -> ``[N, 3, 1, 1]``."""
    return colour[:, :, None, None]


def paint(g: Geometry, colours: dict[str, Tensor], identity_light: tuple[Tensor, Tensor],
          x: Tensor, y: Tensor, px: float) -> Tensor:  # fmt: skip
    """Render RGB images ``[N, 3, H, W]`` on 0..1 (see module docstring)."""
    n = g.a01.shape[0]
    size = x.shape[-1]
    ax = x.abs()
    skin = _c(colours["skin"])
    hair = _c(colours["hair"])

    # background: vertical gradient
    bg = _c(colours["background"])
    img = bg * (1.08 - 0.16 * (y.unsqueeze(1) + 1.0) / 2.0)
    img = img.expand(n, 3, size, size).contiguous()

    # hair behind the head, with strands
    strands = 0.95 + 0.05 * torch.sin(x * 30.0 + 6.0 * y * y) - 0.08 * (y + 1.0) * 0.5
    hair_px = hair * strands.unsqueeze(1)
    img = over(img, hair_px, coverage(shapes.back_hair_sdf(g, x, y), px))

    # neck and clothes
    neck_w = 0.22 + 0.1 * g.face_w
    neck = torch.maximum(ax - neck_w, g.face_cy + 0.2 - y)
    neck_shadow = 0.35 - 0.25 * soft(y - (g.face_cy + g.face_bottom + 0.02), 0.12)
    img = over(img, skin * (1.0 - neck_shadow.unsqueeze(1)), coverage(neck, px))
    clothes = torch.maximum(ellipse_sdf(x, y, 0.0, 1.32, 0.95, 0.42),
                            -ellipse_sdf(x, y, 0.0, 0.9, 0.2, 0.13))  # fmt: skip
    img = over(img, _c(colours["clothes"]), coverage(clothes, px))

    # ears and face
    ear = ellipse_sdf(ax, y, g.face_w - 0.015, g.eye_y + 0.07, 0.055, 0.11)
    img = over(img, skin * 0.9, coverage(ear, px))
    face, k = shapes.face_sdf(g, x, y)
    rim = 0.22 * soft(0.93 - k, 0.14)  # darker towards the outline (roundness)
    face_px = skin * (1.0 - rim.unsqueeze(1))
    face_cov = coverage(face, px)
    img = over(img, face_px, face_cov)

    def put(w: Window, new: Tensor) -> None:
        img[:, :, w.rows, w.cols] = new

    # forehead wrinkles: AU01 centre, AU02 sides
    w = Window(x, y, px, g.brow_y - 0.22, g.brow_y - 0.06 + 0.25 * g.face_w**2, g.face_w + 0.02)
    wrinkle = torch.zeros_like(w.crop(face))
    for i in range(3):
        line_y = g.brow_y - 0.085 - 0.055 * i + 0.25 * w.x * w.x
        band = coverage(band_sdf(w.y, line_y, 0.006), px)
        weight = 0.32 * g.a01 * torch.exp(-((w.x / 0.14) ** 2)) + 0.32 * g.a02 * torch.exp(
            -(((w.ax - 0.24) / 0.1) ** 2)
        )
        wrinkle = wrinkle + band * weight
    put(w, shade(w.crop(img), wrinkle * w.crop(face_cov)))

    # eye sockets (identity) and upper-lid skin
    w = Window(x, y, px, g.eye_y - 0.25, g.eye_y + 0.15, g.eye_x + g.eye_w + 0.2)
    socket = soft(ellipse_sdf(w.ax, w.y, g.eye_x, g.eye_y - 0.02, g.eye_w + 0.05, 0.085), 0.08)
    put(w, shade(w.crop(img), 0.07 * socket))

    # brows, then AU04 glabella furrows
    w = Window(x, y, px, g.brow_y - g.brow_arch - 0.25, g.brow_y + 0.2, g.brow_out + 0.04)
    b = shapes.brow(g, w.ax, w.y)
    put(w, over(w.crop(img), _c(colours["brow"]), 0.92 * coverage(b.sdf, px)))
    inner_y = g.brow_y + 0.085 * g.a04
    furrow = coverage(segment_sdf(w.ax, w.y, 0.03, inner_y - 0.015, 0.024, inner_y + 0.065, 0.008), px)
    put(w, shade(w.crop(img), 0.5 * g.a04 * furrow))

    # eyes
    w = Window(x, y, px, g.eye_y - 0.25, g.eye_y + 0.15, g.eye_x + g.eye_w + 0.15)
    e = shapes.eye(g, w.ax, w.y)
    open_cov = coverage(e.opening, px)
    sclera = torch.tensor([0.93, 0.91, 0.88])[None, :, None, None]
    put(w, over(w.crop(img), sclera.expand(n, 3, 1, 1), open_cov))
    iris_cy = g.eye_y + 0.004
    iris = coverage(ellipse_sdf(w.ax, w.y, g.eye_x - 0.004, iris_cy, g.iris_r, g.iris_r), px) * open_cov
    put(w, over(w.crop(img), _c(colours["eye"]), iris))
    pupil = coverage(ellipse_sdf(w.ax, w.y, g.eye_x - 0.004, iris_cy, g.iris_r * 0.45, g.iris_r * 0.45), px)
    put(w, shade(w.crop(img), 0.8 * pupil * open_cov))
    glint = coverage(ellipse_sdf(w.x, w.y, torch.sign(w.x) * (g.eye_x - 0.004) - 0.018,
                                 iris_cy - 0.018, 0.011, 0.011), px)  # fmt: skip
    put(w, over(w.crop(img), torch.ones_like(skin), 0.7 * glint * open_cov))
    span = (e.dx.abs() - g.eye_w * 1.06)
    lash = coverage(torch.maximum(band_sdf(w.y, e.upper - 0.004, 0.009 + 0.004 * (e.dx / g.eye_w).clamp(0, 1)), span), px)
    put(w, over(w.crop(img), torch.tensor([0.08, 0.06, 0.05])[None, :, None, None].expand(n, 3, 1, 1), 0.9 * lash))
    crease_y = g.eye_y - (g.lid_up_neutral + 0.04 + 0.6 * (g.lid_up - g.lid_up_neutral)) * e.shape ** 0.5
    crease = coverage(torch.maximum(band_sdf(w.y, crease_y, 0.005), span), px)
    put(w, shade(w.crop(img), 0.16 * crease))
    lower_line = coverage(torch.maximum(band_sdf(w.y, e.lower + 0.004, 0.005 + 0.004 * g.a07), span), px)
    put(w, shade(w.crop(img), (0.16 + 0.35 * g.a07) * lower_line))
    # AU06 under-eye bulge and crow's feet, AU07 tension line
    bulge = coverage(torch.maximum(band_sdf(w.y, e.lower + 0.035, 0.007), e.dx.abs() - g.eye_w * 0.85), px)
    put(w, shade(w.crop(img), (0.32 * g.a06 + 0.12 * g.a07) * bulge))
    ox = g.eye_x + g.eye_w + 0.015
    feet = torch.zeros_like(w.crop(face))
    for dy in (-0.04, 0.0, 0.04):
        feet = torch.maximum(feet, coverage(segment_sdf(w.ax, w.y, ox, g.eye_y, ox + 0.06, g.eye_y + dy, 0.006), px))
    put(w, shade(w.crop(img), 0.5 * g.a06 * feet))

    # cheeks: blush + bulge highlight, raised by AU06 and AU12
    cheek_x = g.eye_x + 0.02
    w = Window(x, y, px, g.cheek_y - 0.2, g.cheek_y + 0.2, cheek_x + 0.25)
    cheek = soft(ellipse_sdf(w.ax, w.y, cheek_x, g.cheek_y, 0.11, 0.075), 0.08)
    blush = torch.tensor([0.85, 0.35, 0.35])[None, :, None, None]
    blush_amount = (0.08 + 0.22 * g.blush + 0.22 * g.a06 + 0.12 * g.a12) * cheek
    put(w, over(w.crop(img), blush.expand(n, 3, 1, 1), blush_amount * w.crop(face_cov)))
    high = soft(ellipse_sdf(w.ax, w.y, cheek_x - 0.01, g.cheek_y - 0.03, 0.06, 0.035), 0.05)
    put(w, shade(w.crop(img), -(0.04 + 0.12 * g.a06) * high * w.crop(face_cov)))
    under = coverage(segment_sdf(w.ax, w.y, cheek_x - 0.09, g.cheek_y + 0.07, cheek_x + 0.06, g.cheek_y + 0.085, 0.007), px)
    put(w, shade(w.crop(img), 0.28 * g.a06 * under))

    # nose
    w = Window(x, y, px, g.eye_y - 0.05, g.nose_tip + 0.15, g.nose_w + g.wing_r + 0.12)
    nose_top = g.eye_y + 0.06
    side_line = segment_sdf(w.ax, w.y, g.nose_w * 0.5, nose_top, g.nose_w * 0.8, g.nose_tip - 0.04, 0.006)
    put(w, shade(w.crop(img), 0.12 * soft(side_line, 0.03)))
    bridge = segment_sdf(w.x, w.y, 0.0, nose_top, 0.0, g.nose_tip - 0.04, 0.012)
    put(w, shade(w.crop(img), -0.06 * soft(bridge, 0.03)))
    under_nose = ellipse_sdf(w.x, w.y, 0.0, g.nose_tip + 0.04, g.nose_w + 0.02, 0.018)
    put(w, shade(w.crop(img), 0.14 * soft(under_nose, 0.03)))
    wing = ellipse_sdf(w.ax, w.y, g.nose_w, g.wing_y, g.wing_r, 0.03)
    put(w, shade(w.crop(img), 0.06 * coverage(wing, px)))
    put(w, shade(w.crop(img), 0.22 * coverage(wing.abs() - 0.005, px) * (w.y > g.wing_y - 0.01).float()))
    tip = ellipse_sdf(w.x, w.y, 0.0, g.nose_tip - 0.015, 0.04, 0.035)
    put(w, shade(w.crop(img), -0.07 * soft(tip, 0.04)))
    nostril = ellipse_sdf(w.ax, w.y, g.nose_w * 0.55 + 0.01 * g.a09, g.wing_y + 0.014, 0.024 + 0.008 * g.a09, 0.012)
    put(w, shade(w.crop(img), 0.6 * coverage(nostril, px)))
    nose_wr = torch.zeros_like(w.crop(face))
    for i in range(3):
        line_y = g.eye_y + 0.025 + 0.032 * i
        nose_wr = nose_wr + coverage(torch.maximum(band_sdf(w.y, line_y + 0.3 * w.x * w.x, 0.006), w.ax - 0.075), px)
    put(w, shade(w.crop(img), 0.45 * g.a09 * nose_wr))
    diag = coverage(segment_sdf(w.ax, w.y, 0.035, g.eye_y + 0.02, 0.09, g.eye_y + 0.1, 0.006), px)
    put(w, shade(w.crop(img), 0.3 * g.a09 * diag))

    # nasolabial folds (deepened by AU09, AU10, AU12, AU06)
    cx_, cy_ = shapes.corner(g)
    w = Window(x, y, px, g.wing_y - 0.1, cy_ + 0.1, torch.maximum(g.nose_w, cx_) + 0.1)
    fold = segment_sdf(w.ax, w.y, g.nose_w + 0.035, g.wing_y - 0.02 - 0.02 * g.a10,
                       cx_ + 0.035, cy_ + 0.04, 0.007)  # fmt: skip
    depth = 0.07 + 0.3 * g.a12 + 0.32 * g.a10 + 0.22 * g.a09 + 0.08 * g.a06
    put(w, shade(w.crop(img), depth * coverage(fold, px)))

    # mouth
    dy_abs = g.corner_dy.abs() * 1.5
    w = Window(x, y, px, g.mouth_y - dy_abs - g.open_up - g.lip_raise - 1.5 * g.upper_th - 0.05,
               g.mouth_y + dy_abs + g.open_low + 1.5 * g.lower_th + 0.05, g.mouth_w + 0.05)  # fmt: skip
    m = shapes.lips(g, w.x, w.y)
    inside_cov = coverage(m.inside, px)
    dark = torch.tensor([0.22, 0.07, 0.07])[None, :, None, None].expand(n, 3, 1, 1)
    put(w, over(w.crop(img), dark, inside_cov))
    teeth = torch.tensor([0.92, 0.9, 0.84])[None, :, None, None].expand(n, 3, 1, 1)
    up_teeth = torch.maximum(w.y - (m.upper_inner + 0.035), w.ax - g.mouth_w * 0.72)
    put(w, over(w.crop(img), teeth, inside_cov * coverage(up_teeth, px)))
    lo_teeth = torch.maximum((m.lower_inner - 0.022) - w.y, w.ax - g.mouth_w * 0.6)
    put(w, over(w.crop(img), teeth * 0.92, inside_cov * coverage(lo_teeth, px)))
    lip = _c(colours["lip"])
    put(w, over(w.crop(img), lip, coverage(m.upper_lip, px)))
    put(w, over(w.crop(img), lip * 1.08, coverage(m.lower_lip, px)))
    seam = coverage(torch.maximum(band_sdf(w.y, m.line, 0.005), w.ax - g.mouth_w), px)
    put(w, shade(w.crop(img), 0.45 * seam))
    corner_dot = coverage(ellipse_sdf(w.ax, w.y, cx_, cy_, 0.012, 0.012), px)
    put(w, shade(w.crop(img), 0.3 * corner_dot))

    # AU14 dimples, AU15 depressor lines
    w = Window(x, y, px, cy_ - 0.07, cy_ + 0.14, cx_ + 0.09)
    dimple = coverage(segment_sdf(w.ax, w.y, cx_ + 0.03, cy_ - 0.03, cx_ + 0.04, cy_ + 0.03, 0.011), px)
    put(w, shade(w.crop(img), 0.7 * g.a14 * dimple))
    depressor = coverage(segment_sdf(w.ax, w.y, cx_ + 0.01, cy_ + 0.015, cx_ + 0.035, cy_ + 0.1, 0.007), px)
    put(w, shade(w.crop(img), 0.38 * g.a15 * depressor))

    # chin: mentolabial sulcus, chin boss (AU17 wrinkles), jaw follows AU26
    _, lip_bottom = shapes.lip_extent(g)
    w = Window(x, y, px, lip_bottom + 0.045 - 0.1, lip_bottom + 0.045 + 0.1, 0.2)
    sulcus = ellipse_sdf(w.x, w.y, 0.0, lip_bottom + 0.045, 0.08, 0.014)
    put(w, shade(w.crop(img), (0.12 + 0.22 * g.a17) * soft(sulcus, 0.03)))
    chin_y = g.face_cy + g.face_bottom - 0.12
    w = Window(x, y, px, chin_y - 0.15, chin_y + 0.15, 0.2)
    boss = soft(ellipse_sdf(w.x, w.y, 0.0, chin_y, 0.1, 0.07), 0.05)
    pits = torch.relu(torch.sin(w.x * 70.0) * torch.sin((w.y - chin_y) * 70.0 + 1.0))
    put(w, shade(w.crop(img), (0.35 * g.a17 * pits - 0.05) * boss))

    # hair over the forehead
    w = Window(x, y, px, -2.0, g.hairline + 1.75 * (g.eye_y - 0.02 - g.hairline) + g.hair_part.abs() * 1.2 + 0.05, 2.0)
    put(w, over(w.crop(img), w.crop(hair_px) * 1.05, coverage(shapes.top_hair_sdf(g, w.x, w.y), px)))

    # lighting: level and a soft left-right gradient
    level, light_x = identity_light
    light = level * (1.0 + light_x * 0.2 * x)
    img = img * light.unsqueeze(1)
    return img.clamp(0.0, 1.0)
