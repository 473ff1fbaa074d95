"""Training data for the generator trainer: sources are functions (batch, rng) -> images [N, 3, R, R].

SynthFACS is procedural, so faces can be rendered fresh every batch (:func:`synthfacs_source`),
but rendering costs about as much CPU as a training step. The usual path is a **render pool**:
faces rendered once, in numbered chunks of ``chunk_size`` (``chunk_00000.npz``: ``images``
uint8 [n, R, R, 3], ``aus`` [n, 16], ``identity`` [n, D]), deterministic per chunk
(seed = ``base_seed + chunk index``), written atomically, so the pool can grow in a background
process while a training reads it (:func:`pool_source` rescans for new chunks).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from aufx.imageio import from_uint8, to_uint8

DEFAULT_POOL_DIR = "~/.cache/aufx/synthfacs_pool"


def synthfacs_source(size: int = 64):
    """Fresh SynthFACS renders every batch; each batch's seed comes from the trainer's RNG."""
    from aufx.synthfacs import render, sample_params

    def source(batch: int, rng: np.random.Generator) -> torch.Tensor:
        params = sample_params(batch, seed=int(rng.integers(0, 2**31 - 1)))
        return render(params.aus, params.identity, size=size, with_parts=False).images

    return source


def chunk_path(pool_dir: str | os.PathLike, index: int) -> Path:
    return Path(pool_dir).expanduser() / f"chunk_{index:05d}.npz"


def build_pool(
    pool_dir: str | os.PathLike,
    n_chunks: int,
    chunk_size: int = 1000,
    size: int = 64,
    base_seed: int = 1_000_000,
    progress: bool = True,
) -> list[Path]:
    """Render chunks ``0 .. n_chunks-1`` that are not on disk yet; returns every chunk path."""
    from tqdm import tqdm

    from aufx.synthfacs import render, sample_params

    pool_dir = Path(pool_dir).expanduser()
    pool_dir.mkdir(parents=True, exist_ok=True)
    paths = [chunk_path(pool_dir, i) for i in range(n_chunks)]
    todo = [i for i, path in enumerate(paths) if not path.is_file()]
    for index in tqdm(todo, desc="render pool", unit="chunk", disable=not progress):
        params = sample_params(chunk_size, seed=base_seed + index)
        images = []
        for start in range(0, chunk_size, 250):
            out = render(params.aus[start : start + 250], params.identity[start : start + 250], size=size, with_parts=False)
            images.append(to_uint8(out.images))
        tmp = paths[index].with_name(paths[index].stem + ".tmp.npz")
        np.savez(tmp, images=np.concatenate(images), aus=params.aus, identity=params.identity)
        os.replace(tmp, paths[index])
    return paths


def pool_source(pool_dir: str | os.PathLike, rescan_every: int = 200):
    """Random batches from the chunks present in ``pool_dir`` (rescanned every ``rescan_every`` calls)."""
    pool_dir = Path(pool_dir).expanduser()
    state: dict = {"calls": 0, "loaded": {}, "images": None}

    def rescan() -> None:
        for path in sorted(pool_dir.glob("chunk_[0-9][0-9][0-9][0-9][0-9].npz")):
            if path.name not in state["loaded"]:
                with np.load(path) as data:
                    state["loaded"][path.name] = data["images"]
        if not state["loaded"]:
            raise FileNotFoundError(f"{pool_dir}: no rendered chunks; run `aufx train pool` first")
        state["images"] = np.concatenate(list(state["loaded"].values()))

    def source(batch: int, rng: np.random.Generator) -> torch.Tensor:
        if state["images"] is None or state["calls"] % rescan_every == 0:
            rescan()
        state["calls"] += 1
        images = state["images"]
        return from_uint8(images[rng.integers(0, len(images), size=batch)])

    return source
