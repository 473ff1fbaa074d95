"""The fixed map z -> SynthFACS scene: every standard-normal latent has known AUs and identity.

A StyleGAN2 generator reads ``z`` through its mapping network, whose first step is
``normalize_2nd_moment``: it sees ``zn = z * sqrt(d) / |z|`` (d = ``z.shape[1]``), not ``z``. So the
scene is made a function of ``zn`` alone, which the generator can reproduce exactly:

1. **Exact normal scores.** For ``z ~ N(0, I_d)``, ``zn_i**2 / d ~ Beta(1/2, (d-1)/2)``; with that
   CDF each coordinate becomes ``u_i = F(zn_i)``, exactly uniform, and ``g_i = Phi^-1(u_i)``,
   exactly standard normal (a monotone, nearly-identity map for d >= 48).
2. **AUs** (``g[:16]``): a Gaussian copula. ``c = L g[:16]`` with ``L`` the Cholesky factor of the
   latent correlation ``R``, then ``aus_j = Q_j(Phi(c_j))`` where ``Q_j`` is AU j's quantile
   function (piecewise linear on 1,025 knots, 0 on the point mass at no activation).
3. **Identity** (``g[16:16+D]``): ``Phi(g)``, exactly i.i.d. uniform on 0..1 as
   :func:`~aufx.synthfacs.identity.sample_identity` draws them.

The remaining ``d - 16 - D`` coordinates carry nothing; the map is continuous in ``z``.

``Q`` and ``R`` are fitted once by :func:`fit_copula` to a large draw of the AU mixture
(:func:`aufx.synthfacs.sampling.sample_mixture`, the written definition of the world): each
``Q_j`` is the empirical quantile function, each ``R_ij`` is found by bisection so that the
copula's Spearman correlation of AU i and AU j equals the mixture's (ties at zero included), and
``R`` is projected to the nearest correlation matrix. The fit is bundled (``copula.npz`` beside
this file) and rebuilt by ``python -m aufx.synthfacs.latent --n 200000 --seed 0``. A Gaussian
copula keeps each AU's distribution and every pairwise rank correlation; it does not keep the
mixture's higher-order structure (a face showing exactly one AU, say).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import special, stats

from aufx.aus import AU_CODES, N_AUS
from aufx.synthfacs.identity import N_IDENTITY

#: Coordinates of the (normal-scored) latent used by the scene: 16 AUs, then the identity.
N_SCENE: int = N_AUS + N_IDENTITY
#: Smallest z_dim the map accepts (the scene needs N_SCENE coordinates and one more for the norm).
MIN_Z_DIM: int = N_SCENE + 2
#: Knots of each AU's quantile function.
N_KNOTS: int = 1025
COPULA_PATH = Path(__file__).with_name("copula.npz")
#: Name (and version) of this map; a generator distilled from it stores it as ``scene_map`` in its
#: metadata, which is how the project knows that G(z)'s true scene is ``params_from_z(z)``.
SCENE_MAP = "aufx.synthfacs.latent/v1"


@dataclass(frozen=True)
class Copula:
    """A fitted Gaussian copula of the 16 AUs.

    Attributes:
        quantiles: float64 ``[16, N_KNOTS]`` AU intensity at probability ``linspace(0, 1, N_KNOTS)``.
        correlation: float64 ``[16, 16]`` latent (normal-score) correlation, positive definite.
        n: size of the draw it was fitted to; seed: that draw's seed.
    """

    quantiles: np.ndarray
    correlation: np.ndarray
    n: int
    seed: int

    @property
    def cholesky(self) -> np.ndarray:
        return np.linalg.cholesky(self.correlation)

    def aus_from_normal(self, g: np.ndarray) -> np.ndarray:
        """Independent standard normals ``[N, 16]`` -> AU intensities float32 ``[N, 16]`` on 0..5."""
        u = special.ndtr(g @ self.cholesky.T)
        knots = np.linspace(0.0, 1.0, self.quantiles.shape[1])
        aus = np.stack([np.interp(u[:, j], knots, self.quantiles[j]) for j in range(N_AUS)], axis=1)
        return aus.astype(np.float32)

    def save(self, path: str | Path = COPULA_PATH) -> Path:
        np.savez(path, quantiles=self.quantiles, correlation=self.correlation, n=self.n, seed=self.seed,
                 au_codes=np.array(AU_CODES))  # fmt: skip
        return Path(path)

    @classmethod
    def load(cls, path: str | Path = COPULA_PATH) -> Copula:
        with np.load(path) as data:
            if tuple(str(c) for c in data["au_codes"]) != tuple(AU_CODES):
                raise ValueError(f"{path}: AU order {list(data['au_codes'])} differs from {list(AU_CODES)}")
            return cls(data["quantiles"], data["correlation"], int(data["n"]), int(data["seed"]))


@lru_cache(maxsize=1)
def bundled_copula() -> Copula:
    """The copula fitted to the SynthFACS mixture (``copula.npz``), loaded once."""
    return Copula.load(COPULA_PATH)


def normal_scores(z: np.ndarray) -> np.ndarray:
    """``z`` ``[N, d]`` -> exact standard-normal scores of its normalised coordinates, ``[N, d]``.

    Depends on ``z`` only through ``zn = z * sqrt(d) / |z|`` (what a StyleGAN2 mapping network
    reads); each output coordinate is exactly N(0, 1) when ``z ~ N(0, I_d)``.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < MIN_Z_DIM:
        raise ValueError(f"z must be [N, d] with d >= {MIN_Z_DIM}, got shape {list(z.shape)}")
    if not np.isfinite(z).all():
        raise ValueError("z contains NaN or infinite values")
    d = z.shape[1]
    norm = np.sqrt(np.sum(z**2, axis=1, keepdims=True))
    if (norm == 0).any():
        raise ValueError("z has a row of zeros: its direction, and so its scene, is undefined")
    share = (z / norm) ** 2  # = zn**2 / d, Beta(1/2, (d-1)/2)
    u = 0.5 + 0.5 * np.sign(z) * special.betainc(0.5, (d - 1) / 2.0, share)
    return special.ndtri(np.clip(u, 1e-15, 1.0 - 1e-15))


@dataclass
class LatentScene:
    """Scene parameters of latents: ``aus`` float32 ``[N, 16]`` (0..5), ``identity`` float32 ``[N, D]`` (0..1)."""

    aus: np.ndarray
    identity: np.ndarray


def params_from_z(z: np.ndarray, copula: Copula | None = None) -> LatentScene:
    """The scene of each latent ``z`` ``[N, d]`` (d >= 48): its true AUs and identity."""
    g = normal_scores(z)
    copula = copula or bundled_copula()
    aus = copula.aus_from_normal(g[:, :N_AUS])
    identity = special.ndtr(g[:, N_AUS:N_SCENE]).astype(np.float32)
    return LatentScene(aus=aus, identity=identity)


def true_scenes(metadata: dict, z: np.ndarray, truncation_psi: float = 1.0) -> LatentScene | None:
    """Ground truth of generated faces: the scenes of ``z`` ``[N, d]`` when the generator whose
    ``metadata`` is given was distilled from this map, else ``None``.

    Also ``None`` for ``truncation_psi != 1``: a truncated w is no longer the mapping of any z
    the generator was taught, so its face has no known scene (so has an edited w).
    """
    if metadata.get("scene_map") != SCENE_MAP or truncation_psi != 1.0:
        return None
    return params_from_z(z)


# --------------------------------------------------------------------------------------- fitting
def _spearman_pair(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b).statistic)


def _latent_rho(target: float, qa: np.ndarray, qb: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> float:
    """Bisection: the latent correlation whose copula pair (qa, qb) has Spearman ``target``."""
    knots = np.linspace(0.0, 1.0, qa.shape[0])
    xa = np.interp(special.ndtr(e1), knots, qa)
    lo, hi = -0.995, 0.995
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        xb = np.interp(special.ndtr(mid * e1 + np.sqrt(1 - mid**2) * e2), knots, qb)
        if _spearman_pair(xa, xb) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-4:
            break
    return 0.5 * (lo + hi)


def nearest_correlation(matrix: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Clip the eigenvalues of a symmetric matrix at ``floor`` and rescale it to a unit diagonal."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(fixed))
    return fixed * scale[:, None] * scale[None, :]


def fit_copula(n: int = 200_000, seed: int = 0, n_pair: int = 100_000, progress: bool = False) -> Copula:
    """Fit the Gaussian copula to ``n`` draws of the AU mixture (see the module docstring)."""
    from tqdm import tqdm

    from aufx.synthfacs.sampling import sample_mixture

    aus = sample_mixture(n, np.random.default_rng(np.random.SeedSequence(seed))).astype(np.float64)
    probs = np.linspace(0.0, 1.0, N_KNOTS)
    quantiles = np.stack([np.quantile(aus[:, j], probs, method="inverted_cdf") for j in range(N_AUS)])
    quantiles[:, 0] = aus.min(axis=0)
    target = stats.spearmanr(aus).statistic
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    e1, e2 = rng.standard_normal(n_pair), rng.standard_normal(n_pair)
    latent = np.eye(N_AUS)
    pairs = [(i, j) for i in range(N_AUS) for j in range(i + 1, N_AUS)]
    for i, j in tqdm(pairs, disable=not progress, desc="copula pairs"):
        latent[i, j] = latent[j, i] = _latent_rho(target[i, j], quantiles[i], quantiles[j], e1, e2)
    return Copula(quantiles=quantiles, correlation=nearest_correlation(latent), n=n, seed=seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Refit the SynthFACS AU copula (writes copula.npz).")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=COPULA_PATH)
    args = parser.parse_args(argv)
    copula = fit_copula(args.n, args.seed, progress=True)
    print(f"wrote {copula.save(args.out)}")


if __name__ == "__main__":
    main()
