"""Write a SynthFACS data set to disk: PNG images, PNG part maps and ``labels.csv``.

Layout of ``out/``::

    images/000000.png ...   RGB renders
    parts/000000.png ...    part maps, 8-bit palette PNGs whose pixel values index PART_NAMES
    labels.csv              image, AU01..AU26 (0..5), id_0..id_{D-1} (identity, 0..1)
    parts.json              {"part_names": [...], "identity_names": [...], "size": S, "seed": S}

Rendering is split into chunks that worker processes render independently; the files depend
only on ``n``, ``seed`` and ``size``, never on the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from aufx.aus import AU_CODES
from aufx.synthfacs.identity import IDENTITY_NAMES
from aufx.synthfacs.parts import PART_NAMES
from aufx.synthfacs.sampling import FaceParams, sample_params

#: Faces per worker task.
CHUNK: int = 256


def part_palette() -> list[int]:
    """A fixed 256-entry RGB palette (flat list) that makes part maps readable in an image viewer."""
    rng = np.random.default_rng(7)
    colours = (rng.random((256, 3)) * 200 + 40).astype(np.uint8)
    colours[0] = (0, 0, 0)
    return colours.reshape(-1).tolist()


def image_name(index: int) -> str:
    return f"{index:06d}.png"


def to_uint8(images) -> np.ndarray:
    """``[N, 3, H, W]`` images in [-1, 1] (torch) -> ``[N, H, W, 3]`` uint8."""
    return ((images.clamp(-1, 1) + 1.0) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def _render_chunk(task: tuple[np.ndarray, np.ndarray, int, int, str]) -> int:
    """Render and write faces ``start ..`` of one chunk; returns how many were written."""
    import torch
    from PIL import Image

    from aufx.synthfacs.renderer import render

    aus, identity, start, size, out = task
    torch.set_num_threads(1)
    result = render(aus, identity, size=size)
    pixels = to_uint8(result.images)
    parts = result.parts.numpy().astype(np.uint8)
    palette = part_palette()
    root = Path(out)
    for i in range(len(aus)):
        name = image_name(start + i)
        Image.fromarray(pixels[i]).save(root / "images" / name)
        part_img = Image.fromarray(parts[i], mode="P")
        part_img.putpalette(palette)
        part_img.save(root / "parts" / name)
    return len(aus)


def labels_frame(params: FaceParams) -> pd.DataFrame:
    """``labels.csv`` as a DataFrame: ``image``, the 16 AU columns, ``id_0`` ... ``id_{D-1}``."""
    frame = pd.DataFrame({"image": [f"images/{image_name(i)}" for i in range(len(params))]})
    for j, code in enumerate(AU_CODES):
        frame[code] = params.aus[:, j].astype(np.float64).round(4)
    for j in range(params.identity.shape[1]):
        frame[f"id_{j}"] = params.identity[:, j].astype(np.float64).round(6)
    return frame


def write_dataset(n: int, out: str | Path, size: int = 64, seed: int = 0, workers: int = 1,
                  progress: Callable[[int], None] | None = None) -> FaceParams:  # fmt: skip
    """Render ``n`` faces from ``sample_params(n, seed)`` into ``out``; returns their parameters.

    ``progress`` (if given) is called with the number of faces finished by each chunk. The
    identity stored in ``labels.csv`` is rounded to 6 decimals; images are rendered from the
    unrounded float32 values.
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ValueError(f"--out {str(root)!r} exists and is not a directory")
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "parts").mkdir(parents=True, exist_ok=True)
    params = sample_params(n, seed)
    tasks = [(params.aus[s : s + CHUNK], params.identity[s : s + CHUNK], s, size, str(root))
             for s in range(0, n, CHUNK)]  # fmt: skip
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            done = _render_chunk(task)
            if progress is not None:
                progress(done)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for done in pool.map(_render_chunk, tasks):
                if progress is not None:
                    progress(done)
    labels_frame(params).to_csv(root / "labels.csv", index=False)
    meta = {"part_names": list(PART_NAMES), "identity_names": list(IDENTITY_NAMES),
            "au_codes": list(AU_CODES), "size": size, "seed": seed, "n": n}  # fmt: skip
    (root / "parts.json").write_text(json.dumps(meta, indent=2))
    return params
