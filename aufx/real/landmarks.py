"""Faces and their 68 landmarks in a photograph (dlib HOG detector + iBUG 68-point predictor).

Landmark arrays are float64 ``[68, 2]`` of (x, y) pixel indices in the image they were found in.
Index groups follow the iBUG 300-W convention (``LANDMARK_GROUPS``); "left"/"right" there are the
image's left/right (points 36–41 are the eye on the image's left, the subject's right eye).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aufx.real.dlib_models import face_detector, landmark_predictor

N_LANDMARKS = 68

#: iBUG 68-point index ranges (start, stop).
LANDMARK_GROUPS: dict[str, tuple[int, int]] = {
    "jaw": (0, 17),
    "brow_image_left": (17, 22),
    "brow_image_right": (22, 27),
    "nose_bridge": (27, 31),
    "nostrils": (31, 36),
    "eye_image_left": (36, 42),
    "eye_image_right": (42, 48),
    "mouth_outer": (48, 60),
    "mouth_inner": (60, 68),
}


@dataclass
class Face:
    """One detected face: detector box (left, top, right, bottom) in pixels, its score, landmarks [68, 2]."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray


def read_photo(path: str | os.PathLike) -> Image.Image:
    """Open an image file as RGB, turned upright by its EXIF orientation (as phones store photos);
    FileNotFoundError / ValueError with a one-line reason naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such photo")
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: not an image file Pillow can read ({type(error).__name__})") from None


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Validate and return landmarks as float64 [68, 2]."""
    array = np.asarray(landmarks, dtype=np.float64)
    if array.shape != (N_LANDMARKS, 2) or not np.isfinite(array).all():
        raise ValueError(f"landmarks must be a finite [68, 2] array of (x, y), got shape {list(array.shape)}")
    return array


def detect_faces(image: Image.Image | np.ndarray, upsample: int = 1, threshold: float = 0.0) -> list[Face]:
    """Faces in an RGB image (PIL or uint8 [H, W, 3]), largest first, each with its 68 landmarks.

    ``upsample``: times the detector doubles the image to find small faces (dlib's default 1).
    ``threshold``: detector score cut (0 = dlib's default).
    """
    array = np.ascontiguousarray(np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.uint8))
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {list(array.shape)}")
    if upsample < 0:
        raise ValueError(f"upsample must be >= 0, got {upsample}")
    boxes, scores, _ = face_detector().run(array, upsample, threshold)
    faces = []
    for box, score in zip(boxes, scores, strict=True):
        shape = landmark_predictor()(array, box)
        points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(N_LANDMARKS)], dtype=np.float64)
        faces.append(Face((box.left(), box.top(), box.right(), box.bottom()), float(score), points))
    faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return faces
