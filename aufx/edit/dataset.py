"""Latent dataset: pairs (w, AU intensities) that the global editor is trained on (paper Sec. 3).

The paper encodes 10,323 real faces into W and labels them with OpenFace. aufx makes the same
kind of file two ways:

- :func:`sample_latent_dataset`: sample z, map to w (optionally truncated), synthesise, label the
  images with the face analyzer, or (``labels="scene"``, for a generator distilled from SynthFACS)
  label each face by its latent's true scene, ``params_from_z(z)``;
- :func:`dataset_from_openface`: latents of inverted images (an ``.npz`` written by
  ``aufx invert``) joined with OpenFace 2.0 CSVs (`` AU01_r`` ... columns) by file stem.

The file is an ``.npz`` with ``w`` float32 [N, w_dim] (or W+ [N, num_ws, w_dim]), ``aus``
float32 [N, 16] (``AU_CODES`` order), ``au_codes`` (the 16 codes), ``source`` (one string per
row: ``seed:<s>`` or the image stem).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from aufx.aus import AU_CODES, N_AUS
from aufx.edit.analyzer import Analyzer, analyze
from aufx.gan.seeds import seed_latents  # noqa: F401 (re-exported: the editing modules import it from here)


@dataclass
class LatentDataset:
    """w [N, w_dim] (or W+ [N, num_ws, w_dim]) with AU labels [N, 16] and a source id per row."""

    w: np.ndarray
    aus: np.ndarray
    source: np.ndarray

    def __post_init__(self) -> None:
        self.w = np.asarray(self.w, dtype=np.float32)
        self.aus = np.asarray(self.aus, dtype=np.float32)
        self.source = np.asarray(self.source, dtype=str)
        n = self.w.shape[0]
        if self.aus.shape != (n, N_AUS):
            raise ValueError(f"aus must be [{n}, {N_AUS}] to match w {list(self.w.shape)}, got {list(self.aus.shape)}")
        if self.source.shape != (n,):
            raise ValueError(f"source must have {n} entries, got {self.source.shape[0]}")
        if not np.isfinite(self.w).all() or not np.isfinite(self.aus).all():
            raise ValueError("latent dataset contains NaN or infinite values")

    def __len__(self) -> int:
        return int(self.w.shape[0])

    @property
    def w_flat(self) -> np.ndarray:
        """[N, w_dim]: W as stored, or the mean over layers of a W+ dataset."""
        return self.w if self.w.ndim == 2 else self.w.mean(axis=1)

    def split(self, holdout: float = 0.2, seed: int = 0) -> tuple[LatentDataset, LatentDataset]:
        """Random (train, held-out) split; ``holdout`` is the held-out share (0 < holdout < 1)."""
        if not 0.0 < holdout < 1.0:
            raise ValueError(f"holdout share must lie in (0, 1), got {holdout}")
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = max(1, int(round(holdout * len(self))))
        if n_test >= len(self):
            raise ValueError(f"dataset of {len(self)} rows is too small to hold out {holdout:.0%}")
        test, train = order[:n_test], order[n_test:]
        return self.subset(train), self.subset(test)

    def subset(self, index: np.ndarray) -> LatentDataset:
        return LatentDataset(self.w[index], self.aus[index], self.source[index])

    def to_frame(self) -> pd.DataFrame:
        """AU labels as a DataFrame (columns ``AU_CODES``, plus ``source``)."""
        frame = pd.DataFrame(self.aus, columns=list(AU_CODES))
        frame.insert(0, "source", self.source)
        return frame

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:  # np.savez would append .npz to other suffixes
            np.savez_compressed(handle, w=self.w, aus=self.aus, source=self.source, au_codes=np.array(AU_CODES))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> LatentDataset:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such latent dataset")
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("w", "aus") if k not in data.files]
            if missing:
                raise ValueError(f"{path}: not a latent dataset (missing {', '.join(missing)})")
            codes = tuple(str(c) for c in data["au_codes"]) if "au_codes" in data.files else AU_CODES
            if codes != AU_CODES:
                raise ValueError(f"{path}: AU columns {codes} differ from aufx's {AU_CODES}")
            source = data["source"] if "source" in data.files else np.arange(len(data["w"])).astype(str)
            return cls(data["w"], data["aus"], source)


@torch.no_grad()
def sample_latent_dataset(
    generator: torch.nn.Module,
    analyzer: Analyzer,
    n: int,
    seed: int = 0,
    truncation_psi: float = 1.0,
    batch_size: int = 64,
    wplus: bool = False,
    labels: str = "analyzer",
    off_manifold: float = 0.0,
    off_manifold_step: float = 0.0,
    progress: bool = False,
) -> LatentDataset:
    """Sample ``n`` faces (seeds ``seed .. seed+n-1``) and label their AUs.

    ``labels``: ``"analyzer"`` reads the generated images with ``analyzer``; ``"scene"`` takes the
    true AUs of each latent (:func:`aufx.synthfacs.latent.params_from_z`), for generators
    distilled from SynthFACS (no images are made; needs ``truncation_psi`` 1, since a truncated
    w is no latent's image). Returns w [n, w_dim] (or W+ [n, num_ws, w_dim] with ``wplus``) and
    AUs [n, 16].

    ``off_manifold``: share of the faces (the last of each batch) moved off the mapping network's
    image by a random W step (isotropic direction, length uniform in [0, ``off_manifold_step``])
    and labelled by ``analyzer`` on their images (such a w has no true scene). A regressor that
    saw only mapped latents is free to read any AU into directions the generator ignores, and an
    edit by optimisation finds them (docs/editing.md); these faces show it what they look like.
    """
    if n <= 0:
        raise ValueError(f"number of faces must be positive, got {n}")
    if labels not in ("analyzer", "scene"):
        raise ValueError(f"labels must be 'analyzer' or 'scene', got {labels!r}")
    if labels == "scene" and truncation_psi != 1.0:
        raise ValueError(f"scene labels need truncation_psi 1 (a truncated w has no true scene), got {truncation_psi}")
    if not 0.0 <= off_manifold <= 1.0:
        raise ValueError(f"off_manifold must be a share in [0, 1], got {off_manifold}")
    if off_manifold > 0 and not off_manifold_step > 0:
        raise ValueError(f"off_manifold_step must be positive when off_manifold > 0, got {off_manifold_step}")
    if off_manifold > 0 and (analyzer is None or wplus):
        raise ValueError("off-manifold faces need an analyzer to label them and W latents (not W+)")
    rng = torch.Generator().manual_seed(seed + 7_000_003)
    ws_all, aus_all, source = [], [], []
    seeds = list(range(seed, seed + n))
    for start in tqdm(range(0, n, batch_size), desc="label faces", unit="batch", disable=not progress):
        z = seed_latents(generator.z_dim, seeds[start : start + batch_size])
        ws = generator.mapping(z, truncation_psi=truncation_psi)
        moved = int(round(off_manifold * len(z)))
        source += [f"seed:{s}" for s in seeds[start : start + len(z) - moved]]
        source += [f"seed:{s}:off" for s in seeds[start + len(z) - moved : start + len(z)]]
        if moved:
            step = torch.randn(moved, ws.shape[-1], generator=rng)
            step *= torch.rand(moved, 1, generator=rng) * off_manifold_step / step.norm(dim=1, keepdim=True)
            ws[-moved:] += step[:, None, :]
        if labels == "scene":
            from aufx.synthfacs.latent import params_from_z

            aus = torch.from_numpy(params_from_z(z.numpy()).aus)
            if moved:  # a moved w has no true scene: the analyzer reads it
                aus[-moved:] = _analyzer_aus(analyzer, generator, ws[-moved:])
        else:
            aus = _analyzer_aus(analyzer, generator, ws)
        aus_all.append(aus)
        ws_all.append(ws if wplus else ws[:, 0])
    return LatentDataset(torch.cat(ws_all).numpy(), torch.cat(aus_all).numpy(), np.array(source))


def _analyzer_aus(analyzer: Analyzer, generator: torch.nn.Module, ws: torch.Tensor) -> torch.Tensor:
    """AUs [N, 16] the analyzer reads on G(ws), on OpenFace's 0..5 scale, clamped as OpenFace
    clamps its AUxx_r outputs."""
    return analyze(analyzer, generator.synthesis(ws)).aus.float().clamp(0.0, 5.0)


def read_openface_csv(path: str | os.PathLike) -> np.ndarray:
    """AU intensities [16] of one OpenFace 2.0 ``FeatureExtraction`` CSV: the mean over the
    frames where a face was found (``success`` = 1). Parsing is :func:`aufx.au.read_openface_csv`'s.
    """
    from aufx.au.openface import read_openface_csv as read_frames

    frame = read_frames(path, successful_only=True)
    if frame.empty:
        raise ValueError(f"{path}: no frame with a detected face (success = 1)")
    return frame[list(AU_CODES)].astype(float).mean(axis=0).to_numpy(dtype=np.float32)


def dataset_from_openface(latents: str | os.PathLike, csv_paths: Sequence[str | os.PathLike]) -> LatentDataset:
    """Join inverted latents with OpenFace CSVs by stem (``face01.png`` <-> ``face01.csv``).

    ``latents`` is an ``.npz`` with ``w`` [N, w_dim] or [N, num_ws, w_dim] and ``names`` [N]
    (image file names, as ``aufx invert`` writes). Every latent needs a CSV and vice versa.
    """
    latents = Path(latents)
    if not latents.is_file():
        raise FileNotFoundError(f"{latents}: no such latents file")
    with np.load(latents, allow_pickle=False) as data:
        if "w" not in data.files or "names" not in data.files:
            raise ValueError(f"{latents}: needs arrays 'w' and 'names' (found {', '.join(data.files)})")
        w, names = data["w"], [Path(str(n)).stem for n in data["names"]]
    by_stem = {Path(p).stem: Path(p) for p in csv_paths}
    missing = [n for n in names if n not in by_stem]
    if missing:
        raise ValueError(f"no OpenFace CSV for {len(missing)} latent(s), e.g. {missing[0]!r}")
    extra = sorted(set(by_stem) - set(names))
    if extra:
        raise ValueError(f"OpenFace CSV {by_stem[extra[0]]} has no latent in {latents}")
    aus = np.stack([read_openface_csv(by_stem[n]) for n in names])
    return LatentDataset(w, aus, np.array(names))
