"""A small, resumable StyleGAN2 trainer (non-saturating logistic loss, lazy R1, EMA, style mixing).

The losses and schedules follow StyleGAN2 (Karras et al. 2020) as configured by NVIDIA's
stylegan2-ada-pytorch ``auto`` config: Adam(lr 0.0025, betas 0/0.99), R1 every 16 D steps with
gamma = 0.0002·R²/batch, G_ema half-life of batch·10/32 kimg with a 5 % ramp-up, style mixing
with probability 0.9. Left out: path-length regularisation, ADA augmentation (the training data
is procedural and unlimited), mixed precision.

State lives in a directory outside the repository (default ``~/.cache/aufx/generator``):
``state.pt`` (G, D, G_ema, optimisers, counters, RNG), ``log.jsonl`` (one line of losses per
log interval), ``samples/kimgXXXXX.png`` (fixed-z grids). It is written atomically every
``checkpoint_minutes``, so a killed run resumes where its last checkpoint stood.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from aufx.files import save_torch
from aufx.gan.checkpoint import save_aufx
from aufx.gan.discriminator import Discriminator
from aufx.gan.networks import Generator, GeneratorConfig

#: A data source: (batch size, numpy Generator) -> real images [N, 3, R, R] in [-1, 1].
BatchSource = Callable[[int, np.random.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a generator training run."""

    resolution: int = 64
    channel_base: int = 2048
    channel_max: int = 64
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 2  # NVIDIA's small-data (auto) config
    mapping_lr_multiplier: float = 0.01
    batch: int = 16
    lr: float = 0.0025
    r1_gamma: float | None = None  # None: NVIDIA's auto value 0.0002·R²/batch
    r1_interval: int = 16
    ema_kimg: float | None = None  # None: batch·10/32
    ema_rampup: float = 0.05
    style_mixing: float = 0.9
    seed: int = 0
    checkpoint_minutes: float = 5.0
    log_every: int = 20
    sample_every_kimg: float = 8.0

    def generator_config(self) -> GeneratorConfig:
        return GeneratorConfig(
            img_resolution=self.resolution, z_dim=self.z_dim, w_dim=self.w_dim,
            channel_base=self.channel_base, channel_max=self.channel_max,
            mapping_layers=self.mapping_layers, mapping_lr_multiplier=self.mapping_lr_multiplier,
        )  # fmt: skip

    @property
    def gamma(self) -> float:
        return self.r1_gamma if self.r1_gamma is not None else 0.0002 * self.resolution**2 / self.batch

    @property
    def ema_nimg(self) -> float:
        return (self.ema_kimg if self.ema_kimg is not None else self.batch * 10 / 32) * 1000


class GeneratorTrainer:
    """Trains G and D on a :data:`BatchSource`, keeping G_ema; checkpointed and resumable."""

    def __init__(self, config: TrainConfig, source: BatchSource, state_dir: str | os.PathLike) -> None:
        self.config = config
        self.source = source
        self.state_dir = Path(state_dir).expanduser()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.G = Generator(config.generator_config()).train()
        self.D = Discriminator(config.resolution, config.channel_base, config.channel_max).train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=(0.0, 0.99), eps=1e-8)
        ratio = config.r1_interval / (config.r1_interval + 1)  # lazy regularisation (StyleGAN2 App. C)
        self.opt_D = torch.optim.Adam(
            self.D.parameters(), lr=config.lr * ratio, betas=(0.0, 0.99**ratio), eps=1e-8
        )
        self.step = 0
        self.nimg = 0
        self.elapsed = 0.0
        self.rng = np.random.default_rng(config.seed)
        self.fixed_z = torch.from_numpy(np.random.RandomState(123).randn(32, config.z_dim)).float()

    # ----------------------------------------------------------------------------- state
    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.pt"

    def save_state(self) -> Path:
        payload = {
            "train_config": dataclasses.asdict(self.config),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "step": self.step,
            "nimg": self.nimg,
            "elapsed": self.elapsed,
            "rng": json.dumps(self.rng.bit_generator.state),
            "torch_rng": torch.get_rng_state(),
        }
        return save_torch(payload, self.state_path)

    def load_state(self) -> bool:
        """Resume from ``state.pt`` if present; returns whether it did."""
        if not self.state_path.is_file():
            return False
        payload = torch.load(self.state_path, map_location="cpu", weights_only=True)
        saved = payload["train_config"]
        for key in ("resolution", "channel_base", "channel_max", "z_dim", "w_dim", "mapping_layers"):
            if saved[key] != getattr(self.config, key):
                raise ValueError(
                    f"{self.state_path}: saved run has {key}={saved[key]}, this run asks for "
                    f"{getattr(self.config, key)}; use another --state-dir"
                )
        self.G.load_state_dict(payload["G"])
        self.D.load_state_dict(payload["D"])
        self.G_ema.load_state_dict(payload["G_ema"])
        self.opt_G.load_state_dict(payload["opt_G"])
        self.opt_D.load_state_dict(payload["opt_D"])
        self.step, self.nimg, self.elapsed = payload["step"], payload["nimg"], payload["elapsed"]
        self.rng.bit_generator.state = json.loads(payload["rng"])
        torch.set_rng_state(payload["torch_rng"])
        return True

    def init_from(self, generator_state: dict, discriminator_state: dict | None = None) -> None:
        """Start from exported weights (e.g. the bundled model) when no ``state.pt`` exists."""
        self.G.load_state_dict(generator_state)
        self.G_ema.load_state_dict(generator_state)
        if discriminator_state is not None:
            self.D.load_state_dict({k: v.float() for k, v in discriminator_state.items()})

    @property
    def exports_discriminator(self) -> bool:
        """Whether :meth:`export` carries D: a trained D lets a new machine resume adversarial training."""
        return True

    def sample_path(self) -> Path:
        """Where the sample grid of the current kimg goes (``samples/kimgXXXXX.png``; folder made)."""
        path = self.state_dir / "samples" / f"kimg{self.nimg // 1000:05d}.png"
        path.parent.mkdir(exist_ok=True)
        return path

    def export(self, path: str | os.PathLike, metadata: dict | None = None) -> Path:
        """Write G_ema in aufx format, with the discriminator (fp16) so a new machine can resume."""
        meta = {
            "kimg": self.nimg / 1000,
            "steps": self.step,
            "train_seconds": round(self.elapsed),
            "train_config": dataclasses.asdict(self.config),
        }
        if self.exports_discriminator:
            meta["discriminator_fp16"] = {k: v.half() for k, v in self.D.state_dict().items()}
        meta.update(metadata or {})
        return save_aufx(self.G_ema, path, meta)

    # ----------------------------------------------------------------------------- steps
    def _sample_ws(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.config.z_dim)
        ws = self.G.mapping(z, update_w_avg=True)
        if self.config.style_mixing > 0 and self.rng.random() < self.config.style_mixing:
            cutoff = int(self.rng.integers(1, ws.shape[1]))
            ws2 = self.G.mapping(torch.randn(n, self.config.z_dim))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return ws

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        real = self.source(cfg.batch, self.rng)
        stats: dict[str, float] = {}

        # G: non-saturating logistic loss.
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        fake = self.G.synthesis(self._sample_ws(cfg.batch), noise_mode="random")
        loss_g = F.softplus(-self.D(fake)).mean()
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_G.step()
        stats["loss_G"] = loss_g.item()

        # D: logistic loss on fakes and reals.
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        with torch.no_grad():
            fake = self.G.synthesis(self._sample_ws(cfg.batch), noise_mode="random")
        logits_fake = self.D(fake)
        logits_real = self.D(real)
        loss_d = F.softplus(logits_fake).mean() + F.softplus(-logits_real).mean()
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()
        stats["loss_D"] = loss_d.item()
        stats["D_real"] = logits_real.mean().item()
        stats["D_fake"] = logits_fake.mean().item()

        # Lazy R1 on reals.
        if self.step % cfg.r1_interval == 0:
            real_r1 = real.detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(self.D(real_r1).sum(), real_r1, create_graph=True)
            penalty = grads.square().sum(dim=[1, 2, 3])
            loss_r1 = (penalty * (cfg.gamma / 2)).mean() * cfg.r1_interval
            self.opt_D.zero_grad(set_to_none=True)
            loss_r1.backward()
            self.opt_D.step()
            stats["r1"] = penalty.mean().item()

        self._update_ema()
        self.step += 1
        self.nimg += cfg.batch
        return stats

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = min(self.config.ema_nimg, self.nimg * self.config.ema_rampup)
        beta = 0.5 ** (self.config.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    @torch.no_grad()
    def save_samples(self) -> Path:
        from aufx.imageio import save_grid

        images = self.G_ema(self.fixed_z, noise_mode="const")
        path = self.sample_path()
        save_grid(images, path, nrow=8)
        return path

    # ----------------------------------------------------------------------------- loop
    def run(
        self,
        budget_seconds: float | None = None,
        total_kimg: float | None = None,
        progress: bool = True,
        on_checkpoint: Callable[[GeneratorTrainer], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Train until the time budget (of this call) or the total kimg is reached, checkpointing.

        ``stop`` (e.g. a :class:`aufx.stop_signals.StopFlag`) is polled before every step; when it
        returns True the run ends early and still writes its final checkpoint.
        """
        from tqdm import tqdm

        if budget_seconds is None and total_kimg is None:
            raise ValueError("give a time budget or a total kimg, or both")
        start = time.monotonic()
        last_ckpt = start
        last_tick = start
        next_sample = (math.floor(self.nimg / 1000 / self.config.sample_every_kimg) + 1) * self.config.sample_every_kimg
        log_path = self.state_dir / "log.jsonl"
        bar = tqdm(disable=not progress, unit="step", desc="train generator", initial=self.step)
        running: dict[str, list[float]] = {}
        try:
            while True:
                now = time.monotonic()
                if budget_seconds is not None and now - start >= budget_seconds:
                    break
                if total_kimg is not None and self.nimg >= total_kimg * 1000:
                    break
                if stop is not None and stop():
                    break
                for key, value in self.train_step().items():
                    running.setdefault(key, []).append(value)
                now = time.monotonic()
                self.elapsed += now - last_tick
                last_tick = now
                bar.update(1)
                if self.step % self.config.log_every == 0:
                    record = {k: float(np.mean(v)) for k, v in running.items()}
                    record.update(step=self.step, kimg=self.nimg / 1000, seconds=round(self.elapsed, 1))
                    with log_path.open("a") as handle:
                        handle.write(json.dumps(record) + "\n")
                    shown = {k: f"{record[k]:.3f}" for k in ("loss_G", "loss_D", "heldout_l1") if k in record}
                    bar.set_postfix(kimg=f"{self.nimg / 1000:.1f}", **shown)
                    running.clear()
                if self.nimg / 1000 >= next_sample:
                    self.save_samples()
                    next_sample += self.config.sample_every_kimg
                if now - last_ckpt >= self.config.checkpoint_minutes * 60:
                    self.save_state()
                    if on_checkpoint is not None:
                        on_checkpoint(self)
                    last_ckpt = time.monotonic()
        finally:
            bar.close()
            self.save_state()
            if on_checkpoint is not None:
                on_checkpoint(self)
