"""Train the face analyzer on SynthFACS renders; resumable, checkpointed, logged.

Losses per batch (``B`` faces, :func:`aufx.au.data.paired_batch`): MSE on the 16 AU
intensities (weight 2), cross-entropy on the part map, MSE of the identity parameters predicted from the
embedding, and a symmetric InfoNCE loss (temperature 0.1) that pulls the two renders of each
identity (different AUs) together and pushes other identities apart. AdamW with linear warm-up
and cosine decay over ``steps``. Batches are a function of ``(seed, step)``, so a resumed run
sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from aufx.au.data import Batch, augment, paired_batch, train_seed
from aufx.au.model import AnalyzerConfig, AnalyzerOutput, FaceAnalyzer

DEFAULT_STATE_DIR = Path("~/.cache/aufx/analyzer")


@dataclass
class TrainConfig:
    """Optimisation settings (stored in checkpoints and with the exported weights)."""

    steps: int = 3000
    budget_minutes: float | None = None
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    seed: int = 0
    checkpoint_minutes: float = 3.0
    w_aus: float = 2.0
    w_parts: float = 1.0
    w_identity: float = 4.0
    w_contrast: float = 0.5
    temperature: float = 0.1
    augment: bool = True


def analyzer_losses(out: AnalyzerOutput, batch: Batch, config: TrainConfig) -> dict[str, torch.Tensor]:
    """The four training losses and their weighted sum (``"total"``)."""
    losses = {
        "aus": F.mse_loss(out.aus, batch.aus),
        "parts": F.cross_entropy(out.part_logits, batch.parts),
        "identity": F.mse_loss(out.extras["identity_params"], batch.identity),
    }
    half = out.identity.shape[0] // 2
    sim = out.identity[:half] @ out.identity[half:].T / config.temperature
    target = torch.arange(half)
    losses["contrast"] = 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target))
    losses["total"] = (config.w_aus * losses["aus"] + config.w_parts * losses["parts"]
                       + config.w_identity * losses["identity"] + config.w_contrast * losses["contrast"])  # fmt: skip
    return losses


def _trained_parameters(model: FaceAnalyzer) -> list[torch.nn.Parameter]:
    """Parameters SGD trains: all but the linear AU read-out (fit in closed form, see readout.py)."""
    return [p for name, p in model.named_parameters() if not name.startswith("au_linear.")]


class AnalyzerTrainer:
    """Holds model, optimiser and progress; :meth:`run` trains until ``steps`` or a time budget."""

    def __init__(self, config: TrainConfig, state_dir: str | Path = DEFAULT_STATE_DIR,
                 model_config: AnalyzerConfig | None = None) -> None:  # fmt: skip
        if config.steps < 1:
            raise ValueError(f"steps must be >= 1, got {config.steps}")
        if config.batch < 4 or config.batch % 2:
            raise ValueError(f"batch must be an even number >= 4, got {config.batch}")
        self.config = config
        self.state_dir = Path(state_dir).expanduser()
        torch.manual_seed(config.seed)
        self.model = FaceAnalyzer(model_config or AnalyzerConfig())
        self.optimizer = torch.optim.AdamW(_trained_parameters(self.model), lr=config.lr,
                                           weight_decay=config.weight_decay)  # fmt: skip
        self.step = 0
        self.elapsed = 0.0

    @property
    def state_path(self) -> Path:
        return self.state_dir / "checkpoint.pt"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "train.log"

    def progress(self) -> float:
        """Fraction of the run done: by steps, or by training time when a budget is set (0..1)."""
        done = self.step / self.config.steps
        if self.config.budget_minutes:
            done = max(done, self.elapsed / (self.config.budget_minutes * 60.0))
        return min(1.0, done)

    def learning_rate(self, step: int) -> float:
        """Linear warm-up over ``warmup`` steps, then cosine decay to 3 % over :meth:`progress`."""
        if step < self.config.warmup:
            return self.config.lr * (step + 1) / self.config.warmup
        return self.config.lr * (0.03 + 0.97 * 0.5 * (1.0 + math.cos(math.pi * self.progress())))

    def save_state(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        payload = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                   "step": self.step, "elapsed": self.elapsed, "config": asdict(self.config),
                   "model_config": asdict(self.model.config)}  # fmt: skip
        tmp = self.state_path.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(self.state_path)
        return self.state_path

    def load_state(self) -> bool:
        """Resume from ``state_dir/checkpoint.pt`` if it exists; returns whether it did."""
        if not self.state_path.is_file():
            return False
        payload = torch.load(self.state_path, map_location="cpu", weights_only=True)
        self.model = FaceAnalyzer(AnalyzerConfig.from_dict(payload["model_config"]))
        self.model.load_weights(payload["model"])
        self.optimizer = torch.optim.AdamW(_trained_parameters(self.model), lr=self.config.lr,
                                           weight_decay=self.config.weight_decay)  # fmt: skip
        self.optimizer.load_state_dict(payload["optimizer"])
        self.step = int(payload["step"])
        self.elapsed = float(payload["elapsed"])
        return True

    def log(self, line: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self.log_path.open("a") as handle:
            handle.write(f"{stamp} {line}\n")
        print(line, flush=True)

    def train_step(self) -> dict[str, float]:
        batch = paired_batch(self.config.batch, train_seed(self.config.seed, self.step))
        if self.config.augment:
            generator = torch.Generator().manual_seed(train_seed(self.config.seed, self.step))
            images, parts = augment(batch.images, batch.parts, generator)
            batch = Batch(images=images, aus=batch.aus, identity=batch.identity, parts=parts, pair=batch.pair)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.step)
        self.model.train()
        losses = analyzer_losses(self.model(batch.images), batch, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def run(self, budget_seconds: float | None = None, log_every: int = 25,
            on_checkpoint: Callable[[AnalyzerTrainer], None] | None = None) -> None:  # fmt: skip
        """Train until ``config.steps`` (or the wall-clock budget), checkpointing every few minutes."""
        start = time.monotonic()
        last_save = start
        running: dict[str, float] = {}
        self.log(f"start step {self.step}/{self.config.steps} config {asdict(self.config)}")
        while self.progress() < 1.0:
            t0 = time.monotonic()
            losses = self.train_step()
            self.elapsed += time.monotonic() - t0
            for k, v in losses.items():
                running[k] = 0.9 * running.get(k, v) + 0.1 * v
            if self.step % log_every == 0 or self.progress() >= 1.0:
                parts = " ".join(f"{k}={v:.4f}" for k, v in running.items())
                self.log(f"step {self.step} lr={self.learning_rate(self.step - 1):.2e} {parts} "
                         f"train_s={self.elapsed:.0f}")  # fmt: skip
            now = time.monotonic()
            out_of_time = budget_seconds is not None and now - start >= budget_seconds
            if now - last_save >= self.config.checkpoint_minutes * 60 or out_of_time:
                self.save_state()
                last_save = now
                self.log(f"checkpoint step {self.step} -> {self.state_path}")
                if on_checkpoint is not None:
                    on_checkpoint(self)
            if out_of_time:
                self.log(f"budget of {budget_seconds:.0f} s reached at step {self.step}")
                return
        self.save_state()
        if on_checkpoint is not None:
            on_checkpoint(self)
        self.log(f"done: {self.step} steps, {self.elapsed:.0f} s of training")

    def export(self, path: str | Path, metadata: dict | None = None) -> Path:
        meta = {"steps": self.step, "train_seconds": round(self.elapsed, 1), "train_config": asdict(self.config)}
        meta.update(metadata or {})
        return self.model.eval().save(path, meta)
