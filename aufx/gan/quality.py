"""Quality of a generator trained on SynthFACS, measured with the face analyzer.

:func:`measure_quality` compares ``n`` generated faces (psi 1, constant noise, NVIDIA seeds drawn
from ``np.random.default_rng(seed)``) with ``n`` fresh SynthFACS renders from a held-out seed
range (:data:`QUALITY_SEED_BASE`, used by nothing else), and a second, disjoint set of ``n``
renders gives the floor of each measure (what two samples of the data itself score):

- **Fréchet distance** (FD) between Gaussians fitted to analyzer features, on two feature sets
  (:meth:`aufx.au.model.FaceAnalyzer.summary_features`): ``pooled``, the analyzer's 4x4 encoder
  map averaged over positions (128-d; image statistics, as Inception's pool3 in FID), and
  ``heads``, the identity embedding (64-d, unit length) and the 16 AU intensities (0..5)
  concatenated (80-d; what the analyzer reads from a face). Lower is better; the floor is not 0
  because of sampling noise.
- **AU marginals**: per AU, mean, std, share of faces with intensity >= 1, and the 1-D
  Wasserstein distance between generated and rendered faces, both measured by the analyzer (its
  bias cancels); the renders' ground truth is listed beside them.
- **Diversity**: mean pairwise cosine distance ``1 - cos`` of identity embeddings (0 when every
  face is the same identity; low values flag mode collapse).

For a generator distilled from SynthFACS (``teacher=True``: its latents have known scenes), the
generated faces are also compared with the renders of their own scenes
(:mod:`aufx.gan.teacher_quality`: L1 to the teacher, AU fidelity, AU co-occurrence).

All faces go through uint8, as PNG files would. Memory holds the per-face feature matrices
(``n`` x 208 floats), nothing else; results are a pure function of ``(generator, analyzer, n,
seed, batch)`` on a given number of threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
import torch
from scipy.stats import wasserstein_distance

from aufx.aus import AU_CODES
from aufx.imageio import from_uint8, to_uint8

#: Render set ``k`` of seed ``s`` draws chunk ``c`` with SynthFACS seed
#: ``QUALITY_SEED_BASE + (2 * s + k) * SET_STRIDE + c`` (disjoint from the training pool at
#: 1,000,000+, analyzer training and read-out, and analyzer evaluation at 900,000,000+).
QUALITY_SEED_BASE: int = 800_000_000
SET_STRIDE: int = 100_000
MAX_SEED: int = 499
#: Faces per SynthFACS seed (results do not depend on ``batch``'s value for renders).
RENDER_CHUNK: int = 250
#: Feature sets compared by Fréchet distance.
FEATURE_SETS: tuple[str, ...] = ("pooled", "heads")
MARGINAL_COLUMNS: tuple[str, ...] = (
    "gen_mean", "gen_std", "gen_share_ge1", "data_mean", "data_std", "data_share_ge1",
    "truth_mean", "truth_std", "truth_share_ge1", "w1_gen_data", "w1_floor",
)  # fmt: skip


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance ``|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2))`` of two Gaussians, in float64.

    ``mu``: ``[D]``; ``cov``: ``[D, D]``. The square root is :func:`scipy.linalg.sqrtm`; a
    nearly singular product is regularised by adding 1e-6 to both diagonals, and the tiny
    imaginary part that rounding leaves is dropped.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} / {mu2.shape}, cov {cov1.shape} / {cov2.shape}")
    covmean = scipy.linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(covmean).all():
        eye = np.eye(cov1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((cov1 + eye) @ (cov2 + eye))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (float64, ddof 1) of ``features`` ``[N, D]``."""
    x = np.asarray(features, np.float64)
    return x.mean(0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def feature_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature matrices ``a`` ``[N, D]`` and ``b`` ``[M, D]``."""
    return frechet_distance(*gaussian(a), *gaussian(b))


def cluster_bootstrap_fd(
    reference: np.ndarray,
    reference_groups: np.ndarray,
    sets: dict[str, tuple[np.ndarray, np.ndarray]],
    n_boot: int = 100,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """:func:`feature_fd` of each set to ``reference`` on ``n_boot`` cluster-bootstrap resamples.

    ``reference`` ``[M, D]`` and each set's features ``[N, D]`` come with the group (e.g. the source
    face) of each row, ``[M]`` / ``[N]``. A resample draws the reference's groups with replacement,
    the same draw for every set, and takes every row of each drawn group, as often as it is drawn:
    rows of one face are not independent, and sets measured on the same resample can be compared
    (a ratio of two sets' FDs per resample). Returns ``{name: FDs [n_boot]}``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    groups = np.unique(reference_groups)
    if len(groups) < 2:
        raise ValueError(f"the bootstrap needs rows of at least 2 groups, got {len(groups)}")

    def rows_by_group(labels: np.ndarray) -> dict[Any, np.ndarray]:
        labels = np.asarray(labels)
        return {g: np.flatnonzero(labels == g) for g in groups}

    reference_rows = rows_by_group(reference_groups)
    set_rows = {name: rows_by_group(labels) for name, (_, labels) in sets.items()}
    rng = np.random.default_rng(seed)
    out = {name: np.empty(n_boot) for name in sets}
    for b in range(n_boot):
        draw = groups[rng.integers(0, len(groups), size=len(groups))]
        ref = gaussian(reference[np.concatenate([reference_rows[g] for g in draw])])
        for name, (features, _) in sets.items():
            out[name][b] = frechet_distance(*gaussian(features[np.concatenate([set_rows[name][g] for g in draw])]), *ref)
    return out


def basic_bootstrap_interval(estimate: float, replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The basic (reverse-percentile) bootstrap interval of ``estimate`` from its ``replicates``
    ``[B]``: ``(2·θ̂ − q_hi, 2·θ̂ − q_lo)`` with ``q`` the replicates' percentiles at (1 ± level) / 2
    (Davison & Hinkley 1997, §5.2). Where resampling shifts the statistic (an FD rises when a
    resample repeats rows: repeats shrink the sample's spread of distinct rows), the percentile range
    inherits the shift and lies beside the estimate; the basic interval takes the shift as the
    estimate's own bias and moves the other way."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    replicates = np.asarray(replicates, dtype=float)
    if replicates.ndim != 1 or len(replicates) < 2 or not np.all(np.isfinite(replicates)):
        raise ValueError(f"replicates must be >= 2 finite values in one dimension, got shape {replicates.shape}")
    q_lo, q_hi = np.percentile(replicates, [50.0 * (1.0 - level), 50.0 * (1.0 + level)])
    return float(2.0 * estimate - q_hi), float(2.0 * estimate - q_lo)


def mean_cosine_distance(embeddings: np.ndarray) -> float:
    """Mean of ``1 - e_i . e_j`` over pairs ``i != j`` of unit vectors ``[N, D]``; O(N D) memory and time."""
    e = np.asarray(embeddings, np.float64)
    n = e.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 embeddings, got {n}")
    total = e.sum(0)
    return float(1.0 - (total @ total - (e * e).sum()) / (n * (n - 1)))


def check_n(n: int) -> int:
    """``n`` as an int, or ValueError naming the bad value (at least 2 faces per set)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"--n must be an integer of at least 2 faces per set, got {n!r}")
    return int(n)


def generator_seeds(n: int, seed: int = 0) -> np.ndarray:
    """The NVIDIA seeds of the ``n`` generated faces: ``default_rng(seed).integers(0, 2**32)``; int64 ``[n]``."""
    return np.random.default_rng(seed).integers(0, 2**32, size=check_n(n), dtype=np.int64)


@dataclass
class FaceSet:
    """Analyzer features of one set of ``N`` faces (float32): ``pooled`` ``[N, C4]``, ``identity``
    ``[N, E]``, ``aus`` ``[N, 16]``; ``true_aus`` ``[N, 16]`` for renders, else ``None``."""

    pooled: np.ndarray
    identity: np.ndarray
    aus: np.ndarray
    true_aus: np.ndarray | None = None

    def features(self, name: str) -> np.ndarray:
        if name == "pooled":
            return self.pooled
        if name == "heads":
            return np.concatenate([self.identity, self.aus], axis=1)
        raise ValueError(f"unknown feature set {name!r} (expected one of {FEATURE_SETS})")


def _quantize(images: torch.Tensor) -> torch.Tensor:
    return from_uint8(to_uint8(images))


def generated_batches(generator, n: int, seed: int, batch: int, psi: float = 1.0,
                      teacher=None) -> Iterator[tuple[torch.Tensor, np.ndarray | None]]:  # fmt: skip
    """Generated faces in batches: ``([B, 3, R, R]`` in [-1, 1], ``None)``; constant noise. With a
    ``teacher`` (:class:`~aufx.gan.teacher_quality.TeacherError`), each batch is compared with its
    scenes' renders and comes with its true AUs ``[B, 16]``."""
    from aufx.gan.seeds import seed_latents

    seeds = generator_seeds(n, seed)
    for start in range(0, n, batch):
        z = seed_latents(generator.z_dim, seeds[start : start + batch].tolist())
        with torch.no_grad():
            images = _quantize(generator(z, None, truncation_psi=psi, noise_mode="const"))
        yield images, (teacher.add(images, z) if teacher is not None else None)


def rendered_batches(n: int, set_index: int, seed: int, size: int) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
    """Fresh SynthFACS renders in chunks of :data:`RENDER_CHUNK`: ``([B, 3, size, size], aus [B, 16])``."""
    from aufx.synthfacs import render, sample_params

    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"--seed must be in 0..{MAX_SEED} (render seeds are a fixed held-out range), got {seed}")
    for chunk, start in enumerate(range(0, n, RENDER_CHUNK)):
        take = min(RENDER_CHUNK, n - start)
        params = sample_params(RENDER_CHUNK, QUALITY_SEED_BASE + (2 * seed + set_index) * SET_STRIDE + chunk)
        out = render(params.aus[:take], params.identity[:take], size=size, with_parts=False)
        yield _quantize(out.images), params.aus[:take].astype(np.float32)


def analyze(analyzer, batches: Iterator[tuple[torch.Tensor, np.ndarray | None]], progress=None) -> FaceSet:
    """Run ``analyzer.summary_features`` over ``batches``; ``progress`` (a tqdm bar) is advanced per face."""
    parts: dict[str, list[np.ndarray]] = {"pooled": [], "identity": [], "aus": [], "true_aus": []}
    for images, true_aus in batches:
        with torch.no_grad():
            feats = analyzer.summary_features(images)
        for key in ("pooled", "identity", "aus"):
            parts[key].append(feats[key].float().numpy())
        if true_aus is not None:
            parts["true_aus"].append(true_aus)
        if progress is not None:
            progress.update(images.shape[0])
    return FaceSet(pooled=np.concatenate(parts["pooled"]), identity=np.concatenate(parts["identity"]),
                   aus=np.concatenate(parts["aus"]),
                   true_aus=np.concatenate(parts["true_aus"]) if parts["true_aus"] else None)  # fmt: skip


def au_marginals(generated: FaceSet, data: FaceSet, floor: FaceSet) -> pd.DataFrame:
    """Per-AU marginals (index ``AU_CODES``, columns :data:`MARGINAL_COLUMNS`).

    ``gen_*`` and ``data_*``: analyzer-measured on generated faces and on renders; ``truth_*``: the
    renders' ground truth; ``w1_gen_data``: 1-D Wasserstein distance generated vs renders (both
    analyzer-measured); ``w1_floor``: the same between the two render sets.
    """
    rows = {}
    truth = data.true_aus if data.true_aus is not None else np.full_like(data.aus, np.nan)
    for k, code in enumerate(AU_CODES):
        row: dict[str, float] = {}
        for prefix, values in (("gen", generated.aus[:, k]), ("data", data.aus[:, k]), ("truth", truth[:, k])):
            v = values.astype(np.float64)
            row[f"{prefix}_mean"] = float(v.mean())
            row[f"{prefix}_std"] = float(v.std(ddof=1))
            row[f"{prefix}_share_ge1"] = float((v >= 1.0).mean())
        row["w1_gen_data"] = float(wasserstein_distance(generated.aus[:, k], data.aus[:, k]))
        row["w1_floor"] = float(wasserstein_distance(floor.aus[:, k], data.aus[:, k]))
        rows[code] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(MARGINAL_COLUMNS)).rename_axis("au")


@dataclass
class QualityReport:
    """Everything :func:`measure_quality` measured; ``fd`` / ``fd_floor`` per feature set,
    ``diversity`` per set (``generated``, ``renders``, ``renders_b``)."""

    n: int
    seed: int
    fd: dict[str, float]
    fd_floor: dict[str, float]
    diversity: dict[str, float]
    marginals: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly dict (marginals as ``{AU: {column: value}}``)."""
        m = self.marginals
        return {
            "n": self.n, "seed": self.seed, "fd": self.fd, "fd_floor": self.fd_floor, "diversity": self.diversity,
            "au_w1_mean": float(m["w1_gen_data"].mean()), "au_w1_floor_mean": float(m["w1_floor"].mean()),
            "au_marginals": {au: {c: round(float(v), 5) for c, v in row.items()} for au, row in m.iterrows()},
            **self.info,
        }  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def markdown(self) -> str:
        """Two Markdown tables (summary, per-AU marginals), ready for ``benchmarks/RESULTS.md``."""
        s = self.summary()
        dims = self.info.get("feature_dims", {})
        lines = [
            "| measure | generated vs renders | renders vs renders (floor) |",
            "|---|---:|---:|",
            f"| FD, pooled analyzer encoder features ({dims.get('pooled', '?')}-d) | {self.fd['pooled']:.3f} | {self.fd_floor['pooled']:.3f} |",
            f"| FD, identity embedding + AU intensities ({dims.get('heads', '?')}-d) | {self.fd['heads']:.3f} | {self.fd_floor['heads']:.3f} |",
            f"| AU marginals: mean 1-D Wasserstein over 16 AUs (0..5 scale) | {s['au_w1_mean']:.3f} | {s['au_w1_floor_mean']:.3f} |",
            f"| diversity: mean pairwise identity cosine distance (generated / renders) | {self.diversity['generated']:.3f} | {self.diversity['renders']:.3f} |",
            "",
            "| AU | generated mean | renders mean (analyzer) | renders mean (truth) | generated std | renders std "
            "| generated share ≥ 1 | renders share ≥ 1 | W1 generated–renders | W1 floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]  # fmt: skip
        for au, r in self.marginals.iterrows():
            lines.append(
                f"| {au} | {r.gen_mean:.2f} | {r.data_mean:.2f} | {r.truth_mean:.2f} | {r.gen_std:.2f} | {r.data_std:.2f} "
                f"| {r.gen_share_ge1:.2f} | {r.data_share_ge1:.2f} | {r.w1_gen_data:.3f} | {r.w1_floor:.3f} |"
            )
        if "teacher" in self.info:
            from aufx.gan.teacher_quality import teacher_markdown

            lines[5:5] = teacher_markdown(self.info["teacher"])
        return "\n".join(lines)


def measure_quality(generator, analyzer, n: int = 10_000, seed: int = 0, batch: int = 50,
                    psi: float = 1.0, progress: bool = True, teacher: bool = False,
                    ) -> tuple[QualityReport, dict[str, FaceSet]]:  # fmt: skip
    """Measure ``generator`` against SynthFACS renders with ``analyzer``; see the module docstring.

    ``teacher``: the generator is distilled from SynthFACS (its metadata names a ``scene_map``);
    also measure it against the renders of its latents' scenes (needs ``psi`` 1).

    Returns the report and the three :class:`FaceSet` (``generated``, ``renders``, ``renders_b``).
    """
    from tqdm import tqdm

    n = check_n(n)
    if batch < 1:
        raise ValueError(f"--batch must be at least 1, got {batch}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"--seed must be in 0..{MAX_SEED} (render seeds are a fixed held-out range), got {seed}")
    if teacher and psi != 1.0:
        raise ValueError(f"teacher measures need psi 1 (a truncated face has no known scene), got {psi}")
    from aufx.gan.teacher_quality import TeacherError, teacher_summary

    error = TeacherError() if teacher else None
    analyzer = analyzer.eval()
    size = generator.img_resolution
    with tqdm(total=3 * n, desc="quality", unit="face", disable=not progress, smoothing=0.05) as bar:
        sets = {
            "generated": analyze(analyzer, generated_batches(generator, n, seed, batch, psi, error), bar),
            "renders": analyze(analyzer, rendered_batches(n, 0, seed, size), bar),
            "renders_b": analyze(analyzer, rendered_batches(n, 1, seed, size), bar),
        }
    data = sets["renders"]
    fd = {name: feature_fd(sets["generated"].features(name), data.features(name)) for name in FEATURE_SETS}
    floor = {name: feature_fd(sets["renders_b"].features(name), data.features(name)) for name in FEATURE_SETS}
    diversity = {name: mean_cosine_distance(s.identity) for name, s in sets.items()}
    marginals = au_marginals(sets["generated"], data, sets["renders_b"])
    info = {"psi": psi, "batch": batch, "feature_dims": {name: int(data.features(name).shape[1]) for name in FEATURE_SETS}}
    if error is not None:
        info["teacher"] = teacher_summary(error, sets["generated"].aus, data.aus, data.true_aus)
    return QualityReport(n=n, seed=seed, fd=fd, fd_floor=floor, diversity=diversity, marginals=marginals, info=info), sets
