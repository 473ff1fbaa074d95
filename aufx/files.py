"""Atomic file writes shared by every writer: a crash or a kill mid-write leaves the old file intact.

Each writer puts the new content in a temporary file in the same folder and moves it over the
target with ``os.replace`` (atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder (flushed to disk first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_figure(fig: Any, path: str | os.PathLike, dpi: float = 120, keep_open: bool = False) -> Path:
    """Write a Matplotlib figure to ``path`` (format from its suffix) atomically, folders made as
    needed, then close it (unless ``keep_open``); returns the path."""
    import io

    path = Path(path).expanduser()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    finally:
        if not keep_open:
            import matplotlib.pyplot as plt

            plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return path


def save_torch(payload: Any, path: str | os.PathLike) -> Path:
    """``torch.save(payload)`` to ``path`` atomically (folders made as needed); returns the path."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def stored_tensor(tensor: torch.Tensor, half: bool = False) -> torch.Tensor:
    """A CPU copy of ``tensor`` to store; float32 becomes float16 when ``half`` (other dtypes kept)."""
    tensor = tensor.detach().cpu().clone()
    return tensor.half() if half and tensor.dtype == torch.float32 else tensor
