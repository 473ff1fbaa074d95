"""Distil the SynthFACS renderer into a StyleGAN2: train G so that G(z) ≈ render(params_from_z(z)).

Every latent has a known scene (:mod:`aufx.synthfacs.latent`), so the generator can be trained by
plain regression on freshly rendered targets instead of adversarially; on two CPU cores this
converges in hours where adversarial training needs days. The network stays a standard
StyleGAN2 (mapping + synthesis, NVIDIA names, exported in aufx format); its W space is still
learned by the mapping network, so the editing engine gets no shortcut.

Loss per batch (targets rendered on the fly at the generator's resolution, constant noise):

- ``l1``: mean absolute error on [-1, 1] pixels, pixels of the AU-carrying parts (brows, eyes,
  nose, mouth: about 12 % of the image) weighted ``1 + part_weight`` (from the renderer's part map),
  and pixels that the face's expression changes (its render against the render of the same
  identity with every AU at 0 differs by more than :data:`EXPRESSION_THRESHOLD`) weighted
  ``expression_weight`` more: subtle AUs (AU06 cheek raiser, AU09, AU10, AU14, AU17) change a few
  hundred pixels by a few levels, and a plain L1 learns the identity first and those last;
- ``pyramid``: L1 of 2×, 4× and 8× average-pooled images (the coarse layout first);
- ``perceptual``: L1 between the bundled analyzer's encoder features (32/16/8/4 maps, each
  normalised by its channel count) of generated and target faces: eyes, brows and mouth, which
  carry the AUs, weigh more than their share of pixels;
- ``adversarial`` (optional, from ``adv_start_kimg`` on): non-saturating logistic loss against a
  StyleGAN2 discriminator trained on the targets, with lazy R1, for sharpness.

Training state, logs (``log.jsonl``, with the held-out L1 on 256 fixed latents every
``eval_every_kimg``) and sample grids (target row above generated row) live in the state
directory, as for :class:`~aufx.gan.trainer.GeneratorTrainer`, whose resumable loop this reuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from aufx.gan.trainer import BatchSource, GeneratorTrainer, TrainConfig

#: Number of fixed held-out latents of the logged L1 (seeded apart from the training stream).
HELDOUT_N = 256
HELDOUT_SEED = 987_654


@dataclass(frozen=True)
class DistillConfig(TrainConfig):
    """Hyper-parameters of a distillation run (defaults: the bundled ``synthfacs128``)."""

    resolution: int = 128
    channel_base: int = 4096
    channel_max: int = 64
    z_dim: int = 64
    w_dim: int = 512
    mapping_layers: int = 4
    mapping_lr_multiplier: float = 1.0
    batch: int = 16
    lr: float = 0.002
    beta1: float = 0.9
    beta2: float = 0.99
    style_mixing: float = 0.0
    ema_kimg: float | None = 2.0
    pyramid_weight: float = 1.0
    perceptual_weight: float = 0.5
    part_weight: float = 3.0
    expression_weight: float = 0.0
    adv_weight: float = 0.0
    adv_start_kimg: float = 0.0
    eval_every_kimg: float = 8.0

    def __post_init__(self) -> None:
        from aufx.synthfacs.latent import MIN_Z_DIM

        if self.z_dim < MIN_Z_DIM:
            raise ValueError(f"z_dim must be >= {MIN_Z_DIM} for the latent -> scene map, got {self.z_dim}")


#: Facial parts whose pixels the L1 term weighs ``1 + part_weight``.
FEATURE_PARTS = ("left_brow", "right_brow", "left_eye", "right_eye", "nose", "mouth")


def render_targets(z: torch.Tensor, resolution: int, with_parts: bool = False):
    """The teacher: SynthFACS renders ``[N, 3, R, R]`` in [-1, 1] of the scenes of latents ``z``
    (with ``with_parts``, the :class:`~aufx.synthfacs.renderer.RenderResult` with its part maps)."""
    from aufx.synthfacs.latent import params_from_z
    from aufx.synthfacs.renderer import render

    scene = params_from_z(z.numpy())
    result = render(scene.aus, scene.identity, size=resolution, with_parts=with_parts)
    return result if with_parts else result.images


#: A pixel belongs to the expression when the render and its neutral render differ by more than
#: this (mean over channels, on [-1, 1]: about 4 of 255 levels).
EXPRESSION_THRESHOLD: float = 0.03


def expression_mask(z: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """``[N, 1, R, R]`` float mask of the pixels where renders ``images`` of latents ``z`` differ from
    the same identities rendered with every AU at 0 (all zero for neutral faces)."""
    from aufx.synthfacs.latent import params_from_z
    from aufx.synthfacs.renderer import render

    scene = params_from_z(z.numpy())
    mask = images.new_zeros((images.shape[0], 1, *images.shape[2:]))
    expressive = np.flatnonzero(scene.aus.max(axis=1) > 0)
    if expressive.size:
        neutral = render(np.zeros_like(scene.aus[expressive]), scene.identity[expressive], size=images.shape[-1],
                         with_parts=False).images  # fmt: skip
        change = (images[expressive] - neutral).abs().mean(dim=1, keepdim=True)
        mask[expressive] = (change > EXPRESSION_THRESHOLD).float()
    return mask


def feature_mask(parts: torch.Tensor) -> torch.Tensor:
    """``[N, 1, R, R]`` float mask of the :data:`FEATURE_PARTS` pixels of part maps ``[N, R, R]``."""
    from aufx.synthfacs.parts import PART_NAMES

    codes = torch.tensor([PART_NAMES.index(name) for name in FEATURE_PARTS])
    return torch.isin(parts, codes).unsqueeze(1).float()


def pyramid_l1(fake: torch.Tensor, real: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Mean L1 of 2×, 4×, ... average-pooled images (``levels`` scales)."""
    loss = fake.new_zeros(())
    for level in range(1, levels + 1):
        k = 2**level
        loss = loss + (F.avg_pool2d(fake, k) - F.avg_pool2d(real, k)).abs().mean()
    return loss / levels


class DistillTrainer(GeneratorTrainer):
    """Trains G by regression on renders of ``params_from_z(z)``; checkpointed and resumable."""

    def __init__(self, config: DistillConfig, state_dir, analyzer=None, source: BatchSource | None = None) -> None:
        super().__init__(config, source or (lambda n, rng: torch.empty(0)), state_dir)
        self.config: DistillConfig = config
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=(config.beta1, config.beta2), eps=1e-8)
        self.analyzer = analyzer.eval().requires_grad_(False) if analyzer is not None else None
        self.heldout_z = torch.from_numpy(
            np.random.default_rng(HELDOUT_SEED).standard_normal((HELDOUT_N, config.z_dim))
        ).float()  # fmt: skip
        self._heldout_targets: torch.Tensor | None = None
        self._next_eval = 0.0

    def load_state(self) -> bool:
        resumed = super().load_state()
        for group in self.opt_G.param_groups:  # a resumed run takes this run's learning rate
            group["lr"] = self.config.lr
        self._next_eval = self.nimg / 1000
        return resumed

    def _sample_z(self, n: int) -> torch.Tensor:
        return torch.from_numpy(self.rng.standard_normal((n, self.config.z_dim))).float()

    def _features(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.analyzer.features(images)

    def reconstruction_losses(
        self, fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor | None = None,
        expression: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """The regression terms: ``l1`` (weighted on a feature ``mask`` and an ``expression`` mask where
        given; plain ``l1_plain`` beside it), ``pyramid``, and ``perceptual`` with an analyzer."""
        error = (fake - real).abs()
        losses = {"l1_plain": error.mean(), "pyramid": pyramid_l1(fake, real)}
        weights = torch.ones_like(error[:, :1])
        if mask is not None and self.config.part_weight > 0:
            weights = weights + self.config.part_weight * mask
        if expression is not None and self.config.expression_weight > 0:
            weights = weights + self.config.expression_weight * expression
            losses["l1_expression"] = (error * expression).sum() / (3 * expression.sum()).clamp_min(1.0)
        losses["l1"] = (error * weights).mean() / weights.mean()
        if self.analyzer is not None and self.config.perceptual_weight > 0:
            fake_f, real_f = self._features(fake), self._features(real)
            losses["perceptual"] = sum((a - b).abs().mean() for a, b in zip(fake_f, real_f, strict=True)) / len(fake_f)
        return losses

    def _adversarial_on(self) -> bool:
        return self.config.adv_weight > 0 and self.nimg >= self.config.adv_start_kimg * 1000

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        z = self._sample_z(cfg.batch)
        target = render_targets(z, cfg.resolution, with_parts=cfg.part_weight > 0)
        real, mask = (target.images, feature_mask(target.parts)) if cfg.part_weight > 0 else (target, None)
        expression = expression_mask(z, real) if cfg.expression_weight > 0 else None
        self.G.requires_grad_(True)
        ws = self.G.mapping(z, update_w_avg=True)
        fake = self.G.synthesis(ws, noise_mode="const")
        losses = self.reconstruction_losses(fake, real, mask, expression)
        total = losses["l1"] + cfg.pyramid_weight * losses["pyramid"]
        if "perceptual" in losses:
            total = total + cfg.perceptual_weight * losses["perceptual"]
        adversarial = self._adversarial_on()
        if adversarial:
            self.D.requires_grad_(False)
            losses["adv_G"] = F.softplus(-self.D(fake)).mean()
            total = total + cfg.adv_weight * losses["adv_G"]
        self.opt_G.zero_grad(set_to_none=True)
        total.backward()
        self.opt_G.step()
        stats = {key: value.item() for key, value in losses.items()}
        stats["loss_G"] = total.item()
        if adversarial:
            stats.update(self._discriminator_step(fake.detach(), real))
        self._update_ema()
        self.step += 1
        self.nimg += cfg.batch
        if self.nimg / 1000 >= self._next_eval:
            stats["heldout_l1"], stats["heldout_feature_l1"] = self.heldout_l1(features=True)
            self._next_eval = self.nimg / 1000 + cfg.eval_every_kimg
        return stats

    def _discriminator_step(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        cfg = self.config
        self.D.requires_grad_(True)
        loss_d = F.softplus(self.D(fake)).mean() + F.softplus(-self.D(real)).mean()
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()
        stats = {"loss_D": loss_d.item()}
        if self.step % cfg.r1_interval == 0:
            real_r1 = real.detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(self.D(real_r1).sum(), real_r1, create_graph=True)
            penalty = grads.square().sum(dim=[1, 2, 3])
            self.opt_D.zero_grad(set_to_none=True)
            ((penalty * (cfg.gamma / 2)).mean() * cfg.r1_interval).backward()
            self.opt_D.step()
            stats["r1"] = penalty.mean().item()
        return stats

    @property
    def exports_discriminator(self) -> bool:
        """D is exported only once the adversarial term trains it."""
        return self.config.adv_weight > 0

    def export(self, path, metadata: dict | None = None):
        """Write G_ema in aufx format; metadata names the latent map (``scene_map``), so that a
        loaded model knows its latents' true scenes."""
        from aufx.synthfacs.latent import SCENE_MAP

        return super().export(path, {"scene_map": SCENE_MAP, **(metadata or {})})

    @torch.no_grad()
    def heldout_l1(self, batch: int = 32, features: bool = False):
        """Mean per-pixel L1 (on [-1, 1]) of G_ema against the teacher on the held-out latents;
        with ``features``, also the mean over the :data:`FEATURE_PARTS` pixels only (a pair)."""
        if self._heldout_targets is None:
            target = render_targets(self.heldout_z, self.config.resolution, with_parts=True)
            self._heldout_targets, self._heldout_mask = target.images, feature_mask(target.parts)
        total = feature_total = 0.0
        for start in range(0, HELDOUT_N, batch):
            rows = slice(start, start + batch)
            error = (self.G_ema(self.heldout_z[rows], noise_mode="const") - self._heldout_targets[rows]).abs()
            total += error.sum().item()
            feature_total += (error * self._heldout_mask[rows]).sum().item()
        l1 = total / self._heldout_targets.numel()
        if not features:
            return l1
        return l1, feature_total / (3 * self._heldout_mask.sum().item())

    @torch.no_grad()
    def save_samples(self):
        from aufx.imageio import save_grid

        z = self.fixed_z[:8, : self.config.z_dim]
        images = torch.cat([render_targets(z, self.config.resolution), self.G_ema(z, noise_mode="const")])
        path = self.sample_path()
        save_grid(images, path, nrow=8)
        return path
