"""Image conversions shared by every command: tensors in [-1, 1] <-> uint8 arrays, PNGs, grids.

The float -> uint8 rule is NVIDIA generate.py's: ``(x * 127.5 + 128).clamp(0, 255)`` truncated,
so aufx and the official script write the same pixels for the same image tensor.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] (or [3, H, W]) float in [-1, 1] -> uint8 [N, H, W, 3] (or [H, W, 3])."""
    x = (images.detach().float().cpu() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.movedim(-3, -1).numpy()


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] or [H, W, 3] -> float [N, 3, H, W] / [3, H, W] in [-1, 1]."""
    x = torch.from_numpy(np.array(array, dtype=np.float32))  # a writable copy, also of read-only arrays
    return (x.movedim(-1, -3) - 127.5) / 127.5


def load_image(path: str | os.PathLike, size: int | None = None) -> torch.Tensor:
    """Read an image file as [3, H, W] in [-1, 1], optionally resized (Lanczos) to size×size."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        image = Image.open(path).convert("RGB")
    except OSError as error:
        raise ValueError(f"{path}: not a readable image ({error})") from None
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.LANCZOS)
    return from_uint8(np.asarray(image))


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write one [3, H, W] image in [-1, 1] as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(image)).save(path)
    return path


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """[N, 3, H, W] in [-1, 1] -> one uint8 [rows·(H+p)-p... , 3] grid image, ``nrow`` per row."""
    arrays = to_uint8(images)
    n, h, w, _ = arrays.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + padding) - padding, nrow * (w + padding) - padding, 3), 255, np.uint8)
    for i, array in enumerate(arrays):
        r, c = divmod(i, nrow)
        grid[r * (h + padding) : r * (h + padding) + h, c * (w + padding) : c * (w + padding) + w] = array
    return grid


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> Path:
    """Write a grid of [N, 3, H, W] images as one PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(make_grid(images, nrow)).save(path)
    return path
