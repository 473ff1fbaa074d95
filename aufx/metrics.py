"""Objective measures of an edit, for any pair (original, edited) of face images.

Per pair:

- ``change_<AU>`` / ``target_change``: achieved change of each target AU (edited − original, as
  the analyzer measures it) and its mean over the targets;
- ``leakage``: mean absolute change of the other (non-target) AUs;
- ``outside_share``: share of the pixel change (per-pixel mean absolute RGB difference) that lies
  outside the target AUs' facial region — the union of the AUs' parts
  (:data:`aufx.edit.au_parts.AU_PARTS`) on the original and the edited face's part maps;
- ``identity_drift``: 1 − cosine similarity of the analyzer's identity embeddings;
- ``realism``: how typical the edited face's analyzer features (``analyzer.features(images)``
  when the analyzer has it — the bundled one returns a feature pyramid, averaged over space per
  level — else its AUs and identity embedding) are of a reference set of faces (SynthFACS
  renders) — see :class:`RealismScorer`: the face's Mahalanobis distance from the reference mean
  as a z-score of the reference faces' own distances, sign flipped so that higher = more
  realistic; 0 = as far out as the average reference face, −1 = one reference SD farther, and no
  bound either way (faces far outside the reference still differ and keep their order).

Per image set (not per pair):

- ``high_frequency_share`` / :func:`high_frequency_ratio`: the share of an image's spectral
  energy above half the Nyquist frequency, and a set's mean share relative to a reference set's
  (SynthFACS renders): ≈ 1 like the reference, > 1 noise or checkerboard artefacts, < 1 blur —
  the contact sheet's "noise" read as a number;
- :func:`flat_region_noise` / :func:`noise_ratio`: fine-grain texture (noise, checkerboards,
  seams) where a reference image is flat: the 95th percentile over 8×8 tiles of the high-pass RMS
  of an image on the pixels where its reference (the ideal render) has no edge, and a set's mean
  over that of the unedited sources. Blur does not raise it, unlike a spectral share, which
  blur and noise can cancel in.

Functions take tensors; :func:`measure_edits` runs the analyzer and returns a tidy DataFrame
(one row per pair). For real photographs pass :class:`aufx.real.analyzer.LandmarkAnalyzer`
(``load_analyzer("landmarks")``, the ``real`` extra): part maps from dlib's 68 landmarks and
dlib's 128-D identity give ``outside_share`` and ``identity_drift``, while the AU columns are NaN
(dlib estimates no AUs); :mod:`aufx.real.metrics` has dlib's Euclidean identity rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from aufx.aus import AU_CODES, AU_INDEX, normalize_au
from aufx.edit.analyzer import Analysis, Analyzer, analyze
from aufx.edit.au_parts import AU_PARTS, region_mask

__all__ = [
    "AU_PARTS", "RealismScorer", "identity_drift", "leakage", "measure_edits", "outside_share",
    "pixel_change", "target_change", "summarize",
]  # fmt: skip


def _indices(targets: Sequence[str]) -> list[int]:
    return [AU_INDEX[normalize_au(t)] for t in targets]


def target_change(aus_orig: torch.Tensor, aus_edit: torch.Tensor, targets: Sequence[str]) -> torch.Tensor:
    """Achieved change of the target AUs: [N, 16] x2 -> [N, T] (edited − original)."""
    idx = _indices(targets)
    return (aus_edit - aus_orig)[:, idx]


def leakage(aus_orig: torch.Tensor, aus_edit: torch.Tensor, targets: Sequence[str]) -> torch.Tensor:
    """Mean absolute change of the non-target AUs: [N] (0 when all 16 are targets)."""
    keep = [i for i in range(len(AU_CODES)) if i not in set(_indices(targets))]
    if not keep:
        return torch.zeros(aus_orig.shape[0])
    return (aus_edit - aus_orig)[:, keep].abs().mean(dim=1)


def pixel_change(orig: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean absolute RGB difference: [N, 3, H, W] x2 -> [N, H, W]."""
    if orig.shape != edited.shape:
        raise ValueError(f"original and edited images differ in shape: {list(orig.shape)} vs {list(edited.shape)}")
    return (edited.float() - orig.float()).abs().mean(dim=1)


def outside_share(orig: torch.Tensor, edited: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Share of the pixel change outside ``region`` (bool [N, H, W]): [N] in [0, 1]; 0 when nothing changed."""
    change = pixel_change(orig, edited)
    if region.shape != change.shape:
        raise ValueError(f"region mask {list(region.shape)} does not match the images {list(change.shape)}")
    total = change.flatten(1).sum(dim=1)
    outside = (change * (~region.bool())).flatten(1).sum(dim=1)
    return torch.where(total > 0, outside / total.clamp_min(1e-12), torch.zeros_like(total))


def identity_drift(id_orig: torch.Tensor, id_edit: torch.Tensor) -> torch.Tensor:
    """1 − cosine similarity of identity embeddings [N, E] x2 -> [N] (0 = same identity)."""
    return 1.0 - torch.nn.functional.cosine_similarity(id_orig.float(), id_edit.float(), dim=1, eps=1e-12)


def high_frequency_share(images: torch.Tensor, cutoff: float = 0.25) -> torch.Tensor:
    """Share ``[N]`` of each image's spectral energy (mean over RGB, mean removed) at radial
    frequencies above ``cutoff`` cycles/pixel (0.25 = half the Nyquist frequency).

    images: ``[N, 3, H, W]`` in [-1, 1]. A period-2 checkerboard puts its energy at 0.5–0.71
    cycles/pixel, white noise spreads it evenly, blur removes it.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got {list(images.shape)}")
    x = images.double() - images.double().mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().mean(dim=1)  # [N, H, W]
    fy = torch.fft.fftfreq(x.shape[-2], dtype=torch.float64)
    fx = torch.fft.fftfreq(x.shape[-1], dtype=torch.float64)
    radius = (fy[:, None].square() + fx[None, :].square()).sqrt()
    total = power.sum(dim=(-2, -1)).clamp_min(1e-20)
    return (power * (radius > cutoff)).sum(dim=(-2, -1)) / total


def high_frequency_ratio(images: torch.Tensor, reference: torch.Tensor, cutoff: float = 0.25) -> float:
    """Mean :func:`high_frequency_share` of ``images`` over that of ``reference`` (both ``[N, 3, H, W]``)."""
    return float(high_frequency_share(images, cutoff).mean() / high_frequency_share(reference, cutoff).mean())


def period_lines(size: int, period: int) -> np.ndarray:
    """``[size, size]`` bool, in ``np.fft.fft2``'s layout: the bins with ``|fx|`` or ``|fy|`` =
    ``size / period`` cycles per image, where a pattern repeating every ``period`` pixels lies."""
    f = np.abs(np.fft.fftfreq(size) * size)
    fx, fy = np.meshgrid(f, f)
    return (fx == size // period) | (fy == size // period)


def added_texture_spectrum(images: torch.Tensor, sources: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """Where in frequency the texture an edit adds lies (all ``[N, 3, S, S]``, paired; S even).

    Power spectra of the grey residuals ``images − reference`` and ``sources − reference``, averaged
    over faces, in the high band (``max(|fx|, |fy|) ≥ S/4`` cycles per image): ``excess``, the
    outputs' energy there over the sources' (1: nothing added; an edit that does its job also
    removes residual energy, so < 1 is possible); ``period2_ratio``, ``period4_ratio`` and
    ``elsewhere_ratio``, the same ratio on the lines ``|fx|`` or ``|fy|`` = S/2 (a 2-pixel period:
    the checkerboard of a stride-2 transposed convolution), on the lines = S/4 (two of them in a
    row) and on the rest of the band; ``period2`` and ``period4``, the shares of the added energy on
    those lines (NaN when the band gains nothing), and ``period2_bins`` and ``period4_bins``, the
    lines' share of the band's bins (the shares white noise would give)."""
    if images.ndim != 4 or images.shape != sources.shape or images.shape != reference.shape:
        raise ValueError(f"images, sources and reference must be [N, C, H, W] of one shape, got "
                         f"{list(images.shape)}, {list(sources.shape)}, {list(reference.shape)}")  # fmt: skip
    size = images.shape[-1]
    if images.shape[-2] != size or size % 4:
        raise ValueError(f"need square images with a side divisible by 4, got {list(images.shape[-2:])}")

    def power(x: torch.Tensor) -> np.ndarray:
        grey = (x - reference).detach().double().mean(dim=1).cpu().numpy()
        return (np.abs(np.fft.fft2(grey)) ** 2).mean(axis=0)

    out, src = power(images), power(sources)
    f = np.abs(np.fft.fftfreq(size) * size)
    fx, fy = np.meshgrid(f, f)
    band = np.maximum(fx, fy) >= size // 4
    period2 = band & period_lines(size, 2)
    period4 = band & period_lines(size, 4) & ~period2
    elsewhere = band & ~period2 & ~period4
    added = out[band].sum() - src[band].sum()

    def share(lines: np.ndarray) -> float:
        return float((out[lines] - src[lines]).sum() / added) if added > 0 else math.nan

    def ratio(bins: np.ndarray) -> float:
        return float(out[bins].sum() / src[bins].sum())

    return {"excess": ratio(band), "period2_ratio": ratio(period2), "period4_ratio": ratio(period4),
            "elsewhere_ratio": ratio(elsewhere), "period2": share(period2), "period4": share(period4),
            "period2_bins": float(period2.sum() / band.sum()), "period4_bins": float(period4.sum() / band.sum())}  # fmt: skip


def flat_region_noise(images: torch.Tensor, reference: torch.Tensor, sigma: float = 1.0, flat_threshold: float = 0.02,
                      tile: int = 8, quantile: float = 0.95) -> np.ndarray:  # fmt: skip
    """Texture ``[N]`` of each image where its reference image is flat (units: [-1, 1] intensity).

    images, reference: ``[N, 3, H, W]`` in [-1, 1], paired (the reference is the ideal output).
    High-pass = image − Gaussian blur (``sigma`` px). A pixel is flat when the reference's
    high-pass stays below ``flat_threshold`` (all channels) within 5×5 px. Per ``tile``×``tile``
    tile with ≥ 1/4 flat pixels (whole tiles from the top left), the RMS high-pass of the image on its flat pixels; the result is
    the ``quantile`` of those tiles, so a patch of artefacts counts even on an otherwise clean face.
    On 32 held-out validation faces of :mod:`baselines.validation` (128 px SynthFACS renders): the
    ideal renders 0.005, the unedited sources (other AUs than the ideal's) 0.008, the sources with
    Gaussian noise of SD 0.01 / 0.03 added 0.013 / 0.030.
    """
    from scipy import ndimage

    if images.ndim != 4 or images.shape != reference.shape:
        raise ValueError(f"images and reference must both be [N, C, H, W] of one shape, got {list(images.shape)} and {list(reference.shape)}")
    if min(images.shape[-2:]) < tile:
        raise ValueError(f"images of {list(images.shape[-2:])} px are smaller than one tile of {tile} px")
    x, ref = images.detach().double().cpu().numpy(), reference.detach().double().cpu().numpy()

    def high_pass(a: np.ndarray) -> np.ndarray:
        return a - ndimage.gaussian_filter(a, sigma=(0, 0, sigma, sigma), mode="nearest")

    edge = ndimage.maximum_filter(np.abs(high_pass(ref)).max(axis=1), size=(1, 5, 5), mode="nearest")
    flat = (edge < flat_threshold).astype(float)  # [N, H, W]
    energy = np.square(high_pass(x)).mean(axis=1) * flat
    n, h, w = flat.shape[0], flat.shape[1] // tile * tile, flat.shape[2] // tile * tile  # whole tiles only
    flat, energy = flat[:, :h, :w], energy[:, :h, :w]
    tiles = (n, h // tile, tile, w // tile, tile)
    tile_flat = flat.reshape(tiles).mean(axis=(2, 4)).reshape(n, -1)
    tile_rms = np.sqrt(energy.reshape(tiles).mean(axis=(2, 4)).reshape(n, -1) / np.maximum(tile_flat, 1e-12))
    return np.array([np.quantile(r[f >= 0.25], quantile) if (f >= 0.25).any() else np.nan
                     for r, f in zip(tile_rms, tile_flat, strict=True)])  # fmt: skip


def noise_ratio(images: torch.Tensor, sources: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean :func:`flat_region_noise` of the edits ``images`` over that of their unedited ``sources``,
    both against the same ``reference`` (all ``[N, 3, H, W]``, paired): 1 = the edit adds no texture;
    Gaussian noise of SD 0.01 / 0.03 added to the sources reads 1.5 / 3.6 (faces as in
    :func:`flat_region_noise`); NaN when no tile of the reference is flat."""
    edited, unedited = flat_region_noise(images, reference), flat_region_noise(sources, reference)
    if np.isnan(edited).all() or np.isnan(unedited).all():
        return math.nan  # no tile of the reference is flat
    return float(np.nanmean(edited) / np.nanmean(unedited))


def realism_features(analyzer: Analyzer, images: torch.Tensor, analysis: Analysis | None = None) -> torch.Tensor:
    """Features used for realism [N, F]: ``analyzer.features(images)`` if it exists, else AUs ⊕ identity."""
    features = getattr(analyzer, "features", None)
    if callable(features):
        with torch.no_grad():
            out = features(images)
        maps = out if isinstance(out, (tuple, list)) else (out,)
        # a feature pyramid: global average of every level, concatenated
        return torch.cat([m.float().mean(dim=(2, 3)) if m.ndim == 4 else m.float().flatten(1) for m in maps], dim=1)
    analysis = analysis or analyze(analyzer, images)
    return torch.cat([analysis.aus.float(), analysis.identity.float()], dim=1)


@dataclass
class RealismScorer:
    """Typicality of faces under a reference distribution of analyzer features (SynthFACS renders).

    ``fit(features [M, F])`` stores the mean, a shrunk covariance's inverse
    (``(1 − s)·Σ + s·mean(diag Σ)·I``, s = ``shrinkage``), and the reference faces' distances.
    ``distance(features)`` is the Mahalanobis distance [N]; ``score(features)`` [N] is that
    distance as a z-score of the reference distances, sign flipped: ``(mean_ref − d) / sd_ref``.
    Units: reference standard deviations; higher = more realistic, 0 = the average reference
    face, negative = farther out. It is not bounded: a face twice as far out as another beyond the
    reference's support still scores lower. (The share of reference faces at least as far, used
    before, is 0 for every face beyond the farthest reference face: on ``synthfacs128`` it gave
    0.002–0.035 to Cascade EF-GAN, StarGAN, noise of SD 0.3 and an uncapped linear edit alike,
    which score −3.3, −3.1, −4.3 and −3.8 here.)

    The reference distances are cross-fitted (``folds``-fold: each face's distance under the mean
    and covariance of the other folds), so a new face from the reference distribution scores
    about 0 (−0.2 for 64 held-out renders with 512 reference renders). In-sample distances are
    biased low when M is not much larger than F: with 128 SynthFACS renders and 264 features they
    put every held-out render beyond all the reference faces.
    """

    shrinkage: float = 0.1
    folds: int = 5

    def fit(self, features: torch.Tensor | np.ndarray) -> RealismScorer:
        x = np.asarray(torch.as_tensor(features).double())
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"realism reference needs [M >= 2, F] features, got shape {x.shape}")
        self.mean_ = x.mean(axis=0)
        cov = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
        target = np.eye(x.shape[1]) * max(float(np.trace(cov)) / x.shape[1], 1e-12)
        self.precision_ = np.linalg.pinv((1 - self.shrinkage) * cov + self.shrinkage * target)
        self.reference_distances_ = np.sort(self._cross_fitted_distances(x))
        self.center_ = float(self.reference_distances_.mean())
        spread = float(self.reference_distances_.std(ddof=1)) if len(x) > 2 else 0.0
        self.spread_ = max(spread, 1e-12 * max(self.center_, 1.0))
        return self

    def _cross_fitted_distances(self, x: np.ndarray) -> np.ndarray:
        """Distance of each reference face under a scorer fitted without its fold (in-sample when
        there are too few faces for ``folds`` folds of at least 2)."""
        if self.folds < 2 or len(x) < 2 * self.folds + 2:
            return self._distance(x)
        from sklearn.model_selection import KFold

        distances = np.empty(len(x))
        for train, held_out in KFold(self.folds, shuffle=True, random_state=0).split(x):
            inner = RealismScorer(self.shrinkage, folds=0).fit(x[train])
            distances[held_out] = inner._distance(x[held_out])
        return distances

    def _distance(self, x: np.ndarray) -> np.ndarray:
        d = x - self.mean_
        return np.sqrt(np.maximum(np.einsum("nf,fg,ng->n", d, self.precision_, d), 0.0))

    def distance(self, features: torch.Tensor | np.ndarray) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise ValueError("RealismScorer is not fitted; call fit on reference features first")
        return self._distance(np.asarray(torch.as_tensor(features).double()))

    def score(self, features: torch.Tensor | np.ndarray) -> np.ndarray:
        """Realism [N] in reference SDs: ``(mean − d) / sd`` of the reference distances (higher = more realistic)."""
        d = self.distance(features)
        return (self.center_ - d) / self.spread_


def measure_edits(
    analyzer: Analyzer,
    originals: torch.Tensor,
    edited: torch.Tensor,
    targets: Sequence[str] | Sequence[Sequence[str]],
    realism: RealismScorer | None = None,
    batch_size: int = 64,
) -> pd.DataFrame:
    """All measures for pairs originals[i] -> edited[i] ([N, 3, H, W] each) in one DataFrame.

    ``targets``: the target AUs of every pair (one list), or one list per pair. Columns:
    ``targets`` (space-separated codes), ``target_change``, ``change_<AU>`` for each AU (target
    or not), ``leakage``, ``outside_share``, ``identity_drift``, and ``realism`` if a scorer is given.
    """
    n = originals.shape[0]
    if edited.shape[0] != n:
        raise ValueError(f"{n} originals but {edited.shape[0]} edited images")
    per_pair = [list(targets)] * n if targets and isinstance(targets[0], str) else [list(t) for t in targets]
    if len(per_pair) != n:
        raise ValueError(f"{len(per_pair)} target lists for {n} pairs")
    per_pair = [[normalize_au(t) for t in ts] for ts in per_pair]
    a_orig = analyze(analyzer, originals, batch_size)
    a_edit = analyze(analyzer, edited, batch_size)
    size = originals.shape[-1]
    parts_o, parts_e = a_orig.parts_at(size), a_edit.parts_at(size)
    delta = (a_edit.aus - a_orig.aus).float()
    drift = identity_drift(a_orig.identity, a_edit.identity)
    rows = []
    realism_scores = None
    if realism is not None:
        realism_scores = realism.score(realism_features(analyzer, edited, a_edit))
    for i, ts in enumerate(per_pair):
        region = region_mask(parts_o[i : i + 1], ts) | region_mask(parts_e[i : i + 1], ts)
        row = {
            "pair": i,
            "targets": " ".join(ts),
            "target_change": float(target_change(a_orig.aus[i : i + 1], a_edit.aus[i : i + 1], ts).mean()),
            "leakage": float(leakage(a_orig.aus[i : i + 1], a_edit.aus[i : i + 1], ts)[0]),
            "outside_share": float(outside_share(originals[i : i + 1], edited[i : i + 1], region)[0]),
            "identity_drift": float(drift[i]),
        }
        row.update({f"change_{code}": float(delta[i, j]) for j, code in enumerate(AU_CODES)})
        if realism_scores is not None:
            row["realism"] = float(realism_scores[i])
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame, by: str | None = "targets") -> pd.DataFrame:
    """Mean of the headline measures (per ``by`` group, or overall with ``by=None``)."""
    cols = [c for c in ("target_change", "leakage", "outside_share", "identity_drift", "realism") if c in frame]
    if by is None:
        return frame[cols].mean().to_frame().T
    return frame.groupby(by)[cols].mean().reset_index()


def attribute_dependency(
    aus_orig: torch.Tensor | np.ndarray,
    aus_edit: torch.Tensor | np.ndarray,
    targets: Sequence[str],
    std: torch.Tensor | np.ndarray,
    bins: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Attribute Dependency (AD; Wu, Lischinski & Shechtman, "StyleSpace Analysis", CVPR 2021) of edits.

    The paper edits a target attribute t and measures every attribute with a classifier: the
    change ``Δl_i`` of each other attribute's logit is divided by that logit's standard
    deviation ``σ_i`` over generated images; mean-AD is ``E[mean_{i≠t} |Δl_i| / σ_i]`` and max-AD
    ``E[max_{i≠t} |Δl_i| / σ_i]``, reported as functions of the target's own change ``Δl_t / σ_t``
    (lower is better disentangled). Here the attributes are the 16 AUs and the measurements are
    AU intensities (the analyzer's or true ones) instead of classifier logits. The definition
    follows the paper's description; the authors' code (betterze/StyleSpace) has no AD
    implementation to check it against.

    Args:
        aus_orig, aus_edit: ``[N, 16]`` AUs before and after the edits.
        targets: the edited AUs (several: the target change is their mean, AD runs over the rest).
        std: ``[16]`` standard deviation of each AU over reference faces (e.g. the analyzer's AUs
            of generated faces), or reference AUs ``[M, 16]`` to take it from.
        bins: edges of target-change bins (σ units); ``None``: one row per pair.

    Returns:
        Per pair (``bins=None``): ``target_change_sd``, ``mean_ad``, ``max_ad``. Binned: one row per
        non-empty bin with ``bin`` (its interval), the means of those three columns, and ``n``.
    """
    before = torch.as_tensor(aus_orig).double()
    after = torch.as_tensor(aus_edit).double()
    scale = torch.as_tensor(std).double()
    if scale.ndim == 2:
        scale = scale.std(dim=0)
    if before.shape != after.shape or before.ndim != 2 or before.shape[1] != len(AU_CODES) or scale.shape != (len(AU_CODES),):
        raise ValueError(f"need AUs [N, 16] twice and std [16], got {list(before.shape)}, {list(after.shape)}, {list(scale.shape)}")
    if (scale <= 0).any():
        raise ValueError("every AU needs a positive standard deviation")
    idx = _indices(targets)
    others = [i for i in range(len(AU_CODES)) if i not in set(idx)]
    if not idx or not others:
        raise ValueError("attribute dependency needs at least one target AU and one other AU")
    change = (after - before) / scale
    frame = pd.DataFrame({
        "target_change_sd": change[:, idx].mean(dim=1).numpy(),
        "mean_ad": change[:, others].abs().mean(dim=1).numpy(),
        "max_ad": change[:, others].abs().max(dim=1).values.numpy(),
    })  # fmt: skip
    if bins is None:
        return frame
    frame["bin"] = pd.cut(frame["target_change_sd"], list(bins))
    grouped = frame.groupby("bin", observed=True)
    result = grouped[["target_change_sd", "mean_ad", "max_ad"]].mean()
    result["n"] = grouped.size()
    return result.reset_index()


__all__.append("attribute_dependency")
