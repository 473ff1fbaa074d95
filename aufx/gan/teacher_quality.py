"""Measures of a generator distilled from SynthFACS against its teacher (the renderer).

A distilled generator's latents have known scenes (:func:`aufx.synthfacs.latent.params_from_z`),
so each generated face can be compared with the render of its own scene, not only with the
distribution of renders:

- **L1 to the teacher**: mean absolute difference per pixel and channel on [-1, 1] between
  ``G(z)`` and ``render(params_from_z(z))`` (both through uint8), over the whole image and over
  the brow, eye, nose and mouth pixels (:data:`aufx.gan.distill.FEATURE_PARTS`) alone;
- **AU fidelity**: Pearson r, per AU, between the analyzer's AUs of ``G(z)`` and the true AUs
  ``params_from_z(z).aus``, beside the same r on renders (the analyzer's own ceiling);
- **AU co-occurrence**: Spearman correlation between the upper triangles of the AUs'
  correlation matrix on generated faces (analyzer) and on SynthFACS (true AUs of renders), beside
  the same on renders (the floor of the analyzer's reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from aufx.aus import AU_CODES, N_AUS


@dataclass
class TeacherError:
    """Running sums of |G(z) - teacher| over all pixels and over the feature-part pixels."""

    total: float = 0.0
    pixels: int = 0
    feature_total: float = 0.0
    feature_pixels: int = 0
    true_aus: list[np.ndarray] = field(default_factory=list)

    def add(self, images: torch.Tensor, z: torch.Tensor) -> np.ndarray:
        """Compare a batch ``images`` ``[B, 3, R, R]`` (uint8-quantised, [-1, 1]) with the renders of ``z``;
        returns the true AUs ``[B, 16]`` of the batch."""
        from aufx.gan.distill import feature_mask, render_targets
        from aufx.imageio import from_uint8, to_uint8
        from aufx.synthfacs.latent import params_from_z

        target = render_targets(z, images.shape[-1], with_parts=True)
        error = (images - from_uint8(to_uint8(target.images))).abs()
        mask = feature_mask(target.parts)
        self.total += float(error.sum())
        self.pixels += error.numel()
        self.feature_total += float((error * mask).sum())
        self.feature_pixels += int(mask.sum()) * 3
        aus = params_from_z(z.numpy()).aus
        self.true_aus.append(aus)
        return aus

    @property
    def l1(self) -> float:
        return self.total / max(self.pixels, 1)

    @property
    def feature_l1(self) -> float:
        return self.feature_total / max(self.feature_pixels, 1)


def _per_au_r(measured: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {code: float(np.corrcoef(measured[:, k], truth[:, k])[0, 1]) for k, code in enumerate(AU_CODES)}


def co_occurrence_agreement(aus: np.ndarray, reference: np.ndarray) -> float:
    """Spearman correlation of the upper triangles of the two ``[N, 16]`` sets' AU correlation matrices."""
    upper = np.triu_indices(N_AUS, 1)
    return float(stats.spearmanr(np.corrcoef(aus.T)[upper], np.corrcoef(reference.T)[upper]).statistic)


def teacher_summary(error: TeacherError, generated_aus: np.ndarray, render_aus: np.ndarray,
                    render_truth: np.ndarray) -> dict:  # fmt: skip
    """The measures of the module docstring as a JSON-friendly dict."""
    truth = np.concatenate(error.true_aus)
    r_gen, r_render = _per_au_r(generated_aus, truth), _per_au_r(render_aus, render_truth)
    return {
        "l1": error.l1, "feature_l1": error.feature_l1,
        "au_r": r_gen, "au_r_mean": float(np.mean(list(r_gen.values()))), "au_r_min": float(min(r_gen.values())),
        "au_r_renders": r_render, "au_r_renders_mean": float(np.mean(list(r_render.values()))),
        "co_occurrence": co_occurrence_agreement(generated_aus, render_truth),
        "co_occurrence_renders": co_occurrence_agreement(render_aus, render_truth),
    }  # fmt: skip


def teacher_markdown(summary: dict) -> list[str]:
    """Markdown rows (appended to the quality table) for :func:`teacher_summary`'s dict."""
    worst = min(summary["au_r"], key=summary["au_r"].get)
    return [
        "",
        "| against the teacher (same latents) | generated | renders (analyzer's ceiling) |",
        "|---|---:|---:|",
        f"| L1 to the render of the latent's scene, per pixel on [-1, 1] | {summary['l1']:.4f} | 0 |",
        f"| L1 on brow, eye, nose and mouth pixels | {summary['feature_l1']:.4f} | 0 |",
        f"| analyzer AUs vs true AUs: mean r over 16 AUs | {summary['au_r_mean']:.3f} | {summary['au_r_renders_mean']:.3f} |",
        f"| lowest r ({worst}) | {summary['au_r_min']:.3f} | {summary['au_r_renders'][worst]:.3f} |",
        f"| AU co-occurrence vs SynthFACS (Spearman of correlation matrices) | {summary['co_occurrence']:.3f} "
        f"| {summary['co_occurrence_renders']:.3f} |",
    ]  # fmt: skip
