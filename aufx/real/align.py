"""FFHQ-style face alignment from 68 landmarks (the recipe of NVIDIA's ffhq-dataset and stylegan2).

Re-implemented from the description of ``recreate_aligned_images`` (ffhq-dataset) /
``align_images.py`` (stylegan2):

1. **Oriented quad** (:func:`oriented_quad`): eye centres e_l, e_r (means of points 36–41,
   42–47), mouth corners (48, 54); ``eye_to_eye = e_r − e_l``, ``eye_to_mouth = mouth_mid −
   eye_mid``. The quad's half-width axis x is ``eye_to_eye`` minus ``eye_to_mouth`` rotated by −90°,
   normalised, scaled to ``max(2·|eye_to_eye|, 1.8·|eye_to_mouth|)``; y is x rotated by +90°
   (pointing down the face); centre ``c = eye_mid + 0.1·eye_to_mouth``. Corners: upper-left,
   lower-left, lower-right, upper-right; side ``qsize = 2·|x|``.
2. **Shrink**: when the quad is more than twice the output size, resize the photo down by the
   integer factor ``floor(qsize / output / 2)`` (antialiased).
3. **Crop** to the quad's bounding box plus a border of ``max(round(0.1·qsize), 3)`` px.
4. **Pad** where the quad leaves the photo: reflect-pad by at least ``round(0.3·qsize)``, blur
   the padding (Gaussian σ = 0.02·qsize, fading in over the pad) and blend it towards the
   median colour.
5. **Transform** the quad to a square of ``transform_size`` (4× the output, bilinear), then
   resize to the output size (antialiased).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage
from PIL import Image

from aufx.real.landmarks import check_landmarks


@dataclass
class Quad:
    """Oriented crop square: ``corners`` [4, 2] (upper-left, lower-left, lower-right, upper-right; x, y
    pixels), ``size`` (side length, px), ``centre`` [2], ``x``/``y`` half-side vectors [2]."""

    corners: np.ndarray
    size: float
    centre: np.ndarray
    x: np.ndarray
    y: np.ndarray


def _rot90(v: np.ndarray) -> np.ndarray:
    """Rotate (x, y) by +90° in image coordinates (y down): (x, y) -> (−y, x)."""
    return np.array([-v[1], v[0]])


def oriented_quad(landmarks: np.ndarray) -> Quad:
    """FFHQ's oriented crop square of one face from its landmarks [68, 2]."""
    lm = check_landmarks(landmarks)
    eye_l, eye_r = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_mid = (eye_l + eye_r) / 2
    eye_to_eye = eye_r - eye_l
    mouth_mid = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_mid - eye_mid
    # eye_to_mouth rotated by -90 degrees points along the eye line; add it to eye_to_eye
    axis = eye_to_eye - _rot90(eye_to_mouth)
    norm = float(np.hypot(*axis))
    if norm == 0.0:
        raise ValueError("degenerate landmarks: eyes and mouth coincide")
    half = axis / norm * max(2.0 * float(np.hypot(*eye_to_eye)), 1.8 * float(np.hypot(*eye_to_mouth)))
    down = _rot90(half)
    centre = eye_mid + 0.1 * eye_to_mouth
    corners = np.stack([centre - half - down, centre - half + down, centre + half + down, centre + half - down])
    return Quad(corners, 2.0 * float(np.hypot(*half)), centre, half, down)


def _bounds(corners: np.ndarray) -> tuple[int, int, int, int]:
    return (int(np.floor(corners[:, 0].min())), int(np.floor(corners[:, 1].min())),
            int(np.ceil(corners[:, 0].max())), int(np.ceil(corners[:, 1].max())))  # fmt: skip


def _blur_padding(array: np.ndarray, pad: tuple[int, int, int, int], qsize: float) -> np.ndarray:
    """Reflect-pad float [H, W, 3] by (left, top, right, bottom) and soften the padded area."""
    left, top, right, bottom = pad
    padded = np.pad(array, ((top, bottom), (left, right), (0, 0)), mode="reflect")
    h, w = padded.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    # 0 inside the photo, rising to 1 at the outer edge of the padding
    fade_x = 1.0 - np.minimum(xs / max(left, 1), (w - 1 - xs) / max(right, 1))
    fade_y = 1.0 - np.minimum(ys / max(top, 1), (h - 1 - ys) / max(bottom, 1))
    fade = np.maximum(fade_x, fade_y)[..., None]
    sigma = qsize * 0.02
    blurred = scipy.ndimage.gaussian_filter(padded, (sigma, sigma, 0))
    padded = padded + (blurred - padded) * np.clip(3.0 * fade + 1.0, 0.0, 1.0)
    padded = padded + (np.median(padded, axis=(0, 1)) - padded) * np.clip(fade, 0.0, 1.0)
    return padded


def align_face(photo: Image.Image, landmarks: np.ndarray, output_size: int = 1024,
               transform_size: int | None = None, padding: bool = True) -> Image.Image:  # fmt: skip
    """The aligned face (RGB, ``output_size``²) of one face of ``photo`` given its landmarks [68, 2].

    ``transform_size`` defaults to 4·output_size (FFHQ: 4096 for 1024).
    """
    if output_size < 8:
        raise ValueError(f"output size must be at least 8 px, got {output_size}")
    transform_size = 4 * output_size if transform_size is None else transform_size
    quad = oriented_quad(landmarks)
    corners, qsize = quad.corners.copy(), quad.size
    image = photo.convert("RGB")

    shrink = int(np.floor(qsize / output_size * 0.5))
    if shrink > 1:
        new_size = (int(np.rint(image.size[0] / shrink)), int(np.rint(image.size[1] / shrink)))
        image = image.resize(new_size, Image.Resampling.LANCZOS)
        corners /= shrink
        qsize /= shrink

    border = max(int(np.rint(qsize * 0.1)), 3)
    x0, y0, x1, y1 = _bounds(corners)
    crop = (max(x0 - border, 0), max(y0 - border, 0), min(x1 + border, image.size[0]), min(y1 + border, image.size[1]))
    if crop[2] - crop[0] < image.size[0] or crop[3] - crop[1] < image.size[1]:
        image = image.crop(crop)
        corners -= crop[:2]

    x0, y0, x1, y1 = _bounds(corners)
    pad = (max(border - x0, 0), max(border - y0, 0), max(x1 - image.size[0] + border, 0), max(y1 - image.size[1] + border, 0))
    if padding and max(pad) > border - 4:
        least = int(np.rint(qsize * 0.3))
        pad = tuple(max(p, least) for p in pad)
        array = _blur_padding(np.asarray(image, dtype=np.float32), pad, qsize)
        image = Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), "RGB")
        corners += pad[:2]

    image = image.transform((transform_size, transform_size), Image.Transform.QUAD,
                            tuple((corners + 0.5).flatten()), Image.Resampling.BILINEAR)  # fmt: skip
    if output_size < transform_size:
        image = image.resize((output_size, output_size), Image.Resampling.LANCZOS)
    return image


def to_aligned(points: np.ndarray, landmarks: np.ndarray, output_size: int) -> np.ndarray:
    """Map photo pixels ``points`` [K, 2] into the aligned image of the face with ``landmarks``.

    The alignment is a similarity (the quad is a square): its upper-left corner goes to (−0.5, −0.5)
    and its side to ``output_size`` px, in pixel-index coordinates (exact up to the shrink step's
    rounding, well below a pixel of the output).
    """
    quad = oriented_quad(landmarks)
    rel = np.asarray(points, dtype=np.float64) - quad.corners[0]
    ux = rel @ quad.x / (2.0 * float(quad.x @ quad.x))
    uy = rel @ quad.y / (2.0 * float(quad.y @ quad.y))
    return np.stack([ux, uy], axis=-1) * output_size - 0.5
