"""Face geometry: where every feature sits, from identity parameters and AU intensities.

:func:`face_geometry` turns identities ``[N, D]`` (0..1) and AU intensities ``[N, 16]`` (0..5)
into a :class:`Geometry` of per-face scalars (each ``[N, 1, 1]``, in normalised image units:
the image spans -1..1, ``y`` grows downwards). Symmetric features are described for the face's
right half in mirrored coordinates (``|x|``), so the renderer draws both sides at once.

Each AU moves only the features FACS attributes to it (amounts are at intensity 5; ``a = AU/5``):

- AU01 inner brow up 0.09, central forehead wrinkles; AU02 outer brow up 0.09, lateral wrinkles;
- AU04 brows down 0.05 (inner end 0.085) and 0.025 closer together, vertical glabella furrows;
- AU05 upper lid up 0.05; AU07 upper lid down 0.025 and lower lid up 0.03, tense lower lid;
- AU06 cheeks up 0.07, lower lid up 0.02, under-eye bulge, crow's feet;
- AU09 nose wrinkles, nostril wings up 0.03 and wider, deeper nasolabial folds;
- AU10 upper lip up 0.05 (teeth show), wings up 0.012, deeper and higher nasolabial folds;
- AU12 lip corners up 0.07 and out 0.035, cheeks up 0.025; AU14 dimples, corners in 0.015;
- AU15 lip corners down 0.06 with depressor lines; AU17 chin up 0.035, lower lip pushed up
  and pouting, chin-boss wrinkles; AU20 corners out 0.08, lips thinner;
- AU23 lips 55 % thinner and 0.025 narrower; AU25 lips apart 0.05; AU26 jaw (chin, lower lip)
  down 0.11-0.12.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from aufx.aus import AU_INDEX
from aufx.synthfacs.identity import IDENTITY_INDEX

Tensor = torch.Tensor


@dataclass
class Geometry:
    """Per-face feature placement; every field ``[N, 1, 1]`` float32 in image units (or 0..1 for ``a*``)."""

    # AU amounts a = intensity / 5
    a01: Tensor; a02: Tensor; a04: Tensor; a05: Tensor; a06: Tensor; a07: Tensor  # noqa: E702
    a09: Tensor; a10: Tensor; a12: Tensor; a14: Tensor; a15: Tensor; a17: Tensor  # noqa: E702
    a20: Tensor; a23: Tensor; a25: Tensor; a26: Tensor  # noqa: E702
    # face outline
    face_cy: Tensor; face_w: Tensor; face_top: Tensor; face_bottom: Tensor; jaw_power: Tensor  # noqa: E702
    # hair
    hairline: Tensor; hair_part: Tensor; hair_volume: Tensor; hair_bottom: Tensor  # noqa: E702
    # eyes (mirrored: centre at |x| = eye_x)
    eye_x: Tensor; eye_y: Tensor; eye_w: Tensor; lid_up: Tensor; lid_low: Tensor  # noqa: E702
    lid_up_neutral: Tensor; iris_r: Tensor  # noqa: E702
    # brows (mirrored: from |x| = brow_in to brow_out)
    brow_in: Tensor; brow_out: Tensor; brow_y: Tensor; brow_arch: Tensor; brow_th: Tensor  # noqa: E702
    brow_neutral_y: Tensor  # noqa: E702
    # nose
    nose_tip: Tensor; nose_w: Tensor; wing_y: Tensor; wing_r: Tensor  # noqa: E702
    # mouth
    mouth_y: Tensor; mouth_w: Tensor; corner_dy: Tensor; upper_th: Tensor; lower_th: Tensor  # noqa: E702
    open_up: Tensor; open_low: Tensor; lip_raise: Tensor  # noqa: E702
    # cheeks and chin
    cheek_y: Tensor; jaw_shift: Tensor; blush: Tensor  # noqa: E702

    def to(self, device: torch.device) -> Geometry:
        return Geometry(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def face_geometry(aus: Tensor, identity: Tensor) -> Geometry:
    """Feature placement for ``aus`` ``[N, 16]`` (0..5) and ``identity`` ``[N, D]`` (0..1)."""

    def au(code: str) -> Tensor:
        return (aus[:, AU_INDEX[code]] / 5.0).view(-1, 1, 1)

    def ip(name: str) -> Tensor:
        return identity[:, IDENTITY_INDEX[name]].view(-1, 1, 1)

    a01, a02, a04, a05, a06, a07 = au("AU01"), au("AU02"), au("AU04"), au("AU05"), au("AU06"), au("AU07")
    a09, a10, a12, a14, a15, a17 = au("AU09"), au("AU10"), au("AU12"), au("AU14"), au("AU15"), au("AU17")
    a20, a23, a25, a26 = au("AU20"), au("AU23"), au("AU25"), au("AU26")

    face_cy = torch.full_like(a01, 0.03)
    face_w = 0.50 + 0.12 * ip("face_width")
    face_top = 0.74 + 0.08 * ip("face_length")
    jaw_shift = 0.11 * a26 - 0.035 * a17
    face_bottom = 0.68 + 0.08 * ip("face_length") + jaw_shift
    jaw_power = 1.9 + 1.0 * ip("jaw_square")

    eye_y = -0.10 + 0.06 * (ip("eye_height") - 0.5)
    eye_x = 0.20 + 0.06 * ip("eye_spacing")
    eye_w = 0.095 + 0.03 * ip("eye_size")
    lid_up_neutral = 0.050 + 0.014 * ip("eye_size")
    lid_up = (lid_up_neutral + 0.05 * a05 - 0.025 * a07 - 0.008 * a06 - 0.008 * a04).clamp_min(0.01)
    lid_low = (0.040 + 0.01 * ip("eye_size") - 0.02 * a06 - 0.03 * a07).clamp_min(0.006)
    iris_r = 0.048 + 0.012 * ip("eye_size")

    brow_neutral_y = eye_y - 0.13 - 0.04 * ip("brow_height")
    brow_in = 0.065 - 0.025 * a04
    brow_out = eye_x + eye_w + 0.045
    brow_arch = 0.01 + 0.04 * ip("brow_arch")
    brow_th = 0.036 + 0.03 * ip("brow_thickness")

    nose_tip = eye_y + 0.22 + 0.08 * ip("nose_length")
    nose_w = 0.055 + 0.03 * ip("nose_width")
    wing_y = nose_tip - 0.03 * a09 - 0.012 * a10
    wing_r = 0.034 + 0.015 * a09

    mouth_y = nose_tip + 0.17 + 0.04 * (ip("mouth_height") - 0.5) - 0.02 * a17
    mouth_w = (0.15 + 0.05 * ip("mouth_width") + 0.035 * a12 + 0.08 * a20 - 0.025 * a23
               - 0.015 * a14 - 0.02 * a26)  # fmt: skip
    corner_dy = -0.07 * a12 + 0.06 * a15 + 0.015 * a17 + 0.01 * a20
    thin = (1.0 - 0.55 * a23) * (1.0 - 0.3 * a20)
    upper_th = (0.03 + 0.02 * ip("lip_thickness")) * thin
    lower_th = (0.04 + 0.025 * ip("lip_thickness")) * thin * (1.0 + 0.25 * a17)
    open_up = 0.3 * 0.05 * a25
    open_low = 0.7 * 0.05 * a25 + 0.12 * a26
    lip_raise = 0.05 * a10 + 0.012 * a09

    cheek_y = eye_y + 0.21 - 0.07 * a06 - 0.025 * a12

    hairline = brow_neutral_y - 0.12 - 0.2 * ip("hairline")
    hair_part = 0.12 * (ip("hair_part") - 0.5)
    hair_volume = 0.02 + 0.1 * ip("hair_volume")
    hair_bottom = -0.2 + 1.3 * ip("hair_length")

    return Geometry(
        a01=a01, a02=a02, a04=a04, a05=a05, a06=a06, a07=a07, a09=a09, a10=a10, a12=a12, a14=a14,
        a15=a15, a17=a17, a20=a20, a23=a23, a25=a25, a26=a26,
        face_cy=face_cy, face_w=face_w, face_top=face_top, face_bottom=face_bottom, jaw_power=jaw_power,
        hairline=hairline, hair_part=hair_part, hair_volume=hair_volume, hair_bottom=hair_bottom,
        eye_x=eye_x, eye_y=eye_y, eye_w=eye_w, lid_up=lid_up, lid_low=lid_low,
        lid_up_neutral=lid_up_neutral, iris_r=iris_r,
        brow_in=brow_in, brow_out=brow_out, brow_y=brow_neutral_y, brow_arch=brow_arch,
        brow_th=brow_th, brow_neutral_y=brow_neutral_y,
        nose_tip=nose_tip, nose_w=nose_w, wing_y=wing_y, wing_r=wing_r,
        mouth_y=mouth_y, mouth_w=mouth_w, corner_dy=corner_dy, upper_th=upper_th, lower_th=lower_th,
        open_up=open_up, open_low=open_low, lip_raise=lip_raise,
        cheek_y=cheek_y, jaw_shift=jaw_shift, blush=ip("blush"),
    )  # fmt: skip
