"""The SynthFACS sampling distribution of AU intensities and identities.

:func:`sample_params` draws ``n`` faces the way the world is sampled everywhere (analyzer
training data, editor data, every "SynthFACS distribution" of the project, the bundled
generator's latents): ``z ~ N(0, I_64)`` through the fixed map of :mod:`aufx.synthfacs.latent`,
so that each face has a latent ``z`` whose generated image is the same scene.

That map is a Gaussian copula fitted to the *mixture* defined here (:func:`sample_mixture`),
the written definition of SynthFACS's AU distribution. Identities are i.i.d. uniform on 0..1
per parameter (:mod:`aufx.synthfacs.identity`), independent of the AUs. AU intensities (0..5,
``AU_CODES`` order) come from a mixture chosen per face:

=============  ======  ==================================================================
component      weight  AUs
=============  ======  ==================================================================
neutral        0.15    all 0
prototype      0.45    one EMFACS prototype (``aufx.aus.EMOTION_PROTOTYPES``, uniform over
                       the 7), base intensity ~ U(1, 5), each AU = base + N(0, 0.6) clipped
                       to [0.3, 5]; each AU dropped with p = 0.1 (one always stays); usual
                       companions added: AU25 with AU26 (p = 0.85), AU25 in happiness
                       (p = 0.35), AU10 (p = 0.6) and AU17 (p = 0.3) in disgust, AU17 in
                       sadness (p = 0.4) and anger (p = 0.3); then with p = 0.2 one random
                       extra AU at U(0.3, 2)
single         0.20    one AU, uniform over the 16, at U(0.5, 5)
pair           0.15    two distinct AUs, each at U(0.5, 5)
sparse         0.05    each AU independently with p = 0.2 at U(0, 5)
=============  ======  ==================================================================

The singles, pairs and sparse faces keep every AU identifiable on its own; the prototypes give
the realistic co-occurrence (AU06–AU12, AU01–AU02–AU05–AU26, ...) that the paper's Fig. 4 shows.
:func:`sample_mixture_params` draws from the mixture itself, with each face's component (used
where emotion labels are needed); :func:`au_correlation` exports the AUs' Pearson correlation
matrix under :func:`sample_params`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aufx.aus import AU_CODES, AU_INDEX, EMOTION_PROTOTYPES, N_AUS
from aufx.synthfacs.identity import N_IDENTITY, sample_identity
from aufx.synthfacs.latent import params_from_z

#: Size of the world's latents: ``sample_params`` draws z of this size, the bundled generator reads it.
LATENT_Z_DIM: int = 64

#: Mixture weights of the AU sampling distribution (see the module docstring).
COMPONENT_WEIGHTS: dict[str, float] = {
    "neutral": 0.15, "prototype": 0.45, "single": 0.20, "pair": 0.15, "sparse": 0.05,
}  # fmt: skip

#: Companion AUs added to a prototype: emotion -> ((AU, probability), ...); "*" applies to all.
COMPANIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "happiness": (("AU25", 0.35),),
    "disgust": (("AU10", 0.6), ("AU17", 0.3)),
    "sadness": (("AU17", 0.4),),
    "anger": (("AU17", 0.3),),
}

_EMOTIONS = tuple(EMOTION_PROTOTYPES)


@dataclass
class FaceParams:
    """Sampled faces.

    Attributes:
        aus: float32 ``[n, 16]`` intensities on 0..5, ``AU_CODES`` order.
        identity: float32 ``[n, D]`` identity parameters on 0..1 (``IDENTITY_NAMES`` order).
        component: ``[n]`` str, the mixture component of each face (``"neutral"``, ``"single"``,
            ``"pair"``, ``"sparse"`` or the prototype's emotion name); ``"latent"`` for faces
            drawn through the latent map, which has no components.
        z: float32 ``[n, LATENT_Z_DIM]`` latents of faces drawn through the latent map (their
            scene is ``params_from_z(z)``), else ``None``.
    """

    aus: np.ndarray
    identity: np.ndarray
    component: np.ndarray
    z: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.aus.shape[0])

    def __getitem__(self, index) -> FaceParams:
        z = None if self.z is None else self.z[index]
        return FaceParams(self.aus[index], self.identity[index], self.component[index], z)


def _prototype(rng: np.random.Generator, emotion: str) -> np.ndarray:
    aus = np.zeros(N_AUS)
    base = rng.uniform(1.0, 5.0)
    codes = list(EMOTION_PROTOTYPES[emotion])
    keep = [c for c in codes if rng.random() >= 0.1] or [codes[rng.integers(len(codes))]]
    for code in keep:
        aus[AU_INDEX[code]] = np.clip(base + rng.normal(0.0, 0.6), 0.3, 5.0)
    for code, p in COMPANIONS.get(emotion, ()):
        if rng.random() < p:
            aus[AU_INDEX[code]] = np.clip(base + rng.normal(0.0, 0.6), 0.3, 5.0)
    if aus[AU_INDEX["AU26"]] > 0 and rng.random() < 0.85:
        aus[AU_INDEX["AU25"]] = np.clip(base + rng.normal(0.0, 0.6), 0.3, 5.0)
    if rng.random() < 0.2:
        aus[rng.integers(N_AUS)] = rng.uniform(0.3, 2.0)
    return aus


def sample_aus(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` AU vectors (float32 ``[n, 16]``) from the mixture, and their components (``[n]`` str)."""
    names = list(COMPONENT_WEIGHTS)
    weights = np.array([COMPONENT_WEIGHTS[k] for k in names])
    picks = rng.choice(len(names), size=n, p=weights / weights.sum())
    aus = np.zeros((n, N_AUS))
    component = np.empty(n, dtype=object)
    for i, pick in enumerate(picks):
        kind = names[pick]
        if kind == "prototype":
            emotion = _EMOTIONS[rng.integers(len(_EMOTIONS))]
            aus[i] = _prototype(rng, emotion)
            kind = emotion
        elif kind == "single":
            aus[i, rng.integers(N_AUS)] = rng.uniform(0.5, 5.0)
        elif kind == "pair":
            first, second = rng.choice(N_AUS, size=2, replace=False)
            aus[i, first], aus[i, second] = rng.uniform(0.5, 5.0, size=2)
        elif kind == "sparse":
            on = rng.random(N_AUS) < 0.2
            aus[i, on] = rng.uniform(0.0, 5.0, size=int(on.sum()))
        component[i] = kind
    return aus.astype(np.float32), component.astype(str)


def sample_mixture(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` AU vectors (float32 ``[n, 16]``) from the mixture (the copula's fitting data)."""
    return sample_aus(n, rng)[0]


def _check_count_and_seed(n, seed) -> None:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def sample_latents(n: int, seed: int, z_dim: int = LATENT_Z_DIM) -> np.ndarray:
    """``n`` standard-normal latents float32 ``[n, z_dim]``; deterministic per seed."""
    _check_count_and_seed(n, seed)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    return rng.standard_normal((int(n), z_dim), dtype=np.float64).astype(np.float32)


def sample_params(n: int, seed: int) -> FaceParams:
    """Draw ``n`` faces from the SynthFACS distribution (through the latent map); deterministic per seed.

    ``.z`` holds each face's latent: the bundled generator's image of ``z`` is the same scene.
    """
    z = sample_latents(n, seed)
    if n == 0:
        empty = np.zeros((0, N_AUS), np.float32)
        return FaceParams(empty, np.zeros((0, N_IDENTITY), np.float32), np.array([], dtype=str), z)
    scene = params_from_z(z)
    return FaceParams(aus=scene.aus, identity=scene.identity, component=np.full(int(n), "latent"), z=z)


def sample_mixture_params(n: int, seed: int) -> FaceParams:
    """Draw ``n`` faces from the mixture itself, with their components (emotion labels); no latents."""
    _check_count_and_seed(n, seed)
    au_seq, id_seq = np.random.SeedSequence(int(seed)).spawn(2)
    aus, component = sample_aus(int(n), np.random.default_rng(au_seq))
    identity = sample_identity(int(n), np.random.default_rng(id_seq))
    return FaceParams(aus=aus, identity=identity, component=component)


def au_correlation(n: int = 20000, seed: int = 0) -> pd.DataFrame:
    """Empirical Pearson correlation (16 x 16 DataFrame, index and columns ``AU_CODES``) of the AUs."""
    aus = sample_params(n, seed).aus.astype(np.float64)
    return pd.DataFrame(np.corrcoef(aus, rowvar=False), index=list(AU_CODES), columns=list(AU_CODES))
