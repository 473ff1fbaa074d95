"""Linear AU directions in W from the global editor's weights (paper Sec. 3.1, 4.1; Fig. 4, 5).

Eq. 1:  n_au = W1 · W2 · W3,au · W4,au · W5,au        (paper's row-vector convention x · W)
Eq. 2:  n_edit = W1 · W2 · Σ_{au ∈ AU_edit} λ_au W3,au · W4,au · W5,au = Σ λ_au n_au

PyTorch's ``nn.Linear.weight`` is the transpose ([out, in]), so here
``n_au = D · W1ᵀ · W2ᵀ · W3ᵀ · W4ᵀ · W5ᵀ`` with ``D = diag(1 / input_scale)`` from the editor's
fixed input standardisation. For an editor with linear activations this is exactly the
gradient of its AU output with respect to w; with ReLUs it is the product the paper takes.

Orthogonalised directions (Fig. 5): ``n_au ⊥ {n_b}`` is ``n_au`` minus its projection on the
span of the chosen other directions. Calibration rescales each direction so that a step of +1
moves the AU by about +1 as a measure (the analyzer on generated images, or the editor) sees
it. :func:`direction_correlation` is Fig. 4: the projection of each unit direction on the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aufx.aus import AU_CODES, AU_INDEX, N_AUS, normalize_au
from aufx.edit.global_editor import GlobalEditor
from aufx.files import write_figure


def branch_vectors(editor: GlobalEditor) -> torch.Tensor:
    """Per-AU branch products ``W3,au · W4,au · W5,au`` stacked: [16, h2] (h2 = second shared width)."""
    rows = []
    for i in range(N_AUS):
        w3, w4, w5 = editor.branch_weights(i)
        rows.append((w3.T @ w4.T @ w5.T)[:, 0])
    return torch.stack(rows).detach()


def shared_matrix(editor: GlobalEditor) -> torch.Tensor:
    """``D · W1 · W2`` in the paper's convention: [w_dim, h2]."""
    return (editor.fc1.weight.T @ editor.fc2.weight.T / editor.input_scale[:, None]).detach()


def au_directions(editor: GlobalEditor) -> torch.Tensor:
    """Eq. 1 for all 16 AUs: [16, w_dim], row i = n_{AU_CODES[i]}."""
    return (shared_matrix(editor) @ branch_vectors(editor).T).T.contiguous()


def jacobian_directions(editor: GlobalEditor, w: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Mean gradient of each AU output over faces w [N, w_dim]: [16, w_dim] (not in the paper).

    Eq. 1 multiplies the weight matrices as if every ReLU were open; with ReLUs the editor's
    actual local direction is its gradient, which depends on the face. Averaged over faces it is
    the direction that raises the AU on average. On the bundled editor (30,000 faces) its Fig. 4
    agrees better with SynthFACS's AU correlation (Spearman ρ 0.45 against 0.21 for Eq. 1).
    """
    total = torch.zeros(N_AUS, w.shape[-1], dtype=torch.float64)
    with torch.enable_grad():
        for start in range(0, len(w), batch):
            chunk = w[start : start + batch].detach().clone().requires_grad_(True)
            out = editor(chunk)
            for i in range(N_AUS):
                (grad,) = torch.autograd.grad(out[:, i].sum(), chunk, retain_graph=i < N_AUS - 1)
                total[i] += grad.double().sum(dim=0)
    return (total / len(w)).to(w.dtype)


def combined_direction(editor: GlobalEditor, intensities: Mapping[str, float]) -> torch.Tensor:
    """Eq. 2: ``W1 · W2 · Σ λ_au W3,au · W4,au · W5,au`` for ``{"AU12": λ, ...}``: [w_dim]."""
    lam = torch.zeros(N_AUS)
    for name, value in intensities.items():
        lam[AU_INDEX[normalize_au(name)]] = float(value)
    return shared_matrix(editor) @ (lam @ branch_vectors(editor))


def orthogonalize(direction: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """Component of ``direction`` [D] orthogonal to the span of the rows of ``others`` [K, D].

    Uses a QR basis of the span (Gram–Schmidt in exact arithmetic), so linearly dependent
    ``others`` are handled; the result has zero dot product with every row of ``others``.
    """
    if others.numel() == 0:
        return direction.clone()
    basis = others.double().T  # [D, K]
    q, r = torch.linalg.qr(basis)
    keep = r.diagonal().abs() > 1e-10 * r.diagonal().abs().max().clamp_min(1e-300)
    q = q[:, keep]
    d = direction.double()
    return (d - q @ (q.T @ d)).to(direction.dtype)


def direction_correlation(directions: torch.Tensor) -> pd.DataFrame:
    """Fig. 4: C[i, j] = projection of unit n_i on unit n_j (cosine), a 16×16 frame indexed by AU codes."""
    unit = directions / directions.norm(dim=1, keepdim=True).clamp_min(1e-12)
    corr = (unit @ unit.T).double().numpy()
    return pd.DataFrame(corr, index=list(AU_CODES), columns=list(AU_CODES))


def correlation_agreement(corr: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Spearman ρ between the off-diagonal entries (upper triangle) of two 16×16 AU matrices."""
    from scipy.stats import spearmanr

    a = corr.loc[list(AU_CODES), list(AU_CODES)].to_numpy()
    b = reference.loc[list(AU_CODES), list(AU_CODES)].to_numpy()
    iu = np.triu_indices(N_AUS, k=1)
    return float(spearmanr(a[iu], b[iu]).statistic)


def save_correlation(corr: pd.DataFrame, out_dir: str | os.PathLike, stem: str = "fig4_direction_correlation") -> tuple[Path, Path]:
    """Write the Fig. 4 matrix as ``<stem>.csv`` (index and columns AU codes) and a heatmap ``<stem>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.png"
    corr.to_csv(csv_path, index_label="AU")
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(N_AUS), corr.columns, rotation=90)
    ax.set_yticks(range(N_AUS), corr.index)
    for i in range(N_AUS):
        for j in range(N_AUS):
            ax.text(j, i, f"{corr.iat[i, j]:.1f}", ha="center", va="center", fontsize=6)
    ax.set_title("Projection of each AU direction on the others (Fig. 4)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    write_figure(fig, png_path, dpi=120)
    return csv_path, png_path


Measure = Callable[[torch.Tensor], torch.Tensor]


def calibrate(
    directions: torch.Tensor, measure: Measure, w: torch.Tensor, step: float = 1.0, batch: int = 64
) -> torch.Tensor:
    """AU change per unit of each raw direction: slopes [16] (AU intensity per 1·n_i).

    ``measure`` maps latents W [M, w_dim] to AU intensities [M, 16] (the analyzer on the
    generator's images, or the editor). For AU i, w moves by ±t·n_i with ``t = step / |n_i|``
    (a W-space distance of ``step``) and the slope is the mean over the faces ``w`` [N, w_dim] of
    ``(m(w + t·n_i) - m(w - t·n_i))_i / 2t``. The calibrated direction is ``n_i / slope_i``.
    """
    slopes = torch.empty(N_AUS)
    with torch.no_grad():
        for i in range(N_AUS):
            n = directions[i]
            s = step / float(n.norm().clamp_min(1e-12))
            probes = torch.cat([w + s * n, w - s * n])
            values = torch.cat([measure(probes[k : k + batch]) for k in range(0, len(probes), batch)])
            up, down = values[: len(w), i], values[len(w) :, i]
            slopes[i] = (up - down).mean() / (2 * s)
    return slopes


@dataclass
class AUDirections:
    """Raw Eq. 1 directions [16, w_dim] and calibration slopes [16] (AU units per unit of raw n).

    ``unit(au)`` is the calibrated direction: moving w by it raises the AU by about 1.
    """

    vectors: torch.Tensor
    slopes: torch.Tensor | None = None

    @classmethod
    def from_editor(cls, editor: GlobalEditor, slopes: Sequence[float] | torch.Tensor | None = None) -> AUDirections:
        return cls(au_directions(editor), None if slopes is None else torch.as_tensor(slopes, dtype=torch.float32))

    def raises(self) -> torch.Tensor:
        """bool [16]: whether each AU's calibrated direction raises it (all True without calibration)."""
        if self.slopes is None:
            return torch.ones(len(AU_CODES), dtype=torch.bool)
        return self.slopes > 1e-8

    def unit(self, au: str) -> torch.Tensor:
        """Calibrated direction of ``au`` [w_dim]; without calibration, the raw n normalised to length 1."""
        i = AU_INDEX[normalize_au(au)]
        n = self.vectors[i]
        if self.slopes is None:
            return n / n.norm().clamp_min(1e-12)
        slope = float(self.slopes[i])
        if not self.raises()[i]:
            raise ValueError(f"{AU_CODES[i]}: its direction does not raise the AU (calibrated slope {slope:.3g}); use mode global-opt")
        return n / slope

    def orthogonal(self, au: str, remove: Sequence[str]) -> torch.Tensor:
        """Fig. 5: the calibrated direction of ``au`` with its components along ``remove`` AUs' directions removed.

        The result is rescaled so its projection on the original calibrated direction is unchanged
        length-wise per unit step (its dot with ``unit(au)`` over |unit(au)|² equals 1).
        """
        base = self.unit(au)
        codes = [normalize_au(r) for r in remove if normalize_au(r) != normalize_au(au)]
        others = torch.stack([self.vectors[AU_INDEX[c]] for c in codes]) if codes else torch.empty(0, base.numel())
        ortho = orthogonalize(base, others)
        gain = float(ortho @ base) / float(base @ base)
        if gain < 1e-6:
            raise ValueError(f"{normalize_au(au)} direction lies (almost) in the span of {', '.join(codes)}")
        return ortho / gain

    def edit_vector(self, changes: Mapping[str, float], orthogonal: bool = False) -> torch.Tensor:
        """Eq. 2 with calibrated directions: Σ λ_au unit(au) [w_dim]; ``orthogonal`` uses each AU's
        direction orthogonalised against all the other 15 (Fig. 5)."""
        total = torch.zeros(self.vectors.shape[1])
        for name, value in changes.items():
            code = normalize_au(name)
            n = self.orthogonal(code, [c for c in AU_CODES if c != code]) if orthogonal else self.unit(code)
            total = total + float(value) * n
        return total

    def apply(self, w: torch.Tensor, changes: Mapping[str, float], orthogonal: bool = False) -> torch.Tensor:
        """w + n_edit for W [N, w_dim] or W+ [N, L, w_dim] (the same step on every layer)."""
        return w + self.edit_vector(changes, orthogonal).to(w)
