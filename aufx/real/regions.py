"""Facial-part maps of real faces, rasterised from the 68 landmarks.

The labels are SynthFACS's (:data:`aufx.synthfacs.parts.PART_NAMES`) so that the one AU → parts
table (:data:`aufx.edit.au_parts.AU_PARTS`) and :func:`aufx.edit.au_parts.region_mask` apply to
photographs unchanged. ``left_*`` is the subject's left (the image's right: iBUG points 22–26 and
42–47). Polygons, in units of the inter-ocular distance d (between eye centres) and the face's
up vector u (from the mouth to the eyes):

- ``skin``: the jaw line (0–16) closed over the forehead's top edge;
- ``forehead``: the brows (17–26) up to 0.6·d above them;
- brows: each brow's five points widened by ±0.12·d across the face;
- eyes: an ellipse per eye, along its corners, semi-axes 0.75×/0.55× the eye's width;
- ``nose``: bridge top (27) ±0.15·d, the nostril wings (31, 35) pushed out by 0.1·d, the tip (33);
- cheeks: eye's lower lid, nose wing, mouth corner and the jaw points beside them;
- ``chin``: the jaw from 4 to 12 closed under the mouth corners;
- ``mouth``: the outer lip contour (48–59) scaled by 1.3 about its centre.

Later parts overwrite earlier ones in that order, so eyes and mouth win where polygons overlap.
Pixels outside the face are ``background`` (hair, neck and clothes are not located).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from aufx.edit.au_parts import region_mask
from aufx.real.landmarks import check_landmarks
from aufx.synthfacs.parts import PART_INDEX


def _polygons(lm: np.ndarray) -> list[tuple[str, np.ndarray]]:
    eye_r_img, eye_l_img = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    d = float(np.hypot(*(eye_l_img - eye_r_img)))
    up = (eye_r_img + eye_l_img) / 2 - (lm[48] + lm[54]) / 2
    up = up / max(float(np.hypot(*up)), 1e-9)
    across = np.array([-up[1], up[0]])  # towards the image's right for an upright face
    if across[0] < 0:
        across = -across

    brows = lm[17:27]
    forehead_top = brows[::-1] + 0.6 * d * up
    skin = np.concatenate([lm[0:17], forehead_top])
    forehead = np.concatenate([brows, forehead_top])

    def brow(points: np.ndarray) -> np.ndarray:
        return np.concatenate([points + 0.12 * d * up, points[::-1] - 0.12 * d * up])

    def eye(points: np.ndarray, n: int = 24) -> np.ndarray:
        centre = points.mean(axis=0)
        axis = points[3] - points[0]
        width = float(np.hypot(*axis))
        ex = axis / max(width, 1e-9)
        ey = np.array([-ex[1], ex[0]])
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return centre + np.outer(np.cos(t), ex) * 0.75 * width + np.outer(np.sin(t), ey) * 0.55 * width

    nose = np.stack([
        lm[27] - 0.15 * d * across, lm[31] - 0.1 * d * across, lm[33] - 0.05 * d * up,
        lm[35] + 0.1 * d * across, lm[27] + 0.15 * d * across,
    ])  # fmt: skip
    cheek_subject_right = np.stack([lm[41], lm[40], lm[31], lm[48], lm[4], lm[3], lm[2], lm[1]])
    cheek_subject_left = np.stack([lm[47], lm[46], lm[35], lm[54], lm[12], lm[13], lm[14], lm[15]])
    chin = np.concatenate([lm[4:13], lm[[54, 48]]])
    lips = lm[48:60]
    mouth = lips.mean(axis=0) + 1.3 * (lips - lips.mean(axis=0))
    return [
        ("skin", skin), ("forehead", forehead),
        ("right_cheek", cheek_subject_right), ("left_cheek", cheek_subject_left), ("chin", chin),
        ("nose", nose), ("mouth", mouth),
        ("right_brow", brow(lm[17:22])), ("left_brow", brow(lm[22:27])),
        ("right_eye", eye(lm[36:42])), ("left_eye", eye(lm[42:48])),
    ]  # fmt: skip


def part_map(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Part labels int64 [H, W] (indices into ``PART_NAMES``) of a face with landmarks [68, 2] in an
    image of ``size`` = (H, W) pixels."""
    lm = check_landmarks(landmarks)
    height, width = size
    canvas = Image.new("L", (width, height), PART_INDEX["background"])
    draw = ImageDraw.Draw(canvas)
    for name, polygon in _polygons(lm):
        draw.polygon([tuple(p) for p in polygon.tolist()], fill=PART_INDEX[name])
    return np.asarray(canvas, dtype=np.int64)


def au_region(landmarks: np.ndarray, aus: str | Sequence[str], size: tuple[int, int]) -> np.ndarray:
    """Bool mask [H, W] of the parts the AUs move (:data:`aufx.edit.au_parts.AU_PARTS`)."""
    parts = torch.from_numpy(part_map(landmarks, size))[None]
    return region_mask(parts, aus if isinstance(aus, str) else list(aus))[0].numpy()
