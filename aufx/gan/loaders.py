"""One entry point for every generator file: ``load_generator(spec) -> LoadedModel``.

``spec`` is a bundled model name (see :data:`BUNDLED_MODELS`, e.g. :data:`DEFAULT_MODEL`) or a path:

- ``.pkl`` / ``.pickle``: an NVIDIA stylegan2-ada-pytorch / stylegan3-repo network pickle,
  read without running the code it embeds (:mod:`aufx.gan.nvidia_pkl`);
- ``.pt`` / ``.pth`` / other: a ``torch.save`` file, loaded with ``weights_only=True``, holding
  either aufx's format (:mod:`aufx.gan.checkpoint`) or a rosinality checkpoint
  (:mod:`aufx.gan.rosinality`).

Every failure is a :class:`~aufx.gan.checkpoint.CheckpointError` with a one-line message that
names the file and the reason.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from aufx.defaults import DEFAULT_MODEL
from aufx.gan.checkpoint import CheckpointError, generator_from_aufx_payload, is_aufx_payload
from aufx.gan.networks import Generator, GeneratorConfig

#: Directory of the models shipped inside the package.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

#: Bundled model name -> file name in :data:`WEIGHTS_DIR`.
BUNDLED_MODELS: dict[str, str] = {
    DEFAULT_MODEL: "synthfacs128.pt",
}

PICKLE_SUFFIXES = (".pkl", ".pickle")

FORMAT_AUFX = "aufx"
FORMAT_NVIDIA = "nvidia-pkl"
FORMAT_ROSINALITY = "rosinality"


@dataclass
class LoadedModel:
    """A generator in eval mode, the format it was read from, and what the file said about itself."""

    generator: Generator
    format: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> GeneratorConfig:
        return self.generator.config


def resolve_spec(spec: str | os.PathLike) -> Path:
    """Bundled name -> its file; anything else -> the path. Raises if a bundled file is missing."""
    text = os.fspath(spec)
    if text in BUNDLED_MODELS:
        path = WEIGHTS_DIR / BUNDLED_MODELS[text]
        if not path.is_file():
            raise CheckpointError(
                f"{path}: bundled model {text!r} is not installed (file missing; train it with "
                "`aufx train generator` or reinstall aufx)"
            )
        return path
    path = Path(text)
    if not path.exists():
        names = ", ".join(sorted(BUNDLED_MODELS))
        raise CheckpointError(f"{path}: no such file (and not a bundled model name: {names})")
    if not path.is_file():
        raise CheckpointError(f"{path}: is a directory, not a model file")
    return path


def zipfile_head(path: Path) -> bool:
    """Whether the file starts like a zip archive (``torch.save``'s format)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"PK"


def _torch_load(path: Path) -> Any:
    from aufx.gan.rosinality import SAFE_GLOBALS

    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if "weights_only" in str(error) or "global" in str(error).lower():
            raise CheckpointError(
                f"{path}: refused: the file pickles objects other than tensors and plain data ({first[:160]})"
            ) from None
        raise CheckpointError(f"{path}: not a readable torch file ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, KeyError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        damaged = isinstance(error, (RuntimeError, EOFError)) or (
            zipfile_head(path) and not zipfile.is_zipfile(path)
        )
        reason = "truncated or corrupt" if damaged else "unreadable"
        raise CheckpointError(f"{path}: not a readable torch file, {reason} ({type(error).__name__}: {first[:160]})") from None


def load_generator(spec: str | os.PathLike) -> LoadedModel:
    """Load a StyleGAN2 generator from a bundled name or a ``.pkl`` / ``.pt`` path (see module doc)."""
    path = resolve_spec(spec)
    source = str(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        raise CheckpointError(f"{path}: empty file")
    if path.suffix.lower() in PICKLE_SUFFIXES and not head.startswith(b"PK"):
        from aufx.gan.nvidia_pkl import load_nvidia_pkl

        generator, metadata = load_nvidia_pkl(path)
        return LoadedModel(generator, FORMAT_NVIDIA, source, metadata)
    if not head.startswith(b"PK") and not head.startswith(b"\x80"):
        raise CheckpointError(f"{path}: not a model file (neither a torch .pt zip nor a pickle; starts with {head!r})")
    payload = _torch_load(path)
    if is_aufx_payload(payload):
        generator, metadata = generator_from_aufx_payload(payload, source)
        return LoadedModel(generator, FORMAT_AUFX, source, metadata)
    from aufx.gan.rosinality import generator_from_rosinality, is_rosinality_payload

    if is_rosinality_payload(payload):
        generator, metadata = generator_from_rosinality(payload, source)
        return LoadedModel(generator, FORMAT_ROSINALITY, source, metadata)
    if isinstance(payload, dict):
        keys = ", ".join(map(str, list(payload)[:8])) or "none"
        raise CheckpointError(
            f"{path}: neither an aufx generator (format='aufx-stylegan2') nor a rosinality checkpoint "
            f"('g_ema' state dict); its keys: {keys}"
        )
    raise CheckpointError(f"{path}: holds a {type(payload).__name__}, not a generator checkpoint dict")
