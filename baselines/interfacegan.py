"""InterFaceGAN (Shen, Gu, Tang & Zhou, CVPR 2020; TPAMI 2020) for AUs on aufx's StyleGAN2.

The method (genforce/interfacegan ``utils/manipulator.py``): a linear SVM per attribute separates
latent codes of faces with the attribute from faces without it; its unit normal ``n`` is the edit
direction, and the signed distance ``d(w) = nᵀw + b`` measures the attribute. An edit moves
``w + α n``. Conditional manipulation keeps attribute 2 fixed by editing along
``n1 − (n1ᵀn2) n2`` (normalised); for several conditions the direction is ``n1`` projected onto
the orthogonal complement of the conditions' span (what the authors' two-condition formula
computes).

Here, per AU (:func:`fit_boundaries`):

* **faces and labels** — ``n_faces`` latents w = mapping(z) of the bundled generator, labelled by
  their true AUs ``params_from_z(z)`` (no synthesis, no classifier);
* **binarisation** — the authors' rule: faces sorted by the AU, the top ``share`` are positives,
  the bottom ``share`` negatives, split ``split``/``1 − split`` into training and validation.
  They used 2 % of 500,000 faces; we use 5 % of 20,000 (1,000 faces a side): the AUs' point mass at
  0 (78–92 % of faces show none of an AU) leaves 8 % of faces with AU10 > 0, so a top share above
  that would take neutral faces as positives (refused with an error);
* **SVM** — scikit-learn ``LinearSVC`` (L2-regularised squared hinge, primal, ``C``), on w
  centred by the fitting faces' mean and projected onto their principal subspace (components
  explaining ``pca_variance`` of the variance: 62 of 512 on ``synthfacs128``, whose z has 64
  dims). Two departures from the authors' plain SVM (on their PGGAN/StyleGAN latents), both for
  this generator's W, a 64-dimensional manifold inside 512 dimensions: (1) fitted in all of W the
  SVM leans on directions along which faces barely vary and the generator was never trained:
  +2 edits then rise by +0.52 on average instead of +0.96 (analyzer, 50 faces,
  ``benchmarks/bench_latent_peers.py``); (2) ``C = 0.01``: in the subspace the validation
  accuracy (the authors' 70/30 split) is flat at 0.965 for C from 1 to 0.01 and falls below
  (0.946 at 0.001), and 0.01 gives the distance the highest correlation with the AU (0.730).
  Numbers: ``baselines/weights/interfacegan.md``;
* **calibration** — OLS of the true AU on the signed distance over all fitting faces,
  ``AU ≈ intercept + slope·d``; a request "+2 on AU12" moves ``d`` by ``2 / slope``. With several
  target AUs (an emotion) or held AUs, the step lies in the span of the targets' normals projected
  off the held AUs' span, with coefficients solved so that every target's distance moves by its
  request and every held one by 0 (:meth:`Boundaries.edit_vector`).

W+ latents (e.g. from a W+ inversion) get the same step on every layer, as in the authors'
``linear_interpolate``; their distance is measured on the mean over layers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.aus import AU_CODES, AU_INDEX, AU_MAX, AU_MIN, N_AUS, normalize_au
from aufx.gan import Generator
from baselines.base import WEIGHTS_DIR, BaselineError
from baselines.checkpoints import CheckpointError
from baselines.latent_edit import LatentPeer, scene_faces

BUNDLED = WEIGHTS_DIR / "interfacegan.npz"


@dataclass
class InterFaceGANConfig:
    """Fitting and editing settings (module doc)."""

    n_faces: int = 20_000
    seed: int = 0
    share: float = 0.05
    split: float = 0.7
    C: float = 0.01
    pca_variance: float | None = 0.99
    max_iter: int = 10_000
    invert_steps: int = 200
    min_change: float = 0.5


@dataclass
class Boundaries:
    """One linear boundary per AU in W.

    Attributes:
        normals: ``[16, w_dim]`` unit normals (pointing to more of the AU).
        offsets: ``[16]``; signed distance ``d = normals @ w + offsets`` (W units).
        slopes, intercepts: ``[16]``; ``AU ≈ intercept + slope·d`` on the fitting faces.
        val_accuracy: ``[16]`` accuracy on the held-out positives and negatives.
        r: ``[16]`` correlation of ``d`` with the true AU over the fitting faces.
    """

    normals: np.ndarray
    offsets: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    val_accuracy: np.ndarray
    r: np.ndarray

    def distances(self, w: torch.Tensor) -> torch.Tensor:
        """Signed distances ``[N, 16]`` of W ``[N, w_dim]`` (W+: the mean over layers)."""
        w = w.mean(dim=1) if w.ndim == 3 else w
        return w.double() @ torch.from_numpy(self.normals).double().T + torch.from_numpy(self.offsets).double()

    def predict(self, w: torch.Tensor) -> torch.Tensor:
        """Linear estimate of the AUs ``[N, 16]`` (clamped to 0–5)."""
        aus = torch.from_numpy(self.intercepts) + torch.from_numpy(self.slopes) * self.distances(w)
        return aus.clamp(AU_MIN, AU_MAX).float()

    def edit_vector(self, change: Mapping[str, float], hold: Sequence[str] = ()) -> torch.Tensor:
        """The W step ``[w_dim]`` whose predicted AU changes are ``change`` (AU units) and 0 for ``hold``.

        One target AU without conditions: ``(Δ / slope)·n``. Otherwise the step is ``Σ c_j m_j``
        over the target AUs' normals ``m_j`` projected onto the orthogonal complement of the held
        AUs' normals, with ``c`` solving ``N_T Mᵀ c = Δ / slope`` (every target's distance moves by
        its request; the held distances do not move).
        """
        targets = [normalize_au(a) for a in change]
        held = [normalize_au(h) for h in hold if normalize_au(h) not in targets]
        if not targets:
            return torch.zeros(self.normals.shape[1])
        t_idx, h_idx = [AU_INDEX[a] for a in targets], [AU_INDEX[a] for a in held]
        normals = self.normals.astype(np.float64)
        m = normals[t_idx]
        if h_idx:
            q, _ = np.linalg.qr(normals[h_idx].T)  # orthonormal basis of the held AUs' span
            m = m - (m @ q) @ q.T
        gram = normals[t_idx] @ m.T
        distance = np.array([change[a] for a in change], dtype=np.float64) / self.slopes[t_idx]
        coeffs, *_ = np.linalg.lstsq(gram, distance, rcond=None)
        if np.linalg.norm(m, axis=1).min() < 1e-6:
            raise BaselineError(f"the normal of {targets} lies in the span of the held AUs {held}")
        return torch.from_numpy(coeffs @ m).float()

    def save(self, path: str | os.PathLike, config: InterFaceGANConfig, generator: str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, normals=self.normals.astype(np.float32), offsets=self.offsets, slopes=self.slopes,
                 intercepts=self.intercepts, val_accuracy=self.val_accuracy, r=self.r, au_codes=np.array(AU_CODES),
                 config=json.dumps(asdict(config)), generator=generator)  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[Boundaries, dict]:
        """(boundaries, the config they were fitted with) from a file written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such boundaries file")
        try:
            with np.load(path, allow_pickle=False) as data:
                if tuple(str(c) for c in data["au_codes"]) != AU_CODES:
                    raise CheckpointError(f"{path}: AU order {list(data['au_codes'])} differs from {list(AU_CODES)}")
                fields = {k: np.asarray(data[k], dtype=np.float64) for k in ("offsets", "slopes", "intercepts", "val_accuracy", "r")}
                bounds = cls(normals=np.asarray(data["normals"], dtype=np.float64), **fields)
                config = json.loads(str(data["config"]))
        except (KeyError, ValueError, OSError) as error:
            raise CheckpointError(f"{path}: not an InterFaceGAN boundaries file ({error})") from None
        return bounds, config


def principal_basis(w: np.ndarray, variance: float | None) -> np.ndarray:
    """Orthonormal ``[w_dim, k]`` basis of the principal subspace of centred ``w`` holding ``variance``
    of its variance (identity when ``variance`` is ``None``)."""
    if variance is None:
        return np.eye(w.shape[1])
    _, s, vt = np.linalg.svd(w - w.mean(axis=0), full_matrices=False)
    cumulative = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.searchsorted(cumulative, variance)) + 1
    return vt[: min(k, len(s))].T


def binarise(scores: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative) indices: the top and bottom ``share`` of ``scores`` (ties in random order).

    Raises:
        ValueError: when the two sets overlap in score (too few faces show the attribute).
    """
    chosen = max(2, min(int(len(scores) * share), len(scores) // 2))
    perm = rng.permutation(len(scores))
    order = perm[np.argsort(scores[perm], kind="stable")]
    negative, positive = order[:chosen], order[-chosen:]
    if scores[positive].min() <= scores[negative].max():
        raise ValueError(f"the top {share:.1%} of faces do not all score above the bottom {share:.1%} "
                         f"({scores[positive].min():g} vs {scores[negative].max():g}): lower the share")  # fmt: skip
    return positive, negative


def fit_boundary(w: np.ndarray, scores: np.ndarray, basis: np.ndarray, config: InterFaceGANConfig,
                 rng: np.random.Generator) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """(unit normal ``[w_dim]``, offset, validation accuracy) of one attribute's SVM in W."""
    from sklearn.svm import LinearSVC

    positive, negative = binarise(scores, config.share, rng)
    n_train = max(1, int(len(positive) * config.split))
    pos, neg = rng.permutation(positive), rng.permutation(negative)
    mean = w.mean(axis=0)
    x = lambda idx: (w[idx] - mean) @ basis  # noqa: E731
    train = np.concatenate([pos[:n_train], neg[:n_train]])
    labels = np.r_[np.ones(n_train), np.zeros(n_train)]
    svm = LinearSVC(C=config.C, dual=False, max_iter=config.max_iter).fit(x(train), labels)
    val = np.concatenate([pos[n_train:], neg[n_train:]])
    accuracy = float(svm.score(x(val), np.r_[np.ones(len(pos) - n_train), np.zeros(len(neg) - n_train)])) if len(val) else float("nan")
    a = basis @ svm.coef_[0]
    norm = float(np.linalg.norm(a))
    normal = a / norm
    return normal, float(svm.intercept_[0]) / norm - float(normal @ mean), accuracy


def fit_boundaries(w: np.ndarray | torch.Tensor, aus: np.ndarray, config: InterFaceGANConfig | None = None) -> Boundaries:
    """Fit one boundary per AU to latents W ``[N, w_dim]`` labelled by AUs ``[N, 16]`` (module doc)."""
    config = config or InterFaceGANConfig()
    w = np.asarray(torch.as_tensor(w).double())
    aus = np.asarray(aus, dtype=np.float64)
    if w.ndim != 2 or aus.shape != (w.shape[0], N_AUS):
        raise ValueError(f"need W [N, w_dim] and AUs [N, 16], got {list(w.shape)} and {list(aus.shape)}")
    rng = np.random.default_rng(config.seed)
    basis = principal_basis(w, config.pca_variance)
    rows = []
    for j, code in enumerate(AU_CODES):
        try:
            normal, offset, accuracy = fit_boundary(w, aus[:, j], basis, config, rng)
        except ValueError as error:
            raise ValueError(f"{code}: {error}") from None
        d = w @ normal + offset
        slope, intercept = np.polyfit(d, aus[:, j], 1)
        rows.append((normal, offset, slope, intercept, accuracy, float(np.corrcoef(d, aus[:, j])[0, 1])))
    cols = list(zip(*rows, strict=True))
    return Boundaries(np.stack(cols[0]), *(np.array(c, dtype=np.float64) for c in cols[1:]))


class InterFaceGAN(LatentPeer):
    """InterFaceGAN adapter: ``edit(images, AUEdit({"AU12": 2}, source_ws=w))`` (targets: :mod:`baselines.latent_edit`)."""

    name = "interfacegan"
    description = "InterFaceGAN (Shen et al. 2020): linear SVM boundaries per AU in W, edits along their normals"

    def __init__(self, generator: Generator | None = None, config: InterFaceGANConfig | None = None) -> None:
        super().__init__(generator)
        self.config = config or InterFaceGANConfig()
        self.invert_steps, self.min_change = self.config.invert_steps, self.config.min_change
        self.boundaries: Boundaries | None = None

    def bundled_path(self) -> Path:
        return BUNDLED

    def train(self, w: torch.Tensor | None = None, aus: np.ndarray | None = None, **_: Any) -> InterFaceGAN:
        """Fit the 16 boundaries on ``config.n_faces`` generated faces and their true AUs (or on ``w``, ``aus``)."""
        if w is None or aus is None:
            w, aus = scene_faces(self.generator, self.config.n_faces, self.config.seed)
        self.boundaries = fit_boundaries(w, aus, self.config)
        self.weights_source = f"fitted on {len(aus)} faces"
        return self

    def save(self, path: str | os.PathLike, generator: str = "synthfacs128") -> Path:
        return self._need().save(path, self.config, generator)

    def load(self, checkpoint: str | os.PathLike | None = None) -> InterFaceGAN:
        """Load boundaries written by :meth:`save` (``None``: the bundled ones)."""
        path = self._checkpoint_path(checkpoint, "no bundled InterFaceGAN boundaries; fit them with "
                                     "`python -m baselines.interfacegan --out baselines/weights/interfacegan.npz`")  # fmt: skip
        bounds, config = Boundaries.load(path)
        if self._generator is not None and bounds.normals.shape[1] != self.generator.w_dim:
            raise CheckpointError(f"{path}: boundaries of w_dim {bounds.normals.shape[1]}, generator has {self.generator.w_dim}")
        self._loaded(InterFaceGANConfig, config, path, bundled=checkpoint is None)
        self.boundaries = bounds
        return self

    def _need(self) -> Boundaries:
        if self.boundaries is None:
            raise BaselineError("interfacegan has no boundaries: call load() or train()")
        return self.boundaries

    def estimate_aus(self, images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        return self._need().predict(ws)

    def edit_w(self, ws: torch.Tensor, change: Mapping[str, float], hold: Sequence[str] = ()) -> torch.Tensor:
        """Latents ``ws`` (W or W+) moved so that the predicted AUs change by ``change``."""
        step = self._need().edit_vector(change, hold).to(ws)
        return ws + (step[None, None] if ws.ndim == 3 else step[None])

    def edit_latents(self, ws: torch.Tensor, change: torch.Tensor, mask: torch.Tensor,
                     hold: Sequence[Sequence[str]]) -> torch.Tensor:  # fmt: skip
        moved = torch.stack([
            self.edit_w(ws[i : i + 1], {AU_CODES[j]: float(change[i, j]) for j in torch.nonzero(mask[i]).flatten().tolist()},
                        hold[i])[0]
            for i in range(ws.shape[0])
        ])  # fmt: skip
        with torch.no_grad():
            return self.generator.synthesis(moved)


def main(argv: list[str] | None = None) -> None:
    """Fit the boundaries on the bundled generator and write them (``--out``)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m baselines.interfacegan", description=main.__doc__)
    parser.add_argument("--out", default=str(BUNDLED))
    parser.add_argument("--n-faces", type=int, default=InterFaceGANConfig.n_faces)
    parser.add_argument("--seed", type=int, default=InterFaceGANConfig.seed)
    args = parser.parse_args(argv)
    start = time.process_time()
    adapter = InterFaceGAN(config=InterFaceGANConfig(n_faces=args.n_faces, seed=args.seed)).train()
    path = adapter.save(args.out)
    b = adapter.boundaries
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in {time.process_time() - start:.1f} CPU-s")
    print("AU    val_acc   r     slope")
    for j, code in enumerate(AU_CODES):
        print(f"{code}  {b.val_accuracy[j]:.3f}  {b.r[j]:.3f}  {b.slopes[j]:.3f}")


if __name__ == "__main__":
    main()
