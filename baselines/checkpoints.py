"""Reading checkpoints safely: the authors' plain state dicts and aufx's baseline bundle format.

aufx's bundle (written by the trainers' ``export``)::

    {"format": "aufx-baseline", "version": 1, "method": "stargan", "config": {...},
     "state_dict": {...}, "extra": {name: state_dict, ...}, "metadata": {...}}

Everything loads with ``torch.load(weights_only=True)``: no code in a checkpoint runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aufx.files import save_torch, stored_tensor
from aufx.gan.checkpoint import CheckpointError, load_state_dict_strict

BUNDLE_FORMAT = "aufx-baseline"
BUNDLE_VERSION = 1

__all__ = [
    "BUNDLE_FORMAT", "CheckpointError", "is_bundle", "latest_in_dir", "load_bundle", "load_into",
    "read_torch_file", "save_bundle", "strip_prefix",
]  # fmt: skip


def read_torch_file(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` with errors that name the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or code-carrying files
        raise CheckpointError(f"{path}: not a readable weights-only torch file ({type(error).__name__}: {error})") from None


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Drop a ``DataParallel`` prefix when every key carries it."""
    keys = list(state_dict)
    if keys and all(k.startswith(prefix) for k in keys):
        return {k[len(prefix):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def as_state_dict(payload: Any, source: str) -> dict[str, torch.Tensor]:
    """Check that a loaded payload is a flat ``{str: Tensor}`` state dict."""
    if not isinstance(payload, Mapping) or not payload:
        raise CheckpointError(f"{source}: expected a state dict (a mapping of tensors), got {type(payload).__name__}")
    bad = [k for k, v in payload.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{source}: not a plain state dict; non-tensor entries: {', '.join(map(str, bad[:6]))}")
    return strip_prefix(payload)


def load_into(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Strict load; a mismatch raises :class:`CheckpointError` naming missing/unexpected/mis-shaped keys."""
    load_state_dict_strict(module, dict(state_dict), source)


def latest_in_dir(directory: Path, pattern: str) -> Path:
    """The file in ``directory`` matching ``pattern`` (a regex with one number group) with the largest number."""
    regex = re.compile(pattern)
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := regex.fullmatch(p.name))]
    if not found:
        raise CheckpointError(f"{directory}: no checkpoint matching {pattern!r}")
    return max(found)[1]


def is_bundle(payload: Any) -> bool:
    return isinstance(payload, Mapping) and payload.get("format") == BUNDLE_FORMAT


def save_bundle(path: str | os.PathLike, method: str, config: Mapping, state_dict: Mapping,
                metadata: Mapping | None = None, extra: Mapping[str, Mapping] | None = None,
                half: bool = False) -> Path:  # fmt: skip
    """Write an aufx baseline bundle atomically (tensors cloned to CPU; float32 stored as float16 if ``half``).

    Loading casts back to the network's float32 parameters (``load_state_dict`` copies with a cast).
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "method": method, "config": dict(config),
        "state_dict": {k: stored_tensor(v, half) for k, v in state_dict.items()},
        "extra": {name: {k: stored_tensor(v, half) for k, v in sd.items()} for name, sd in (extra or {}).items()},
        "metadata": {**dict(metadata or {}), "stored_dtype": "float16" if half else "float32"},
    }  # fmt: skip
    return save_torch(payload, path)


def load_bundle(payload: Mapping, method: str, source: str) -> Mapping:
    """Validate a loaded bundle for ``method``; returns it."""
    if payload.get("version") != BUNDLE_VERSION:
        raise CheckpointError(f"{source}: aufx-baseline version {payload.get('version')!r} is not supported")
    if payload.get("method") != method:
        raise CheckpointError(f"{source}: this bundle holds method {payload.get('method')!r}, not {method!r}")
    for key in ("config", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{source}: bundle has no {key!r} entry")
    return payload
