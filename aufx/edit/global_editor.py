"""The global editor (paper Sec. 3.1): an AU regressor on W, used to edit latents.

Architecture, exactly as the paper describes it: two shared fully connected layers, then 16
AU branches of three fully connected layers each; ReLU after every layer except the branch
outputs, which are linear; trained with MSE loss and SGD. Input w [N, w_dim], output AUs [N, 16].

An optional fixed input standardisation ``(w - input_mean) / input_scale`` (buffers, set from
the training data) keeps SGD well conditioned; it is affine, so Eq. 1 still holds with the
diagonal ``1 / input_scale`` as a leading factor (see :mod:`aufx.edit.directions`).

Editing by optimisation (:func:`optimize_edit`): gradient descent on w so that the prediction
reaches the target AU values while unspecified AUs stay at their starting predictions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from aufx.aus import AU_CODES, AU_INDEX, N_AUS, normalize_au
from aufx.edit.dataset import LatentDataset
from aufx.files import save_torch, stored_tensor

EDITOR_FORMAT = "aufx-global-editor"
EDITOR_VERSION = 1


@dataclass(frozen=True)
class EditorConfig:
    """Layer widths of the global editor (the paper gives the structure, not the widths)."""

    w_dim: int = 512
    shared: tuple[int, int] = (512, 256)
    branch: tuple[int, int] = (64, 32)
    activation: str = "relu"  # "linear" only for analysis/tests (Eq. 1 = exact gradient)

    def __post_init__(self) -> None:
        if len(self.shared) != 2 or len(self.branch) != 2:
            raise ValueError("the global editor has 2 shared layers and 3 branch layers (2 hidden widths)")
        if self.activation not in ("relu", "linear"):
            raise ValueError(f"activation must be 'relu' or 'linear', got {self.activation!r}")

    @classmethod
    def from_dict(cls, values: Mapping) -> EditorConfig:
        values = dict(values)
        values["shared"] = tuple(values.get("shared", cls.shared))
        values["branch"] = tuple(values.get("branch", cls.branch))
        return cls(**values)


class GlobalEditor(nn.Module):
    """w [N, w_dim] -> AUs [N, 16]: fc1, fc2 (shared), then per AU fc3, fc4, fc5 (linear output).

    The 16 branches are independent layers stored stacked so that all run in one batched
    product: ``w3`` [16, b1, h2], ``w4`` [16, b2, b1], ``w5`` [16, 1, b2] with biases ``b3``,
    ``b4``, ``b5``. :meth:`branch_weights` gives AU i's (W3, W4, W5) in ``nn.Linear``'s
    [out, in] layout, i.e. the transposes of the paper's W in ``x · W``.
    """

    def __init__(self, config: EditorConfig) -> None:
        super().__init__()
        self.config = config
        h1, h2 = config.shared
        b1, b2 = config.branch
        self.fc1 = nn.Linear(config.w_dim, h1)
        self.fc2 = nn.Linear(h1, h2)
        for name, (out_f, in_f) in {"3": (b1, h2), "4": (b2, b1), "5": (1, b2)}.items():
            bound = 1.0 / math.sqrt(in_f)  # nn.Linear's default initialisation, per branch
            self.register_parameter(f"w{name}", nn.Parameter(torch.empty(N_AUS, out_f, in_f).uniform_(-bound, bound)))
            self.register_parameter(f"b{name}", nn.Parameter(torch.empty(N_AUS, out_f).uniform_(-bound, bound)))
        self.register_buffer("input_mean", torch.zeros(config.w_dim))
        self.register_buffer("input_scale", torch.ones(config.w_dim))

    def branch_weights(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(W3, W4, W5) of AU ``AU_CODES[index]``, each [out, in]."""
        return self.w3[index], self.w4[index], self.w5[index]

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) if self.config.activation == "relu" else x

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> AUs [N, 16]; W+ [N, L, w_dim] -> per-layer predictions averaged over L."""
        if w.ndim == 3:
            n, layers, dim = w.shape
            return self.forward(w.reshape(n * layers, dim)).reshape(n, layers, N_AUS).mean(dim=1)
        if w.ndim != 2 or w.shape[1] != self.config.w_dim:
            raise ValueError(f"editor input must be [N, {self.config.w_dim}] or [N, L, {self.config.w_dim}], got {list(w.shape)}")
        x = (w - self.input_mean) / self.input_scale
        h = self._act(self.fc2(self._act(self.fc1(x))))  # [N, h2]
        x = self._act(torch.einsum("nh,aoh->nao", h, self.w3) + self.b3)  # [N, 16, b1]
        x = self._act(torch.einsum("nai,aoi->nao", x, self.w4) + self.b4)  # [N, 16, b2]
        return (torch.einsum("nai,aoi->nao", x, self.w5) + self.b5)[..., 0]  # [N, 16], linear output


@dataclass
class TrainReport:
    """Held-out quality of a trained editor: R² and MSE per AU, and the loss curve."""

    r2: dict[str, float]
    mse: dict[str, float]
    train_loss: list[float] = field(default_factory=list)
    n_train: int = 0
    n_test: int = 0

    @property
    def mean_r2(self) -> float:
        return float(np.mean(list(self.r2.values())))

    def to_dict(self) -> dict:
        return asdict(self)


def r2_per_au(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Coefficient of determination per AU column (1 - SS_res / SS_tot; NaN for a constant column)."""
    ss_res = ((true - pred) ** 2).sum(axis=0)
    ss_tot = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return {code: float(r2[i]) for i, code in enumerate(AU_CODES)}


def train_editor(
    dataset: LatentDataset,
    config: EditorConfig | None = None,
    holdout: float = 0.2,
    epochs: int = 200,
    batch_size: int = 32,
    lr: float = 0.02,
    momentum: float = 0.9,
    seed: int = 0,
    log_every: int = 0,
    weight_decay: float = 0.0,
    validation: float = 0.0,
    patience: int = 20,
    progress: bool = False,
) -> tuple[GlobalEditor, TrainReport]:
    """Train the global editor with MSE and SGD on a (train, held-out) split of ``dataset``.

    ``weight_decay`` is SGD's L2 penalty. With ``validation`` > 0 that share of the training
    split is set aside and the weights of the epoch with the lowest validation MSE are kept
    (early stopping; training ends after ``patience`` epochs without improvement); the
    held-out split is never seen during training. ``progress`` shows a bar over epochs.
    Returns the editor (eval mode, no grad) and a :class:`TrainReport` with per-AU held-out R².
    """
    train, test = dataset.split(holdout, seed)
    if not 0.0 <= validation < 1.0:
        raise ValueError(f"validation share must lie in [0, 1), got {validation}")
    val = None
    if validation > 0:
        train, val = train.split(validation, seed + 1)
    w_train = torch.from_numpy(train.w_flat)
    y_train = torch.from_numpy(train.aus)
    config = config or EditorConfig(w_dim=w_train.shape[1])
    if config.w_dim != w_train.shape[1]:
        raise ValueError(f"editor w_dim {config.w_dim} does not match the dataset's w [{w_train.shape[1]}]")
    torch.manual_seed(seed)
    editor = GlobalEditor(config)
    editor.input_mean.copy_(w_train.mean(0))
    editor.input_scale.copy_(w_train.std(0).clamp_min(1e-6))
    with torch.no_grad():  # start each linear output at its AU's mean: SGD then fits the variation
        editor.b5.copy_(y_train.mean(0)[:, None])
    optimizer = torch.optim.SGD(editor.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    best: tuple[float, dict, int] | None = None
    bar = tqdm(range(epochs), desc="train editor", unit="epoch", disable=not progress)
    for epoch in bar:
        order = torch.randperm(len(w_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = torch.nn.functional.mse_loss(editor(w_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(order))
        if not math.isfinite(losses[-1]):
            raise ValueError(f"editor training diverged at epoch {epoch} (loss {losses[-1]}); lower the learning rate {lr}")
        message = f"epoch {epoch + 1}/{epochs}: train MSE {losses[-1]:.4f}"
        if val is not None:
            val_mse = _mse(editor, val)
            if best is None or val_mse < best[0]:
                best = (val_mse, {k: v.detach().clone() for k, v in editor.state_dict().items()}, epoch)
            message += f", validation MSE {val_mse:.4f}"
            bar.set_postfix(train=f"{losses[-1]:.4f}", val=f"{val_mse:.4f}", best=best[2] + 1)
        if log_every and (epoch + 1) % log_every == 0:
            print(message, flush=True)
        if best is not None and epoch - best[2] >= patience:
            bar.close()
            print(f"early stop at epoch {epoch + 1}: best validation MSE {best[0]:.4f} at epoch {best[2] + 1}", flush=True)
            break
    if best is not None:
        editor.load_state_dict(best[1])
    editor.eval().requires_grad_(False)
    with torch.no_grad():
        pred = editor(torch.from_numpy(test.w_flat)).numpy()
    mse = ((pred - test.aus) ** 2).mean(axis=0)
    report = TrainReport(
        r2=r2_per_au(pred, test.aus),
        mse={code: float(mse[i]) for i, code in enumerate(AU_CODES)},
        train_loss=losses, n_train=len(train), n_test=len(test),
    )  # fmt: skip
    return editor, report


def _mse(editor: GlobalEditor, data: LatentDataset) -> float:
    """Mean squared error of ``editor`` on ``data`` (all AUs), without touching its mode for long."""
    was_training = editor.training
    editor.eval()
    with torch.no_grad():
        error = torch.nn.functional.mse_loss(editor(torch.from_numpy(data.w_flat)), torch.from_numpy(data.aus))
    editor.train(was_training)
    return float(error)


def save_editor(
    editor: GlobalEditor,
    path: str | os.PathLike,
    report: TrainReport | None = None,
    calibration: Sequence[float] | None = None,
    metadata: Mapping | None = None,
) -> Path:
    """Write the editor as a ``.pt`` dict (loads with ``weights_only=True``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = asdict(editor.config)
    payload = {
        "format": EDITOR_FORMAT,
        "version": EDITOR_VERSION,
        "config": {**config, "shared": list(config["shared"]), "branch": list(config["branch"])},
        "state_dict": {k: stored_tensor(v) for k, v in editor.state_dict().items()},
        "report": report.to_dict() if report else None,
        "calibration": None if calibration is None else [float(c) for c in calibration],
        "metadata": dict(metadata or {}),
    }
    return save_torch(payload, path)


@dataclass
class LoadedEditor:
    editor: GlobalEditor
    report: dict | None
    calibration: list[float] | None
    metadata: dict


def load_editor(path: str | os.PathLike) -> LoadedEditor:
    """Read a file written by :func:`save_editor`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such editor file (train one with `aufx train editor`)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path}: not a readable editor file ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != EDITOR_FORMAT:
        raise ValueError(f"{path}: not an aufx global editor file (format {EDITOR_FORMAT!r} expected)")
    if payload.get("version") != EDITOR_VERSION:
        raise ValueError(f"{path}: editor format version {payload.get('version')!r} not supported")
    editor = GlobalEditor(EditorConfig.from_dict(payload["config"]))
    editor.load_state_dict(payload["state_dict"])
    return LoadedEditor(editor.eval().requires_grad_(False), payload.get("report"), payload.get("calibration"), payload.get("metadata") or {})


def target_matrix(
    current: torch.Tensor, targets: Mapping[str, float] | torch.Tensor, relative: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full target [N, 16] and a mask [N, 16] of the AUs the user specified.

    current: [N, 16] predictions at the start; unspecified AUs keep these values.
    targets: ``{"AU12": 3.0}`` (any AU spelling) or a tensor [N, 16] / [16] with NaN for
    unspecified AUs. ``relative=True`` adds the values to ``current`` instead.
    """
    if isinstance(targets, Mapping):
        values = torch.full((N_AUS,), float("nan"))
        for name, value in targets.items():
            values[AU_INDEX[normalize_au(name)]] = float(value)
        targets = values
    targets = targets.to(current).expand_as(current)
    mask = ~torch.isnan(targets)
    wanted = torch.where(mask, current + targets if relative else targets, current)
    return wanted.detach(), mask


@dataclass
class OptimizationResult:
    """w_global (same layout as the input, W or W+), start/final predictions [N, 16], loss curve."""

    w: torch.Tensor
    start: torch.Tensor
    predicted: torch.Tensor
    target: torch.Tensor
    losses: list[float]


def optimize_edit(
    editor: GlobalEditor,
    w: torch.Tensor,
    targets: Mapping[str, float] | torch.Tensor,
    relative: bool = False,
    steps: int = 200,
    lr: float = 0.01,
    optimizer: str = "adam",
    layers: Sequence[int] | None = None,
    tolerance: float = 0.005,
) -> OptimizationResult:
    """Edit by optimisation (Sec. 3.1): gradient descent on w so that editor(w) reaches the targets.

    w: W [N, w_dim] or W+ [N, num_ws, w_dim]. For W+, the editor's prediction is the mean of
    its per-layer predictions, and ``layers`` (indices into num_ws) limits which rows move.
    Loss: mean over the 16 AUs of (editor(w) - target)², with unspecified AUs' targets fixed at
    their starting predictions, summed over the faces. A face stops once each of its AUs is
    within ``tolerance`` (AU intensity units) of its target (its w is frozen from then on) and the
    loop once every face has: Adam's steps are per element, so a face edited in a batch follows
    the path it follows alone (up to float rounding). ``losses``: the faces' mean loss per step.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    w0 = w.detach().clone()
    with torch.no_grad():
        start = editor(w0)
    target, _ = target_matrix(start, targets, relative)
    delta = torch.zeros_like(w0, requires_grad=True)
    row_mask = torch.ones_like(w0)
    if layers is not None:
        if w0.ndim != 3:
            raise ValueError("layers= applies to W+ latents [N, num_ws, w_dim] only")
        row_mask = torch.zeros_like(w0)
        row_mask[:, list(layers)] = 1.0
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([delta], lr=lr)
    elif optimizer == "sgd":
        opt = torch.optim.SGD([delta], lr=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    losses: list[float] = []
    done = torch.zeros(w0.shape[0], dtype=torch.bool, device=w0.device)
    with torch.enable_grad():
        for _ in range(steps):
            pred = editor(w0 + delta * row_mask)
            per_face = ((pred - target) ** 2).mean(dim=1)
            losses.append(float(per_face.detach().mean()))
            done |= (pred.detach() - target).abs().amax(dim=1) < tolerance
            if bool(done.all()):
                break
            opt.zero_grad(set_to_none=True)
            per_face[~done].sum().backward()
            frozen = delta.detach()[done].clone()
            opt.step()
            with torch.no_grad():
                delta[done] = frozen  # Adam's momentum would move a finished face on
    w_new = (w0 + delta * row_mask).detach()
    with torch.no_grad():
        final = editor(w_new)
    return OptimizationResult(w=w_new, start=start, predicted=final, target=target, losses=losses)
