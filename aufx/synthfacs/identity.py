"""SynthFACS identity parameters: who the face is, independent of its expression.

An identity is a float32 vector of ``len(IDENTITY_NAMES)`` values, each on 0..1, sampled i.i.d.
uniform. The renderer maps each value to a physical range (face width in image units, a colour
along a palette, ...). No identity parameter depends on, or is read by, any AU effect's amount:
the AUs move features *relative to* the identity's neutral placement.
"""

from __future__ import annotations

import numpy as np
import torch

#: Identity parameters, in vector order. All on 0..1.
IDENTITY_NAMES: tuple[str, ...] = (
    "face_width", "face_length", "jaw_square", "skin_tone", "skin_warmth", "blush",
    "hair_darkness", "hair_red", "hair_length", "hair_volume", "hairline", "hair_part",
    "eye_colour", "eye_spacing", "eye_size", "eye_height",
    "brow_thickness", "brow_arch", "brow_height",
    "nose_length", "nose_width", "mouth_width", "lip_thickness", "lip_colour", "mouth_height",
    "light_x", "light_level", "background_hue", "background_level", "clothes_hue",
)  # fmt: skip

N_IDENTITY: int = len(IDENTITY_NAMES)
IDENTITY_INDEX: dict[str, int] = {name: i for i, name in enumerate(IDENTITY_NAMES)}


def sample_identity(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` identities, float32 ``[n, N_IDENTITY]``, i.i.d. uniform on 0..1."""
    return rng.random((n, N_IDENTITY), dtype=np.float64).astype(np.float32)


def _lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def _palette(colours: list[tuple[float, float, float]], t: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear colour ramp through ``colours``; ``t`` ``[N]`` on 0..1 -> ``[N, 3]``."""
    table = torch.tensor(colours, dtype=torch.float32)
    pos = t.clamp(0, 1) * (len(colours) - 1)
    lo = pos.floor().long().clamp(max=len(colours) - 2)
    frac = (pos - lo.float()).unsqueeze(1)
    return _lerp(table[lo], table[lo + 1], frac)


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """HSV (each ``[N]`` on 0..1) -> RGB ``[N, 3]`` on 0..1."""
    k = torch.tensor([5.0, 3.0, 1.0])
    kk = (k + h.unsqueeze(1) * 6.0) % 6.0
    part = torch.minimum(kk, 4.0 - kk).clamp(0.0, 1.0)
    return v.unsqueeze(1) - v.unsqueeze(1) * s.unsqueeze(1) * part


def identity_colours(identity: torch.Tensor) -> dict[str, torch.Tensor]:
    """Colours of one batch of identities ``[N, D]``: each entry ``[N, 3]`` RGB on 0..1."""
    p = {name: identity[:, i] for i, name in enumerate(IDENTITY_NAMES)}
    light = torch.tensor([0.97, 0.82, 0.71])
    dark = torch.tensor([0.36, 0.23, 0.16])
    tone = p["skin_tone"].unsqueeze(1)
    skin = _lerp(light, dark, tone)
    warmth = (p["skin_warmth"] - 0.5).unsqueeze(1) * torch.tensor([0.05, 0.0, -0.06])
    skin = (skin + warmth).clamp(0, 1)
    hair = _palette(
        [(0.86, 0.72, 0.45), (0.62, 0.45, 0.25), (0.36, 0.23, 0.13), (0.17, 0.11, 0.07),
         (0.07, 0.06, 0.05)],
        p["hair_darkness"],
    )  # fmt: skip
    red = (p["hair_red"].clamp(min=0.6) - 0.6).unsqueeze(1) * 2.5 * (1 - p["hair_darkness"]).unsqueeze(1)
    hair = (hair + red * torch.tensor([0.14, -0.02, -0.07])).clamp(0, 1)
    brow = torch.minimum(hair * 0.45 + skin * 0.1, skin * 0.6)  # brows stay darker than the skin (visible AU01/02/04)
    eye = _palette(
        [(0.30, 0.48, 0.70), (0.36, 0.52, 0.34), (0.45, 0.30, 0.14), (0.22, 0.13, 0.07)],
        p["eye_colour"],
    )
    lip_red = torch.tensor([0.72, 0.28, 0.30])
    lip = _lerp(skin * torch.tensor([0.88, 0.62, 0.62]), lip_red, 0.25 + 0.45 * p["lip_colour"].unsqueeze(1))
    background = hsv_to_rgb(p["background_hue"], torch.full_like(p["background_hue"], 0.22),
                            0.45 + 0.4 * p["background_level"])  # fmt: skip
    clothes_value = 0.25 + 0.4 * torch.frac(p["clothes_hue"] * 5.3)
    clothes = hsv_to_rgb(p["clothes_hue"], torch.full_like(p["clothes_hue"], 0.5), clothes_value)
    return {"skin": skin, "hair": hair, "brow": brow, "eye": eye, "lip": lip,
            "background": background, "clothes": clothes}  # fmt: skip
