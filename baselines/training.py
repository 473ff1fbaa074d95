"""A resumable two-player (WGAN-GP) training loop shared by the baselines' trainers.

Each method module owns its trainer (``baselines.stargan.StarGANTrainer``, ...), a
:class:`GANTrainer` subclass; this module never imports a method module.

State lives in ``state_dir`` (default ``~/.cache/aufx/baselines/<name>/``):
``state.pt`` (G, D, both Adam states, step, elapsed seconds, numpy and torch RNG states, config),
``log.jsonl`` (one line of losses per ``log_every`` steps). It is written atomically every
``checkpoint_seconds`` and at the end of every ``run``, so a killed run resumes from its last
checkpoint and a resumed run continues the same random streams.

Subclasses implement :meth:`GANTrainer.d_step` and :meth:`GANTrainer.g_step` on a data batch and
:meth:`GANTrainer.config_for` (the config ``aufx train <method>`` builds).
The critic is updated every step, the generator every ``n_critic`` steps (the authors' 5).
Learning rates are constant (the authors' linear decay over the last epochs is left out: our
budgets are fixed in CPU time, not epochs). A resumed run may change ``n_critic`` and the learning
rates (the new settings win over the saved optimiser's) and the precision of the forward passes
(``bf16``: bfloat16 autocast); every change is kept in the state's ``schedule``
(``[{"from_step", "n_critic", "lr_g", "lr_d", "bf16"}, ...]``) and written on the model card.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aufx.files import atomic_write, save_torch
from baselines.checkpoints import read_torch_file, save_bundle
from baselines.data import (
    DEFAULT_DATA_DIR,
    Batch,
    FacePool,
    MixedPool,
    build_generated_pool,
    build_pool,
)
from baselines.provenance import committed_source

DEFAULT_STATE_ROOT = "~/.cache/aufx/baselines"


#: Config fields that follow the image size (the critic's depth): a bundle that differs from a
#: trainer only in them may start its generator (:meth:`GANTrainer.init_from`).
SIZE_FIELDS = ("image_size", "d_repeat_num")
#: Config fields that a resumed run (or one started from a bundle) may change: they add no weights
#: and rename none, so the saved weights load (``upsample_blur``: a fixed blur after the up-convs).
SWITCHABLE_FIELDS = ("upsample_blur",)
#: The schedule-phase entries whose change on resuming starts a new phase.
PHASE_SWITCHES = ("n_critic", "lr_g", "lr_d", "bf16", "g_ema", "upsample_blur", "losses", "generated_share")


def with_defaults(config_type: type, saved: dict) -> dict:
    """A saved config dict with the fields added to ``config_type`` since it was saved at their defaults."""
    return {**asdict(config_type()), **saved}


@dataclass
class TrainSettings:
    """Optimisation and bookkeeping settings (the authors' defaults where they exist)."""

    batch: int = 16
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5
    lambda_gp: float = 10.0
    seed: int = 0
    log_every: int = 10
    checkpoint_seconds: float = 300.0
    pool_faces: int = 8000
    threads: int | None = None
    data_dir: str = DEFAULT_DATA_DIR
    losses: dict[str, float] = field(default_factory=dict)  # method-specific loss weights
    #: Run the forward passes under bfloat16 autocast on the CPU (about 2x faster where the CPU has
    #: bf16 instructions; weights, optimiser and backward stay float32).
    bf16: bool = False
    #: Decay of an exponential moving average of the generator's weights per generator step (0: none,
    #: the authors' setting). With one, validations, ``best_G.pt`` and exports use the average, not
    #: the last weights (Yazıcı et al., ICLR 2019: averaging smooths a GAN's oscillation).
    g_ema: float = 0.0
    #: Share of each batch drawn from faces of the bundled generator labelled by the analyzer
    #: (:func:`baselines.data.build_generated_pool`, ``generated_faces`` of them; 0: renders only,
    #: the papers' single training set). An aufx addition: the comparison edits generated faces.
    generated_share: float = 0.0
    generated_faces: int = 4000


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX, as oneDNN reports it).
    Without it autocast emulates bfloat16: a 128-px convolution ran 80x slower than in float32 on
    an AVX2 machine (2026-12-06), where a CPU with it ran the trainings 2x faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build networks with a fixed initialisation without disturbing the global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (‖∇ D(x̂)‖₂ − 1)², x̂ on random lines between real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)[0]
    grad = torch.autograd.grad(out, x_hat, torch.ones_like(out), create_graph=True)[0]
    return ((grad.float().flatten(1).norm(dim=1) - 1) ** 2).mean()


def critic_depth(image_size: int) -> int:
    """Critic down-convs that take ``image_size`` px (a power of two) to 2 px: ``log2(size) - 1``."""
    return int(math.log2(image_size)) - 1


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """GANimation's smoothness term: summed absolute differences of neighbouring pixels."""
    mask = mask.float()
    return (mask[:, :, :, :-1] - mask[:, :, :, 1:]).abs().sum() + (mask[:, :, :-1, :] - mask[:, :, 1:, :]).abs().sum()


class GANTrainer:
    """Base class: owns G, D, the optimisers, the data pool, checkpoints and the log."""

    method: str = ""
    labelled_only: bool = False
    default_losses: dict[str, float] = {}
    #: Whether G is fully convolutional, so that weights trained at one size start another (:meth:`init_from`).
    generator_is_size_free: bool = False

    def __init__(self, G: nn.Module, D: nn.Module, config: Any, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        self.settings = settings or TrainSettings()
        self.losses = {**self.default_losses, **self.settings.losses}
        self.config = config
        self.G, self.D = G.train(), D.train()
        self.G.requires_grad_(True)
        self.D.requires_grad_(True)
        s = self.settings
        self.opt_g = torch.optim.Adam(self.G.parameters(), s.lr_g, betas=(s.beta1, s.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), s.lr_d, betas=(s.beta1, s.beta2))
        self.state_dir = Path(state_dir or Path(DEFAULT_STATE_ROOT) / self.method).expanduser()
        self.state_path = self.state_dir / "state.pt"
        self.log_path = self.state_dir / "log.jsonl"
        self.step = 0
        self.elapsed = 0.0
        self.rng = np.random.default_rng(s.seed)
        self.torch_rng = torch.Generator().manual_seed(s.seed)
        self._pool = pool
        self.last_losses: dict[str, float] = {}
        self.converged = False
        self.schedule: list[dict[str, float]] = [self._phase(0)]
        if not 0.0 <= self.settings.g_ema < 1.0:
            raise ValueError(f"g_ema (--g-ema) must be in [0, 1), got {self.settings.g_ema}")
        #: The moving average of G's weights (``settings.g_ema`` > 0; starts at G), else None.
        self.G_ema: nn.Module | None = copy.deepcopy(self.G).requires_grad_(False) if self.settings.g_ema > 0 else None

    def _phase(self, from_step: int) -> dict[str, float]:
        s = self.settings
        phase = {"from_step": from_step, "n_critic": s.n_critic, "lr_g": s.lr_g, "lr_d": s.lr_d, "bf16": s.bf16, "g_ema": s.g_ema}
        if getattr(self.config, "upsample_blur", False):  # recorded only when on (older phases lack the key)
            phase["upsample_blur"] = True
        if s.generated_share > 0:  # recorded only when on (older phases lack the key)
            phase["generated_share"] = s.generated_share
        changed = self.changed_losses
        if changed:  # recorded only when a weight differs from the method's default (older phases lack the key)
            phase["losses"] = changed
        return phase

    @property
    def changed_losses(self) -> dict[str, float]:
        """The loss weights set away from the method's defaults (``--loss name=value``), by name."""
        return {k: v for k, v in sorted(self.losses.items()) if self.default_losses.get(k) != v}

    def _saved_config_mismatch(self, saved: dict, ignored: tuple[str, ...] = ()) -> bool:
        """Whether a saved config (fields added since take their defaults) differs from this trainer's
        in a field other than ``ignored`` and :data:`SWITCHABLE_FIELDS` (which a resumed run may change)."""
        ours, theirs = asdict(self.config), with_defaults(type(self.config), saved)
        skip = (*ignored, *SWITCHABLE_FIELDS)
        return {k: v for k, v in theirs.items() if k not in skip} != {k: v for k, v in ours.items() if k not in skip}

    @property
    def exported_G(self) -> nn.Module:
        """The generator that validations, ``best_G.pt`` and exports use: the moving average when
        there is one, else ``G``."""
        return self.G if self.G_ema is None else self.G_ema

    @torch.no_grad()
    def _update_ema(self) -> None:
        """After a generator step: ``ema ← β·ema + (1 − β)·G`` for every parameter (β = ``g_ema``);
        buffers (running statistics) are copied."""
        if self.G_ema is None:
            return
        for averaged, current in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            averaged.lerp_(current, 1.0 - self.settings.g_ema)
        for averaged, current in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            averaged.copy_(current)

    def load_generator(self, state: dict[str, torch.Tensor]) -> None:
        """Load generator weights into ``G`` and the moving average (e.g. the best validated ones before an export)."""
        self.G.load_state_dict(state)
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state)

    def _autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.settings.bf16 else contextlib.nullcontext()

    @classmethod
    def config_for(cls, image_size: int, conv_dim: int) -> Any:
        """The method's config at ``image_size`` px with generator and critic width ``conv_dim``."""
        raise NotImplementedError

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> GANTrainer:
        """Train the adapter's networks (arguments: :func:`train_adapter`'s) and load the result into it."""
        return train_adapter(cls, adapter, **kwargs)

    # ------------------------------------------------------------------ data
    @property
    def pool(self) -> FacePool | MixedPool:
        """The render pool, mixed with the generated pool when ``settings.generated_share`` > 0."""
        if self._pool is None:
            s, size = self.settings, self.config.image_size
            if s.generated_share > 0 and self.labelled_only:
                raise ValueError(f"{type(self).__name__} trains on RaFD-class faces only; generated faces have no class "
                                 f"(--generated-share must be 0, got {s.generated_share})")  # fmt: skip
            renders = FacePool(build_pool(s.data_dir, s.pool_faces, size, seed=s.seed), labelled_only=self.labelled_only)
            if s.generated_share > 0:
                generated = FacePool(build_generated_pool(s.data_dir, s.generated_faces, size))
                self._pool = MixedPool(renders, generated, s.generated_share)
            else:
                self._pool = renders
        return self._pool

    # ------------------------------------------------------------------ one step
    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def critic_losses(self, real: torch.Tensor, src_real: torch.Tensor, aux_name: str, aux_loss: torch.Tensor,
                      fake: torch.Tensor, gp_fake: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
        """The WGAN-GP critic loss every trainer uses: ``−D(real) + D(fake) + λ_aux·aux + λ_gp·GP``.

        ``src_real``: the critic's real/fake output on ``real``; ``aux_loss``: its auxiliary head's loss
        on the real faces (weight ``self.losses[aux_name]``); the gradient penalty runs on lines
        between ``real`` and ``gp_fake`` (default ``fake``). Returns the logged terms, ``D/total`` last.
        """
        loss_real, loss_fake = -src_real.mean(), self.D(fake)[0].mean()
        gp = gradient_penalty(self.D, real, fake if gp_fake is None else gp_fake, self.torch_rng)
        total = loss_real + loss_fake + self.losses[aux_name] * aux_loss + self.settings.lambda_gp * gp
        return {"D/real": loss_real, "D/fake": loss_fake, f"D/{aux_name}": aux_loss, "D/gp": gp, "D/total": total}

    # ------------------------------------------------------------------ learning-rate decay
    @property
    def decay_end(self) -> int | None:
        """The step at which the learning rates reach 0 when the last phase is a linear decay, else None."""
        end = self.schedule[-1].get("decay_end")
        return None if end is None else int(end)

    @property
    def critic_only_until(self) -> int:
        """The step before which only the critic trains (a warm-up after :meth:`init_from` without
        a critic, :meth:`warm_up_critic`); 0 when there is none."""
        return max((int(p.get("critic_only_until", 0)) for p in self.schedule), default=0)

    def warm_up_critic(self, steps: int) -> None:
        """Train only the critic for the next ``steps`` steps (the generator frozen): a fresh critic
        then judges a trained generator before the generator learns from it again (without it,
        GANimation's AU error went 0.44 -> 0.85 after a restart with a fresh critic)."""
        if steps < 0:
            raise ValueError(f"critic warm-up steps must be >= 0, got {steps}")
        if steps:
            self.schedule[-1]["critic_only_until"] = self.step + steps

    def restart_ema(self) -> None:
        """Restart the moving average of G's weights at G's weights now: an average over weights
        trained for another network (before a switch of :data:`SWITCHABLE_FIELDS`, which
        :meth:`load_state` restarts it for) is no average of this one, and at β = 0.99 per generator
        step it keeps 0.99^(steps / n_critic) of them (71 % after 170 steps). Marked
        ``ema_restart`` on a schedule phase starting now (on the card and in the reproduce command)."""
        if self.G_ema is None:
            raise ValueError("no moving average to restart: the run keeps none (--g-ema 0)")
        self.G_ema.load_state_dict(self.G.state_dict())
        if self.schedule[-1]["from_step"] != self.step:
            self.schedule.append(self._continued_phase(self.schedule[-1], self._phase(self.step)))
        self.schedule[-1]["ema_restart"] = True

    @staticmethod
    def _continued_phase(last: dict, current: dict) -> dict:
        """``current`` (a phase starting now) going on with the decay of ``last`` if it was in one: the
        same end and start, so the rates are not restarted at full value."""
        if last.get("decay_end") is not None:
            current = {**current, "decay_end": last["decay_end"], "decay_start": last.get("decay_start", last["from_step"])}
        return current

    def start_decay(self, end_step: int) -> None:
        """Decay both learning rates linearly from their values now to 0 at ``end_step`` (GANimation's
        schedule: constant, then a linear decay to 0); a new phase of the schedule."""
        if end_step <= self.step:
            raise ValueError(f"the decay must end after the current step {self.step}, got {end_step}")
        if self.decay_end == end_step:
            return
        self.schedule.append({**self._phase(self.step), "decay_end": int(end_step)})

    def _apply_lr(self) -> None:
        """Set the optimisers' learning rates for the next step (the decay's share of the phase's rates)."""
        phase = self.schedule[-1]
        end = phase.get("decay_end")
        start = phase.get("decay_start", phase["from_step"])  # a phase that changed a setting mid-decay keeps its start
        factor = 1.0 if end is None else max(0.0, (end - self.step) / max(1, end - start))
        for opt, lr in ((self.opt_g, phase["lr_g"]), (self.opt_d, phase["lr_d"])):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def train_step(self) -> dict[str, float]:
        self._apply_lr()
        batch = self.pool.batch(self.settings.batch, self.rng)
        with self._autocast():
            d_losses = self.d_step(batch)
        self.opt_d.zero_grad(set_to_none=True)
        d_losses["D/total"].backward()
        self.opt_d.step()
        logged = {k: float(v.detach()) for k, v in d_losses.items()}
        if (self.step + 1) % self.settings.n_critic == 0 and self.step >= self.critic_only_until:
            self.D.requires_grad_(False)
            with self._autocast():
                g_losses = self.g_step(batch)
            self.opt_g.zero_grad(set_to_none=True)
            g_losses["G/total"].backward()
            self.opt_g.step()
            self._update_ema()
            self.D.requires_grad_(True)
            logged.update({k: float(v.detach()) for k, v in g_losses.items()})
        self.step += 1
        return logged

    # ------------------------------------------------------------------ loop
    def run(
        self,
        max_steps: int | None = None,
        budget_seconds: float | None = None,
        progress: bool = False,
        stop: Callable[[], bool] | None = None,
        validate: Callable[[GANTrainer], bool] | None = None,
        validate_every: int | None = None,
        decay_on_plateau: bool = False,
    ) -> GANTrainer:
        """Train until ``max_steps`` total steps or ``budget_seconds`` of this call, checkpointing as it goes.

        ``stop`` is polled before every step; when it returns True the run ends and checkpoints.
        ``validate`` (e.g. a :class:`baselines.validation.Validator`) is called after every
        checkpoint, or, with ``validate_every``, after every ``validate_every``-th step (with a
        checkpoint first), so that the validations do not depend on the machine's speed, and not
        during a critic warm-up (:meth:`warm_up_critic`: the generator is frozen); when it
        returns True training has converged: ``self.converged`` is set and the run ends — or, with
        ``decay_on_plateau``, the learning rates start a linear decay to 0 over half the steps
        trained so far (:meth:`start_decay`) and the run ends, converged, when the decay does.
        """
        if validate_every is not None and validate_every < 1:
            raise ValueError(f"validate_every must be >= 1, got {validate_every}")
        if max_steps is None and budget_seconds is None:
            raise ValueError("give max_steps or budget_seconds")
        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        start = last_ckpt = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.G.train()
        self.D.train()
        while (max_steps is None or self.step < max_steps) and (
            budget_seconds is None or time.monotonic() - start < budget_seconds
        ) and not (stop is not None and stop()):
            t0 = time.monotonic()
            losses = self.train_step()
            self.elapsed += time.monotonic() - t0
            self.last_losses.update(losses)
            if self.step % self.settings.log_every == 0:
                self._log(losses)
                if progress:
                    print(f"{self.method} step {self.step}: " + ", ".join(f"{k} {v:.3f}" for k, v in losses.items()), flush=True)
            checkpoint_due = time.monotonic() - last_ckpt >= self.settings.checkpoint_seconds
            # the generator is frozen during a critic warm-up: validating it would only repeat the
            # validation it started from, and count against the stopping rule's patience
            validation_due = validate is not None and self.step > self.critic_only_until and (
                self.step % validate_every == 0 if validate_every is not None else checkpoint_due
            )
            decayed = self.decay_end is not None and self.step >= self.decay_end
            if validation_due or checkpoint_due or decayed:
                self.save_state()
                plateau = bool(validation_due and validate(self))
                if decayed or (plateau and not decay_on_plateau):
                    self.converged = True
                    break
                if plateau and self.decay_end is None:
                    self.start_decay(self.step + max(1, self.step // 2))
                    self.save_state()
                    print(f"{self.method}: validation stopped improving at step {self.step}; the learning rates "
                          f"now decay linearly to 0 by step {self.decay_end}", flush=True)  # fmt: skip
                last_ckpt = time.monotonic()
        self.save_state()
        return self

    def _log(self, losses: dict[str, float]) -> None:
        line = {"step": self.step, "elapsed_s": round(self.elapsed, 2), **{k: round(v, 5) for k, v in losses.items()}}
        with self.log_path.open("a") as f:
            f.write(json.dumps(line) + "\n")

    def losses_at(self, step: int) -> dict[str, float]:
        """The losses logged up to ``step`` (``log.jsonl``; the critic's and the generator's terms
        each from their last logged step), or the latest ones when the log has none."""
        merged: dict[str, float] = {}
        if self.log_path.is_file():
            for line in self.log_path.read_text().splitlines():
                row = json.loads(line)
                if row["step"] <= step:
                    merged.update({k: v for k, v in row.items() if k not in ("step", "elapsed_s")})
        return merged or dict(self.last_losses)

    # ------------------------------------------------------------------ state
    def save_state(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "method": self.method, "config": asdict(self.config), "step": self.step, "elapsed": self.elapsed,
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            **({"G_ema": self.G_ema.state_dict()} if self.G_ema is not None else {}),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "numpy_rng": json.dumps(self.rng.bit_generator.state), "torch_rng": self.torch_rng.get_state(),
            "last_losses": json.dumps(self.last_losses), "schedule": json.dumps(self.schedule),
        }  # fmt: skip
        return save_torch(payload, self.state_path)

    def load_state(self) -> bool:
        """Resume from ``state.pt`` if present; returns whether it did."""
        if not self.state_path.is_file():
            return False
        payload = read_torch_file(self.state_path)
        if payload.get("method") != self.method or self._saved_config_mismatch(payload.get("config") or {}):
            raise ValueError(f"{self.state_path}: state of method {payload.get('method')!r} with config "
                             f"{payload.get('config')} does not match this trainer ({self.method}, {asdict(self.config)})")  # fmt: skip
        schedule = self._resumed_schedule(payload)
        self.G.load_state_dict(payload["G"])
        if self.G_ema is not None:  # a state saved without an average starts one at G
            self.G_ema.load_state_dict(payload.get("G_ema", payload["G"]))
        self.D.load_state_dict(payload["D"])
        self.opt_g.load_state_dict(payload["opt_g"])
        self.opt_d.load_state_dict(payload["opt_d"])
        self.step, self.elapsed = int(payload["step"]), float(payload["elapsed"])
        self.rng.bit_generator.state = json.loads(payload["numpy_rng"])
        self.torch_rng.set_state(payload["torch_rng"])
        self.last_losses = json.loads(payload["last_losses"])
        self.schedule = schedule
        saved_config = with_defaults(type(self.config), payload.get("config") or {})
        if self.G_ema is not None and any(saved_config.get(k) != getattr(self.config, k, None) for k in SWITCHABLE_FIELDS):
            self.restart_ema()  # the network changed: its average starts again
        self._apply_lr()  # the last phase's rates (train_step sets them again before each step)
        return True

    def _resumed_schedule(self, payload: dict) -> list[dict]:
        """The saved schedule, plus a new phase from the saved step when a setting of
        :data:`PHASE_SWITCHES` differs from the saved last phase. A decay goes on to its end at
        the same slope: the new phase keeps its end and its start (``decay_start``), so the rates
        are the new phase's times the share of the decay left, not restarted at full rate."""
        saved_schedule = json.loads(payload.get("schedule", "[]")) or [_phase_of_old_state(payload)]
        current = self._phase(int(payload["step"]))
        last = saved_schedule[-1]
        if not any(last.get(k, False) != current.get(k, False) for k in PHASE_SWITCHES):
            return saved_schedule
        return saved_schedule + [self._continued_phase(last, current)]

    def init_from(self, path: str | os.PathLike, keep_decay: bool = True) -> dict:
        """Start a new training from an exported bundle of this method and config (the bundled
        file, say, when ``state.pt`` is lost): its generator, and its critic when the bundle has one
        (``extra["critic"]``); optimisers start fresh. The step count, training time and schedule go
        on from the bundle's (a new phase, marked ``init_from``, starts at its step, and goes on with the bundle's learning-rate
        decay if it was written in one, unless ``keep_decay`` is False). Returns the
        bundle's metadata (its ``validations``, if any, let the validator go on too).

        A bundle of another image size (config otherwise the same but for :data:`SIZE_FIELDS`)
        starts the generator only, for methods whose generator is fully convolutional
        (``generator_is_size_free``): the progressive start of a 128 px StarGAN from 64 px weights.

        The new phase records ``source``, ``"<commit>:<path>"`` of the commit that holds the file's
        exact bytes (:func:`baselines.provenance.committed_source`), when there is one."""
        from baselines.checkpoints import CheckpointError, load_bundle

        bundle = load_bundle(read_torch_file(path), self.method, str(path))
        theirs, ours = dict(bundle["config"]), asdict(self.config)
        other_size = theirs.get("image_size") != ours.get("image_size")
        if other_size and not self.generator_is_size_free:
            raise CheckpointError(f"{path}: a {theirs.get('image_size')} px bundle cannot start a {ours.get('image_size')} px "
                                  f"{self.method} training (its generator depends on the image size)")  # fmt: skip
        if self._saved_config_mismatch(theirs, SIZE_FIELDS if other_size else ()):
            raise CheckpointError(f"{path}: config {theirs} differs from this trainer's {ours}")
        self.load_generator(bundle["state_dict"])
        critic = None if other_size else bundle.get("extra", {}).get("critic")  # a critic is built for its size
        if critic is not None:
            self.D.load_state_dict(critic)
        metadata = dict(bundle.get("metadata", {}))
        self.step = int(metadata.get("steps", 0))
        self.elapsed = float(metadata.get("train_seconds_at_step", metadata.get("train_seconds", 0.0)))
        of_size = f" of a {theirs.get('image_size')} px bundle" if other_size else ""
        description = f"{Path(path).name} (generator{' and critic' if critic is not None else ''}{of_size}, step {self.step})"
        previous = metadata.get("schedule", [])
        phase = {**self._phase(self.step), "init_from": description}
        if previous and keep_decay:  # a bundle written in its decay goes on decaying to the same end (until 2026-12-08 it restarted at full rates)
            phase = self._continued_phase(previous[-1], phase)
        committed = committed_source(path)  # so that the model card's command can fetch this very file
        self.schedule = [*previous, {**phase, "source": committed} if committed else phase]
        return metadata

    # ------------------------------------------------------------------ export
    def export_extra(self) -> dict[str, dict]:
        return {}

    def schedule_until(self, step: int) -> list[dict[str, float]]:
        """The schedule's phases that began before ``step`` (the first phase at least)."""
        return [phase for phase in self.schedule if phase["from_step"] < step] or self.schedule[:1]

    def export(self, path: str | os.PathLike, command: str = "", notes: str = "", half: bool = False,
               step: int | None = None, validations: list[dict] | None = None, author_notes: str | None = None) -> Path:  # fmt: skip
        """Write the generator as an aufx bundle plus a model card ``<path>.md`` beside it.

        ``half``: store float16 (half the size; the bundled files use it), loaded back as float32.
        ``step``: the step of the generator weights when it is not the trainer's (the best validated
        checkpoint loaded into ``G``): the card then gives it and the schedule's phases before it.
        ``validations``: the validation log up to ``step`` (``val.jsonl`` rows), kept in the metadata
        so that a training started from this file (:meth:`init_from`) goes on with its history.
        ``author_notes``: the hand-written part of ``notes`` (default: all of it), which a later
        export can keep (:func:`author_notes`).
        """
        schedule = self.schedule if step is None else self.schedule_until(step)
        at_trainer_step = step is None or step == self.step
        step = self.step if step is None else step
        validations = [row for row in validations or [] if row["step"] <= step]
        at_step = [row["elapsed_s"] for row in validations if row["step"] == step and "elapsed_s" in row]
        metadata = {
            "steps": step, "images_seen": step * self.settings.batch,
            "train_seconds": round(self.elapsed, 1),
            "train_seconds_at_step": at_step[0] if at_step else round(self.elapsed, 1), "threads": self.settings.threads or torch.get_num_threads(),
            "settings": {k: v for k, v in asdict(self.settings).items() if k != "losses"},
            "loss_weights": self.losses, "last_losses": self.last_losses if at_trainer_step else self.losses_at(step), "command": command, "notes": notes,
            "author_notes": notes if author_notes is None else author_notes,
            "schedule": schedule, "validations": validations,
            "half": half,
            "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        path = save_bundle(path, self.method, asdict(self.config), self.exported_G.state_dict(), metadata, self.export_extra(), half=half)
        atomic_write(path.with_suffix(".md"), model_card(self.method, asdict(self.config), metadata).encode("utf-8"))
        return path


#: How the paragraphs that an export writes itself begin (the best checkpoint's measures, the verdict
#: against the file it replaced): :func:`author_notes` leaves them out of older bundles' notes.
GENERATED_NOTES = ("The best validated checkpoint", "On the same held-out faces it replaced")


def author_notes(metadata: dict) -> str:
    """The hand-written notes of an exported bundle's ``metadata`` (bundles exported before
    ``author_notes`` was stored: their notes without the paragraphs the export wrote itself)."""
    if "author_notes" in metadata:
        return str(metadata["author_notes"])
    paragraphs = str(metadata.get("notes", "")).split("\n\n")
    return "\n\n".join(p for p in paragraphs if p.strip() and not p.startswith(GENERATED_NOTES))


#: The card's line for weights with ``upsample_blur`` (the issue asks each addition to be documented there).
UPSAMPLE_BLUR_CARD_LINE = (
    "- added to the paper's generator (`upsample_blur`): a fixed 3×3 binomial blur after each stride-2 "
    "transposed convolution (`baselines.nets.BlurredConvTranspose2d`, no weights), against their 2- and "
    "4-pixel checkerboard, the noise that kept the 128 px runs above the noise goal (docs/baselines.md, "
    "benchmarks/bench_added_texture.py)"
)


#: The card's line for each loss term the papers lack, by loss weight name (0 by default: the term is
#: off); a bundle trained with that weight above 0 gets the line.
ADDED_LOSS_CARD_LINES = {
    "id": "- added to the paper's losses (`id`): an identity term λ_id·|G(x, c_x) − x|₁, the face translated to its "
          "own class (CycleGAN's identity loss, Zhu et al. 2017, there to keep the input's colours), against the colour "
          "cast and noise that the whole-image generator left on unedited regions (docs/baselines.md)",
    "colour": "- added to the paper's losses (`colour`): λ_C·(|C − x|₁ + |Ĉ − x̃|₁), the colour heads held near their "
              "inputs (Cascade EF-GAN: every branch's, at every step): the paper's losses leave the colour image free wherever the attention keeps the source, and "
              "where the attention opens part-way its garish colours showed as blotches (docs/baselines.md)",
}


def model_card(method: str, config: dict, metadata: dict) -> str:
    """A short Markdown model card for an exported bundle."""
    lines = [
        f"# {method} — aufx baseline weights", "",
        f"- training data: SynthFACS render pool ({metadata['settings']['pool_faces']} faces at "
        f"{config['image_size']} px, seed {metadata['settings']['seed']}; see baselines/data.py)"
        + ("; with faces of the bundled generator labelled by the bundled analyzer, in the phases the schedule names"
           if any(p.get("generated_share") for p in metadata.get("schedule", [])) else ""),
        f"- steps: {metadata['steps']} (critic updates; generator every {metadata['settings']['n_critic']}), "
        f"images seen: {metadata['images_seen']}",
        *schedule_lines(metadata.get("schedule", []), metadata["steps"]),
        *[f"- initialised from: {phase['init_from']} at step {phase['from_step']} (fresh optimisers"
          f"{'' if 'and critic' in phase['init_from'] else ', fresh critic'})"
          + (f", committed as `{phase['source']}`" if phase.get("source") else "")
          for phase in metadata.get("schedule", []) if phase.get("init_from")],
        f"- training time: {training_time(metadata)} on {metadata['threads']} thread(s)",
        f"- config: `{json.dumps(config)}`; weights stored as {'float16' if metadata.get('half') else 'float32'}",
        *([UPSAMPLE_BLUR_CARD_LINE] if config.get("upsample_blur") else []),
        *[line for name, line in ADDED_LOSS_CARD_LINES.items() if metadata["loss_weights"].get(name)],
        f"- loss weights: `{json.dumps(metadata['loss_weights'])}`",
        f"- last losses: `{json.dumps({k: round(v, 4) for k, v in metadata['last_losses'].items()})}`",
        f"- reproduce: `{metadata['command']}`",
        f"- exported: {metadata['exported']}",
    ]  # fmt: skip
    if metadata.get("notes"):
        lines += ["", metadata["notes"]]
    return "\n".join(lines) + "\n"


def training_time(metadata: dict) -> str:
    """The card's training time: up to the exported step, and the run's total when it went on past it."""
    total = metadata["train_seconds"] / 60
    at_step = metadata.get("train_seconds_at_step", metadata["train_seconds"]) / 60
    if abs(total - at_step) < 0.05:
        return f"{total:.1f} min (wall clock)"
    return f"{at_step:.1f} min (wall clock) to step {metadata['steps']}, {total:.1f} min in all"


def _phase_of_old_state(payload: dict) -> dict[str, float]:
    """The one phase of a state saved before schedules were kept: its optimisers' learning rates
    and the only ``n_critic`` such runs used (the default)."""
    return {"from_step": 0, "n_critic": TrainSettings.n_critic,
            "lr_g": payload["opt_g"]["param_groups"][0]["lr"], "lr_d": payload["opt_d"]["param_groups"][0]["lr"]}  # fmt: skip


def phase_ends(schedule: list[dict[str, float]], last_step: int) -> list[int]:
    """The step at which each phase of ``schedule`` ended: the next phase's start, ``last_step`` for the last."""
    return [int(phase["from_step"]) for phase in schedule[1:]] + [last_step]


def schedule_lines(schedule: list[dict[str, float]], steps: int) -> list[str]:
    """Model-card lines for a schedule with more than one phase or with a decay or critic warm-up
    (none for a single plain phase)."""
    if len(schedule) < 2 and not any(p.get("decay_end") is not None or p.get("critic_only_until") or p.get("g_ema")
                                     for p in schedule):  # fmt: skip
        return []
    ends = phase_ends(schedule, steps)
    return ["- schedule:"] + [
        f"  - steps {phase['from_step']}–{end}: generator every {phase['n_critic']} critic steps, "
        f"lr G {phase['lr_g']:g}, lr D {phase['lr_d']:g}" + (", bfloat16 autocast" if phase.get("bf16") else "")
        + (f", both decaying linearly to 0 at step {phase['decay_end']}" if phase.get("decay_end") is not None else "")
        + (f", critic only until step {phase['critic_only_until']}" if phase.get("critic_only_until") else "")
        + (f", weights averaged (EMA decay {phase['g_ema']:g} per generator step)" if phase.get("g_ema") else "")
        + (", up-convs blurred (upsample_blur)" if phase.get("upsample_blur") else "")
        + (", loss weights " + ", ".join(f"{k} {v:g}" for k, v in phase["losses"].items()) if phase.get("losses") else "")
        + (f", {phase['generated_share']:.0%} of each batch from the generated pool" if phase.get("generated_share") else "")
        + (", the weights' average restarted at the phase's start" if phase.get("ema_restart") else "")
        for phase, end in zip(schedule, ends, strict=True)
    ]


def generator_of(adapter: Any) -> nn.Module:
    """The generator network an adapter edits with (``net`` for Cascade EF-GAN, else ``G``)."""
    return adapter.net if hasattr(adapter, "net") else adapter.G


def load_generator_state(adapter: Any, state: dict[str, torch.Tensor], source: str) -> None:
    """Load generator weights ``state`` into an adapter (eval mode, no grad); ``source`` names them."""
    target = generator_of(adapter)
    target.load_state_dict(state)
    target.eval().requires_grad_(False)
    adapter.weights_source = source


def generator_in_use(trainer: Any) -> nn.Module:
    """The generator a trainer validates and exports (``exported_G``; ``G`` for trainer stand-ins without one)."""
    return getattr(trainer, "exported_G", trainer.G)


def load_trained_generator(adapter: Any, trainer: GANTrainer) -> None:
    """Copy a trainer's generator weights into an adapter (eval mode, no grad): its moving
    average when it keeps one (:attr:`GANTrainer.exported_G`)."""
    state = {k: v.detach().clone() for k, v in generator_in_use(trainer).state_dict().items()}
    load_generator_state(adapter, state, f"trained ({trainer.step} steps, {trainer.state_dir})")


def train_adapter(cls: type[GANTrainer], adapter: Any, state_dir: str | os.PathLike | None = None,
                  settings: TrainSettings | None = None, pool: FacePool | None = None,
                  max_steps: int | None = None, budget_seconds: float | None = None,
                  export: str | os.PathLike | None = None, progress: bool = False) -> GANTrainer:  # fmt: skip
    """Build a ``cls`` trainer for the adapter's config, resume if a state exists, run, load the result into the adapter."""
    trainer = cls(adapter.config, state_dir=state_dir, settings=settings, pool=pool)  # type: ignore[call-arg]
    trainer.load_state()
    trainer.run(max_steps=max_steps, budget_seconds=budget_seconds, progress=progress)
    load_trained_generator(adapter, trainer)
    if export is not None:
        trainer.export(export)
    return trainer
