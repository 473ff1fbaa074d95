"""aufx's own generator file format: a ``.pt`` holding a plain dict.

    {"format": "aufx-stylegan2", "version": 1, "config": GeneratorConfig.to_dict(),
     "state_dict": {name: tensor}, "metadata": {...}}

It loads with ``torch.load(weights_only=True)``: no code runs on load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from aufx.files import save_torch, stored_tensor
from aufx.gan.networks import Generator, GeneratorConfig

AUFX_FORMAT = "aufx-stylegan2"
AUFX_VERSION = 1


class CheckpointError(ValueError):
    """A model file that cannot be used; the message names the file and the reason."""


def save_aufx(
    generator: Generator, path: str | os.PathLike, metadata: dict[str, Any] | None = None, half: bool = False
) -> Path:
    """Write ``generator`` in aufx format atomically (temp file + rename); returns the path.

    With ``half``, floating-point weights are stored as float16 (half the file; loading casts them
    back to float32); see :mod:`aufx.gan.half` for what that changes in the images."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": AUFX_FORMAT,
        "version": AUFX_VERSION,
        "config": generator.config.to_dict(),
        "state_dict": {k: stored_tensor(v, half) for k, v in generator.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    return save_torch(payload, path)


def is_aufx_payload(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("format") == AUFX_FORMAT


def generator_from_aufx_payload(payload: dict, source: str = "<memory>") -> tuple[Generator, dict]:
    """Build a generator from a loaded aufx dict; returns (generator in eval mode, metadata)."""
    version = payload.get("version")
    if version != AUFX_VERSION:
        raise CheckpointError(f"{source}: aufx format version {version!r} is not supported (expected {AUFX_VERSION})")
    for key in ("config", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{source}: aufx file has no {key!r} entry")
    try:
        config = GeneratorConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: bad generator config: {error}") from None
    generator = Generator(config)
    load_state_dict_strict(generator, payload["state_dict"], source)
    return generator.eval().requires_grad_(False), dict(payload.get("metadata", {}))


def load_state_dict_strict(module: torch.nn.Module, state_dict: dict, source: str) -> None:
    """Load a state dict, raising :class:`CheckpointError` that names missing/unexpected/mis-shaped keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = sorted(
        f"{k} {list(state_dict[k].shape)} (expected {list(own[k].shape)})"
        for k in set(own) & set(state_dict)
        if tuple(own[k].shape) != tuple(state_dict[k].shape)
    )
    problems = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", shapes)):
        if keys:
            shown = ", ".join(keys[:6]) + (f", ... ({len(keys)} in all)" if len(keys) > 6 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise CheckpointError(f"{source}: weights do not fit the architecture; " + "; ".join(problems))
    module.load_state_dict(state_dict)


def load_aufx(path: str | os.PathLike) -> tuple[Generator, dict]:
    """Load an aufx-format generator file; returns (generator, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt zips
        raise CheckpointError(f"{path}: not a readable torch file ({type(error).__name__}: {error})") from None
    if not is_aufx_payload(payload):
        raise CheckpointError(f"{path}: not an aufx generator file (no format={AUFX_FORMAT!r} entry)")
    return generator_from_aufx_payload(payload, str(path))
