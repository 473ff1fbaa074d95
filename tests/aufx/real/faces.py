"""Test material for the real-face path: a hand-built 68-point face and SynthFACS 'photographs'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def template_landmarks(cx: float = 100.0, cy: float = 100.0, scale: float = 1.0) -> np.ndarray:
    """An upright frontal face in iBUG 68-point order, [68, 2] (x, y).

    Eye centres at (cx ∓ 20s, cy − 10s), mouth corners at (cx ∓ 16s, cy + 25s): for cx = cy = 100,
    s = 1 the FFHQ quad is the square from (20, 13.5) to (180, 173.5) (hand-computed in the tests).
    """
    s = scale
    t = np.linspace(np.pi, 0, 17)  # jaw from the image's left ear round the chin to the right
    jaw = np.stack([cx + 45 * s * np.cos(t), cy - 5 * s + 60 * s * np.sin(t)], axis=1)
    bx = np.linspace(-32, -8, 5)
    brow_r = np.stack([cx + bx * s, cy - 22 * s - 3 * s * np.sin(np.linspace(0, np.pi, 5))], axis=1)
    brow_l = np.stack([cx - bx[::-1] * s, cy - 22 * s - 3 * s * np.sin(np.linspace(0, np.pi, 5))], axis=1)
    bridge = np.stack([np.full(4, cx), cy + np.linspace(-10, 5, 4) * s], axis=1)
    nostrils = np.stack([cx + np.linspace(-8, 8, 5) * s, np.full(5, cy + 10 * s)], axis=1)

    def eye(ex: float) -> np.ndarray:  # corner, two upper lid points, corner, two lower lid points
        dx = np.array([-8.0, -3.0, 3.0, 8.0, 3.0, -3.0]) * s
        dy = np.array([0.0, -3.0, -3.0, 0.0, 3.0, 3.0]) * s
        return np.stack([ex + dx, cy - 10 * s + dy], axis=1)

    a = np.linspace(np.pi, -np.pi, 12, endpoint=False)  # from the left corner, clockwise on screen
    outer = np.stack([cx + 16 * s * np.cos(a), cy + 25 * s - 6 * s * np.sin(a)], axis=1)
    b = np.linspace(np.pi, -np.pi, 8, endpoint=False)
    inner = np.stack([cx + 11 * s * np.cos(b), cy + 25 * s - 2 * s * np.sin(b)], axis=1)
    lm = np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eye(cx - 20 * s), eye(cx + 20 * s), outer, inner])
    assert lm.shape == (68, 2)
    return lm


def rotate_points(points: np.ndarray, degrees: float, centre: tuple[float, float]) -> np.ndarray:
    """Rotate (x, y) points about ``centre`` the way ``PIL.Image.rotate(degrees, center=centre)``
    turns the picture (counter-clockwise on screen)."""
    a = np.deg2rad(degrees)
    c = np.asarray(centre, dtype=np.float64)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return (np.asarray(points) - c) @ rot.T + c


def synthfacs_photos(folder: Path, n: int = 2, size: int = 256, seed: int = 3) -> list[Path]:
    """Render ``n`` SynthFACS faces at ``size`` px as PNG 'photographs' (dlib detects these faces)."""
    from aufx.synthfacs import render, sample_params

    params = sample_params(n, seed=seed)
    images = render(params.aus, params.identity, size=size).images
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        array = ((image.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)
        path = folder / f"face{i}.png"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths
