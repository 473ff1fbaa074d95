"""The SynthFACS renderer: AU intensities + identities -> images and facial-part label maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aufx.aus import AU_CODES, AU_MAX, AU_MIN, N_AUS
from aufx.synthfacs._raster import grid
from aufx.synthfacs.geometry import face_geometry
from aufx.synthfacs.identity import IDENTITY_INDEX, N_IDENTITY, identity_colours
from aufx.synthfacs.painter import paint
from aufx.synthfacs.parts import part_map

ArrayLike = np.ndarray | torch.Tensor

#: Framing: the face is drawn ZOOM times larger than in geometry units, shifted down by Y_OFFSET.
ZOOM: float = 1.15
Y_OFFSET: float = 0.02
#: Faces are drawn in chunks of about this many pixels, so that intermediates stay in cache.
CHUNK_PIXELS: int = 16 * 64 * 64


@dataclass
class RenderResult:
    """Rendered faces.

    Attributes:
        images: float32 ``[N, 3, size, size]`` RGB in [-1, 1].
        parts: int64 ``[N, size, size]`` indices into :data:`~aufx.synthfacs.parts.PART_NAMES`.
    """

    images: torch.Tensor
    parts: torch.Tensor


def _as_float_tensor(values: ArrayLike, name: str, columns: int) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
    tensor = tensor.detach().to("cpu", torch.float32)
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 2 or tensor.shape[1] != columns:
        raise ValueError(f"{name} must have shape [n, {columns}], got {list(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor


def check_aus(aus: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the first AU value off the 0..5 scale."""
    bad = (aus < AU_MIN - 1e-6) | (aus > AU_MAX + 1e-6)
    if bad.any():
        row, col = (int(v) for v in bad.nonzero()[0])
        raise ValueError(
            f"{AU_CODES[col]} intensity {float(aus[row, col]):g} (face {row}) is outside [{AU_MIN:g}, {AU_MAX:g}]"
        )


def render(aus: ArrayLike, identity: ArrayLike, size: int = 64, with_parts: bool = True) -> RenderResult:
    """Render faces.

    Args:
        aus: ``[N, 16]`` AU intensities on 0..5 in ``AU_CODES`` order (numpy or torch).
        identity: ``[N, D]`` identity parameters on 0..1 (``D = len(IDENTITY_NAMES)``).
        size: output side in pixels (>= 16).
        with_parts: also compute the part map (else ``parts`` is an empty ``[N, 0, 0]`` tensor).

    Returns:
        :class:`RenderResult`; all AUs at 0 give the identity's neutral face, bit for bit.
    """
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size!r}")
    a = _as_float_tensor(aus, "aus", N_AUS)
    ident = _as_float_tensor(identity, "identity", N_IDENTITY)
    if a.shape[0] != ident.shape[0]:
        raise ValueError(f"aus has {a.shape[0]} rows but identity has {ident.shape[0]}")
    check_aus(a)
    ident = ident.clamp(0.0, 1.0)
    n = a.shape[0]
    images = torch.empty((n, 3, size, size), dtype=torch.float32)
    parts = torch.zeros((n, size, size) if with_parts else (n, 0, 0), dtype=torch.int64)
    x, y, px = grid(size)
    x, y, px = x / ZOOM, y / ZOOM + Y_OFFSET, px / ZOOM
    chunk = max(1, CHUNK_PIXELS // (size * size))
    with torch.no_grad():
        for start in range(0, n, chunk):
            rows = slice(start, min(n, start + chunk))
            g = face_geometry(a[rows], ident[rows])
            colours = identity_colours(ident[rows])
            level = (0.88 + 0.2 * ident[rows, IDENTITY_INDEX["light_level"]]).view(-1, 1, 1)
            light_x = (2.0 * ident[rows, IDENTITY_INDEX["light_x"]] - 1.0).view(-1, 1, 1)
            images[rows] = paint(g, colours, (level, light_x), x, y, px) * 2.0 - 1.0
            if with_parts:
                parts[rows] = part_map(g, x, y)
    return RenderResult(images=images, parts=parts)
