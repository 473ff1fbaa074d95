"""Training data for the baselines: a render pool of SynthFACS faces with AU and emotion labels.

The pool is one ``.npz`` (``images`` uint8 ``[n, S, S, 3]``, ``aus`` float32 ``[n, 16]``,
``labels`` int64 ``[n]``) rendered once, deterministically from its seed, in the trainer's cache
(default ``~/.cache/aufx/baselines/data/``). Half of the faces show one of the eight RaFD-style
classes (``labels`` 0..7 in ``aufx.aus.RAFD_EMOTIONS`` order): the class's EMFACS prototype AUs
at a base intensity ~ U(1.5, 5) plus N(0, 0.4) per AU, clipped to [0.3, 5]; neutral has no AU.
The other half follow SynthFACS's own AU distribution (``labels`` = -1), which covers single
AUs and pairs. StarGAN trains on the labelled half; GANimation and Cascade EF-GAN on all faces
with their ground-truth AU vectors (the stand-in for OpenFace annotations).

A second, optional pool (:func:`build_generated_pool`, an aufx addition since 2026-12-08) holds
faces of the bundled generator — the kind of face the comparison, the stimuli and the demo edit —
labelled as the papers label their training photographs: by an automatic AU detector (the bundled
analyzer, where they used OpenFace). A trainer with ``generated_share`` > 0 draws that share of
each batch from it (:class:`MixedPool`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aufx.aus import AU_INDEX, EMOTION_PROTOTYPES, N_AUS, RAFD_EMOTIONS, RAFD_TO_PROTOTYPE
from aufx.defaults import DEFAULT_MODEL

DEFAULT_DATA_DIR = "~/.cache/aufx/baselines/data"


def sample_emotion_aus(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces of uniformly drawn RaFD classes: (AUs float32 ``[n, 16]``, labels int64 ``[n]``)."""
    labels = rng.integers(0, len(RAFD_EMOTIONS), size=n)
    aus = np.zeros((n, N_AUS), dtype=np.float32)
    for i, label in enumerate(labels):
        prototype = RAFD_TO_PROTOTYPE[RAFD_EMOTIONS[label]]
        if prototype is None:
            continue
        base = rng.uniform(1.5, 5.0)
        for code in EMOTION_PROTOTYPES[prototype]:
            aus[i, AU_INDEX[code]] = np.clip(base + rng.normal(0.0, 0.4), 0.3, 5.0)
    return aus, labels.astype(np.int64)


#: First generator seed of the generated pool: apart from the comparison's and the studies' seeds
#: (0..N-1) and from the validation's generated faces (``baselines.validation.GENERATED_SEED``).
GENERATED_POOL_SEED = 1_000_000


def pool_path(data_dir: str | os.PathLike, n: int, size: int, seed: int) -> Path:
    return Path(data_dir).expanduser() / f"pool_s{size}_n{n}_seed{seed}.npz"


def build_pool(data_dir: str | os.PathLike, n: int, size: int, seed: int = 0, chunk: int = 250) -> Path:
    """Render the pool (if not on disk yet) and return its path; half labelled, half SynthFACS-distributed."""
    from aufx.synthfacs import render, sample_identity, sample_params

    path = pool_path(data_dir, n, size, seed)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_labelled = n // 2
    emo_aus, emo_labels = sample_emotion_aus(n_labelled, rng)
    emo_identity = sample_identity(n_labelled, rng)
    other = sample_params(n - n_labelled, seed=seed + 1)
    aus = np.concatenate([emo_aus, other.aus]).astype(np.float32)
    identity = np.concatenate([emo_identity, other.identity]).astype(np.float32)
    labels = np.concatenate([emo_labels, np.full(n - n_labelled, -1, dtype=np.int64)])
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for start in range(0, n, chunk):
        out = render(aus[start : start + chunk], identity[start : start + chunk], size=size, with_parts=False)
        images[start : start + chunk] = (out.images * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, images=images, aus=aus, labels=labels, identity=identity)
    os.replace(tmp, path)
    return path


def generated_pool_path(data_dir: str | os.PathLike, n: int, size: int, model: str) -> Path:
    return Path(data_dir).expanduser() / f"generated_{model}_s{size}_n{n}_seed{GENERATED_POOL_SEED}.npz"


def build_generated_pool(data_dir: str | os.PathLike, n: int, size: int, model: str = DEFAULT_MODEL,
                         chunk: int = 64) -> Path:  # fmt: skip
    """Generate the pool of ``n`` faces of the generator ``model`` (seeds from
    :data:`GENERATED_POOL_SEED`, ψ = 1), resized to ``size`` px (area) when its resolution differs,
    labelled by the bundled analyzer's AU estimates (clamped to 0–5; ``labels`` -1), if not on disk
    yet; return its path. Shows progress."""
    import torch.nn.functional as F
    from tqdm import tqdm

    from aufx.edit.analyzer import analyze, load_analyzer
    from aufx.gan.loaders import load_generator
    from aufx.gan.seeds import seed_latents

    path = generated_pool_path(data_dir, n, size, model)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    generator, analyzer = load_generator(model).generator, load_analyzer("synthfacs")
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    aus = np.empty((n, N_AUS), dtype=np.float32)
    with torch.no_grad():
        for start in tqdm(range(0, n, chunk), desc=f"generated pool ({model}, {n} faces)", unit="chunk"):
            seeds = range(GENERATED_POOL_SEED + start, GENERATED_POOL_SEED + min(n, start + chunk))
            faces = generator(seed_latents(generator.z_dim, seeds)).clamp(-1, 1)
            if faces.shape[-1] != size:
                faces = F.interpolate(faces, size=(size, size), mode="area")
            stored = (faces * 127.5 + 128).clamp(0, 255).to(torch.uint8)
            images[start : start + len(seeds)] = stored.permute(0, 2, 3, 1).numpy()
            aus[start : start + len(seeds)] = analyze(analyzer, (stored.float() - 127.5) / 127.5).aus.float().clamp(0, 5).numpy()
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, images=images, aus=aus, labels=np.full(n, -1, dtype=np.int64))
    os.replace(tmp, path)
    return path


@dataclass
class Batch:
    """images ``[B, 3, S, S]`` in [-1, 1]; aus ``[B, 16]`` on 0–5; labels ``[B]`` (-1: no class)."""

    images: torch.Tensor
    aus: torch.Tensor
    labels: torch.Tensor


class FacePool:
    """Random batches from a pool file; ``labelled_only`` restricts to the RaFD-class faces."""

    def __init__(self, path: str | os.PathLike, labelled_only: bool = False) -> None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no face pool; build it with baselines.data.build_pool")
        with np.load(path) as data:
            images, aus, labels = data["images"], data["aus"], data["labels"]
        if labelled_only:
            keep = labels >= 0
            images, aus, labels = images[keep], aus[keep], labels[keep]
        if len(images) == 0:
            raise ValueError(f"{path}: pool has no {'labelled ' if labelled_only else ''}faces")
        self.path = path
        self.images = torch.from_numpy(images)
        self.aus = torch.from_numpy(aus)
        self.labels = torch.from_numpy(labels)
        self.size = int(images.shape[1])

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, batch: int, rng: np.random.Generator) -> Batch:
        idx = torch.from_numpy(rng.integers(0, len(self), size=batch))
        images = (self.images[idx].permute(0, 3, 1, 2).float() - 127.5) / 127.5
        return Batch(images=images, aus=self.aus[idx].clone(), labels=self.labels[idx].clone())


class MixedPool:
    """Batches whose faces come from ``generated`` with probability ``share``, else from ``renders``
    (two :class:`FacePool` of one size); the same interface as :class:`FacePool`."""

    def __init__(self, renders: FacePool, generated: FacePool, share: float) -> None:
        if not 0.0 < share < 1.0:
            raise ValueError(f"generated share (--generated-share) must be in (0, 1) for a mixed pool, got {share}")
        if renders.size != generated.size:
            raise ValueError(f"{generated.path}: faces of {generated.size} px where {renders.path} has {renders.size} px")
        self.renders, self.generated, self.share = renders, generated, share
        self.size = renders.size

    def __len__(self) -> int:
        return len(self.renders) + len(self.generated)

    def batch(self, batch: int, rng: np.random.Generator) -> Batch:
        n_generated = int(rng.binomial(batch, self.share))
        parts = [pool.batch(k, rng) for pool, k in ((self.renders, batch - n_generated), (self.generated, n_generated)) if k]
        return Batch(*(torch.cat([getattr(p, name) for p in parts]) for name in ("images", "aus", "labels")))
