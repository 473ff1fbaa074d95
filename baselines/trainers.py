"""The three trainers on SynthFACS: StarGAN, GANimation and Cascade EF-GAN.

Losses (the authors' formulations; weights in each class's ``default_losses``):

* **StarGAN** (``solver.py``): critic ``−D(x) + D(G(x, c')) + λ_cls·CE(D_cls(x), c) + λ_gp·GP``;
  generator ``−D(G(x, c')) + λ_cls·CE(D_cls(G(x, c')), c') + λ_rec·|x − G(G(x, c'), c)|₁``;
  target classes ``c'`` are the batch's labels shuffled; λ_cls 1, λ_rec 10, λ_gp 10.
* **GANimation** (``ganimation.py``): critic ``−D(x) + D(x̃) + λ_au·MSE(D_au(x), y) + λ_gp·GP``
  with ``x̃ = A·x + (1−A)·C`` for a target ``y'`` = another face's AUs + U(−0.1, 0.1); generator
  ``−D(x̃) + λ_au·MSE(D_au(x̃), y') + λ_cyc·|x − x̂|₁ + λ_A·(mean A + mean Â) + λ_tv·(TV(A) + TV(Â))``;
  λ_au 160 (= the original's 4000 / batch 25, the replicate's value), λ_cyc 10, λ_A 0.1, λ_tv 1e-5.
* **Cascade EF-GAN** (see :mod:`baselines.cascade_efgan`, choice 7): GANimation's terms on every
  cascade step's output against that step's intermediate target, attention terms on the global
  and local attention maps, and the cycle through ``K`` backward steps.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F

from aufx.aus import RAFD_EMOTIONS
from baselines.cascade_efgan import CascadeEFGANConfig, CascadeEFGANNet
from baselines.data import Batch, FacePool
from baselines.ganimation import GANimationConfig, GANimationGenerator, aus_to_condition, compose
from baselines.nets import PatchCritic, init_normal
from baselines.stargan import StarGANConfig, StarGANGenerator
from baselines.training import (
    GANTrainer,
    TrainSettings,
    gradient_penalty,
    load_trained_generator,
    seeded,
    total_variation,
)  # fmt: skip


class StarGANTrainer(GANTrainer):
    method = "stargan"
    labelled_only = True
    default_losses = {"cls": 1.0, "rec": 10.0}

    def __init__(self, config: StarGANConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or StarGANConfig()
        with seeded((settings or TrainSettings()).seed):
            G = StarGANGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
        super().__init__(G, D, config, state_dir, settings, pool)

    def _labels(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if (batch.labels < 0).any():
            raise ValueError("StarGAN trains on class-labelled faces only")
        org = batch.labels
        trg = org[torch.randperm(org.shape[0], generator=self.torch_rng)]
        eye = torch.eye(self.config.c_dim)
        return org, trg, eye[org], eye[trg]

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        org, trg, _, c_trg = self._labels(batch)
        self._cache = (org, trg, c_trg)
        src, cls = self.D(x)
        loss_real, loss_cls = -src.mean(), F.cross_entropy(cls, org)
        with torch.no_grad():
            fake = self.G(x, c_trg)
        loss_fake = self.D(fake)[0].mean()
        gp = gradient_penalty(self.D, x, fake, self.torch_rng)
        total = loss_real + loss_fake + self.losses["cls"] * loss_cls + self.settings.lambda_gp * gp
        return {"D/real": loss_real, "D/fake": loss_fake, "D/cls": loss_cls, "D/gp": gp, "D/total": total}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        org, trg, c_trg = self._cache
        c_org = torch.eye(self.config.c_dim)[org]
        fake = self.G(x, c_trg)
        src, cls = self.D(fake)
        loss_fake, loss_cls = -src.mean(), F.cross_entropy(cls, trg)
        loss_rec = (x - self.G(fake, c_org)).abs().mean()
        total = loss_fake + self.losses["rec"] * loss_rec + self.losses["cls"] * loss_cls
        return {"G/fake": loss_fake, "G/cls": loss_cls, "G/rec": loss_rec, "G/total": total}

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> StarGANTrainer:
        if tuple(adapter.classes) != RAFD_EMOTIONS:
            raise ValueError("the SynthFACS StarGAN trainer uses the 8 RaFD classes")
        return _train_adapter(cls, adapter, **kwargs)


class GANimationTrainer(GANTrainer):
    method = "ganimation"
    default_losses = {"au": 160.0, "cyc": 10.0, "mask": 0.1, "tv": 1e-5}

    def __init__(self, config: GANimationConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or GANimationConfig()
        if config.layout != "original":
            raise ValueError("GANimation trains in the original layout (both layouts give the same network)")
        with seeded((settings or TrainSettings()).seed):
            G = GANimationGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
            init_normal(G)
            init_normal(D)
        super().__init__(G, D, config, state_dir, settings, pool)

    def _conditions(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        real = aus_to_condition(batch.aus, self.config.c_dim)
        perm = torch.randperm(real.shape[0], generator=self.torch_rng)
        noise = (torch.rand(real.shape, generator=self.torch_rng) * 0.2 - 0.1)
        desired = real[perm] + noise
        desired[:, 16:] = 0.0  # AU45 stays 0 (no blink AU in aufx)
        return real, desired

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        real_c, desired = self._conditions(batch)
        self._cache = (real_c, desired)
        src, cond = self.D(x)
        loss_real, loss_au = -src.mean(), F.mse_loss(cond, real_c)
        with torch.no_grad():
            fake = self.G.edit(x, desired)
        loss_fake = self.D(fake)[0].mean()
        gp = gradient_penalty(self.D, x, fake, self.torch_rng)
        total = loss_real + loss_fake + self.losses["au"] * loss_au + self.settings.lambda_gp * gp
        return {"D/real": loss_real, "D/fake": loss_fake, "D/au": loss_au, "D/gp": gp, "D/total": total}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        real_c, desired = self._cache
        colour, att = self.G(x, desired)
        fake = compose(x, colour, att)
        src, cond = self.D(fake)
        rec_colour, rec_att = self.G(fake, real_c)
        rec = compose(fake, rec_colour, rec_att)
        loss_fake, loss_au = -src.mean(), F.mse_loss(cond, desired)
        loss_cyc = (rec - x).abs().mean()
        loss_mask = att.mean() + rec_att.mean()
        loss_tv = total_variation(att) + total_variation(rec_att)
        L = self.losses
        total = loss_fake + L["au"] * loss_au + L["cyc"] * loss_cyc + L["mask"] * loss_mask + L["tv"] * loss_tv
        return {"G/fake": loss_fake, "G/au": loss_au, "G/cyc": loss_cyc, "G/mask": loss_mask, "G/tv": loss_tv,
                "G/total": total}  # fmt: skip

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> GANimationTrainer:
        return _train_adapter(cls, adapter, **kwargs)


class CascadeEFGANTrainer(GANTrainer):
    method = "cascade-efgan"
    default_losses = {"au": 160.0, "cyc": 10.0, "mask": 0.1, "tv": 1e-5}

    def __init__(self, config: CascadeEFGANConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or CascadeEFGANConfig()
        with seeded((settings or TrainSettings()).seed):
            G = CascadeEFGANNet(config)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
            init_normal(D)
        super().__init__(G, D, config, state_dir, settings, pool)

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        c_src = aus_to_condition(batch.aus, self.config.c_dim)
        perm = torch.randperm(x.shape[0], generator=self.torch_rng)
        c_tgt = c_src[perm] + (torch.rand(c_src.shape, generator=self.torch_rng) * 0.2 - 0.1)
        c_tgt[:, 16:] = 0.0
        self._cache = (c_src, c_tgt)
        src, cond = self.D(x)
        loss_real, loss_au = -src.mean(), F.mse_loss(cond, c_src)
        with torch.no_grad():
            images = self.G(x, c_src, c_tgt, return_steps=True)[0]
        fakes = torch.cat(images)
        loss_fake = self.D(fakes)[0].mean()
        gp = gradient_penalty(self.D, x, images[-1], self.torch_rng)
        total = loss_real + loss_fake + self.losses["au"] * loss_au + self.settings.lambda_gp * gp
        return {"D/real": loss_real, "D/fake": loss_fake, "D/au": loss_au, "D/gp": gp, "D/total": total}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        c_src, c_tgt = self._cache
        images, conds, attentions = self.G(x, c_src, c_tgt, return_steps=True)
        src, cond = self.D(torch.cat(images))
        loss_fake = -src.mean()
        loss_au = F.mse_loss(cond, torch.cat(conds))
        back = self.G(images[-1], c_tgt, c_src, return_steps=True)
        loss_cyc = (back[0][-1] - x).abs().mean()
        all_att = attentions + back[2]
        loss_mask = sum(a.mean() for a in all_att) / len(all_att) * 2  # scale of GANimation's two maps
        loss_tv = sum(total_variation(a) for a in all_att) / len(all_att) * 2
        L = self.losses
        total = loss_fake + L["au"] * loss_au + L["cyc"] * loss_cyc + L["mask"] * loss_mask + L["tv"] * loss_tv
        return {"G/fake": loss_fake, "G/au": loss_au, "G/cyc": loss_cyc, "G/mask": loss_mask, "G/tv": loss_tv,
                "G/total": total}  # fmt: skip

    def export_extra(self) -> dict[str, dict]:
        return {"critic": self.D.state_dict()}

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> CascadeEFGANTrainer:
        trainer = _train_adapter(cls, adapter, **kwargs)
        critic = PatchCritic(adapter.config.image_size, adapter.config.d_conv_dim, adapter.config.c_dim,
                             adapter.config.d_repeat_num)  # fmt: skip
        critic.load_state_dict(trainer.D.state_dict())
        adapter.critic = critic.eval().requires_grad_(False)
        return trainer


def _train_adapter(cls: type[GANTrainer], adapter: Any, state_dir: str | os.PathLike | None = None,
                   settings: TrainSettings | None = None, pool: FacePool | None = None,
                   max_steps: int | None = None, budget_seconds: float | None = None,
                   export: str | os.PathLike | None = None, progress: bool = False) -> GANTrainer:  # fmt: skip
    """Build the trainer for the adapter's config, resume if a state exists, run, load the result into the adapter."""
    trainer = cls(adapter.config, state_dir=state_dir, settings=settings, pool=pool)  # type: ignore[call-arg]
    trainer.load_state()
    trainer.run(max_steps=max_steps, budget_seconds=budget_seconds, progress=progress)
    load_trained_generator(adapter, trainer)
    if export is not None:
        trainer.export(export)
    return trainer
