"""GANimation (Pumarola et al., ECCV 2018): AU-conditioned colour + attention generator.

The generator is StarGAN's encoder–decoder with two 7×7 heads on the last features: colour
``C`` (tanh) and attention ``A`` (sigmoid, one channel); the output is
``A · input + (1 − A) · C`` — ``A`` near 1 keeps the input pixel.

Conditions: 17 OpenFace AU intensities divided by 5 (``AU01 … AU26, AU45``, OpenFace order).
aufx's 16 AUs fill the first 16 entries in ``AU_CODES`` order; **AU45 (blink) is set to 0**, the
value of open eyes, since aufx has no blink AU. The bundled SynthFACS model keeps this 17-wide
condition, so its files have the authors' layout.

Two checkpoint layouts load (detected from the keys):

* ``original`` — albertpumarola/GANimation, ``net_epoch_{E}_id_G.pth``: trunk ``main.*`` with
  ``InstanceNorm2d(affine=True)`` (no running statistics) and bias-free convs, residual blocks
  ``main.{i}.main.*``, heads ``img_reg.0.weight`` and ``attetion_reg.0.weight`` (sic).
* ``replicate`` — donydchen/ganimation_replicate, ``{E}_net_gen.pth``: trunk ``model.*`` with
  biased convs and affine-free ``InstanceNorm2d`` (its ``norm='instance'`` default), residual
  blocks ``model.{i}.conv_block.{0,3}.*``, heads ``color_top.0.weight`` and ``au_top.0.weight``.

Neither layout tracks running statistics, so train and eval mode give the same images.
A ``module.`` prefix (``DataParallel``) is stripped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aufx.aus import AU_MAX, N_AUS
from baselines.base import Conditioning, GeneratorBaseline, au_targets
from baselines.checkpoints import CheckpointError, latest_in_dir
from baselines.data import Batch, FacePool
from baselines.nets import PatchCritic, count_blocks, encoder_decoder, init_normal, tile_condition
from baselines.training import (
    GANTrainer,
    TrainSettings,
    critic_depth,
    seeded,
    total_variation,
)  # fmt: skip

#: The official condition width: OpenFace's 17 intensity AUs (aufx's 16 + AU45).
OFFICIAL_C_DIM = 17
LAYOUTS = ("original", "replicate")
_HEADS = {"original": ("main", "img_reg", "attetion_reg", "main"), "replicate": ("model", "color_top", "au_top", "conv_block")}


@dataclass(frozen=True)
class GANimationConfig:
    """Hyper-parameters. Defaults: the bundled 64-px SynthFACS model (authors' 128-px model: conv_dim 64)."""

    image_size: int = 64
    c_dim: int = OFFICIAL_C_DIM
    g_conv_dim: int = 32
    g_repeat_num: int = 6
    d_conv_dim: int = 32
    d_repeat_num: int = 5
    layout: str = "original"
    #: aufx addition: blur after each up-conv (:class:`baselines.nets.BlurredConvTranspose2d`)
    upsample_blur: bool = False


class GANimationGenerator(nn.Module):
    """x ``[N, 3, S, S]``, c ``[N, c_dim]`` (intensities / 5) -> (colour ``[N, 3, S, S]``, attention ``[N, 1, S, S]``)."""

    def __init__(self, conv_dim: int = 64, c_dim: int = OFFICIAL_C_DIM, repeat_num: int = 6, layout: str = "original",
                 upsample_blur: bool = False) -> None:  # fmt: skip
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout, self.c_dim = layout, c_dim
        trunk_name, colour_name, attention_name, block_attr = _HEADS[layout]
        if layout == "original":
            layers, dim = encoder_decoder(3 + c_dim, conv_dim, repeat_num, lambda c: nn.InstanceNorm2d(c, affine=True),
                                          upsample_blur=upsample_blur)  # fmt: skip
        else:
            layers, dim = encoder_decoder(3 + c_dim, conv_dim, repeat_num, lambda c: nn.InstanceNorm2d(c, affine=False),
                                          conv_bias=True, block_attr=block_attr, upsample_blur=upsample_blur)  # fmt: skip
        self.add_module(trunk_name, nn.Sequential(*layers))
        self.add_module(colour_name, nn.Sequential(nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()))
        self.add_module(attention_name, nn.Sequential(nn.Conv2d(dim, 1, 7, 1, 3, bias=False), nn.Sigmoid()))
        self._names = (trunk_name, colour_name, attention_name)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        trunk, colour, attention = (getattr(self, n) for n in self._names)
        features = trunk(tile_condition(x, c))
        return colour(features), attention(features)

    def edit(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The composed output ``A · x + (1 − A) · C``."""
        colour, attention = self(x, c)
        return compose(x, colour, attention)


def compose(x: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """GANimation's output: ``attention · x + (1 − attention) · colour``."""
    return attention * x + (1.0 - attention) * colour


GANimationDiscriminator = PatchCritic


def aus_to_condition(aus: torch.Tensor, c_dim: int = OFFICIAL_C_DIM) -> torch.Tensor:
    """aufx AU intensities ``[N, 16]`` (0–5) -> condition ``[N, c_dim]``: /5, AU45 (and any extra) = 0."""
    if c_dim < N_AUS:
        raise ValueError(f"c_dim must be >= {N_AUS}, got {c_dim}")
    cond = torch.zeros(aus.shape[0], c_dim, dtype=torch.float32)
    cond[:, :N_AUS] = aus.float() / AU_MAX
    return cond


def desired_conditions(real: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Training targets ``[N, c_dim]``: another face's condition (batch shuffled) + U(−0.1, 0.1), AU45 = 0."""
    perm = torch.randperm(real.shape[0], generator=generator)
    noise = torch.rand(real.shape, generator=generator) * 0.2 - 0.1
    desired = real[perm] + noise
    desired[:, N_AUS:] = 0.0  # AU45 stays 0 (no blink AU in aufx)
    return desired


def detect_layout(state_dict: dict) -> str:
    """``original`` or ``replicate`` from a generator state dict's keys."""
    if "attetion_reg.0.weight" in state_dict or "img_reg.0.weight" in state_dict:
        return "original"
    if "au_top.0.weight" in state_dict or "color_top.0.weight" in state_dict:
        return "replicate"
    raise CheckpointError(
        "not a GANimation generator: neither 'attetion_reg.0.weight' (original) nor 'au_top.0.weight' "
        "(ganimation_replicate) is present; keys start with " + ", ".join(list(state_dict)[:6])
    )


def config_from_state_dict(state_dict: dict, layout: str, image_size: int) -> GANimationConfig:
    trunk, _, _, block_attr = _HEADS[layout]
    first = state_dict.get(f"{trunk}.0.weight")
    if first is None or first.ndim != 4:
        raise CheckpointError(f"GANimation ({layout}) generator without a 4-d '{trunk}.0.weight'")
    return GANimationConfig(image_size=image_size, c_dim=int(first.shape[1]) - 3, g_conv_dim=int(first.shape[0]),
                            g_repeat_num=count_blocks(state_dict, trunk, block_attr), layout=layout)  # fmt: skip


class GANimationTrainer(GANTrainer):
    """GANimation on SynthFACS faces with the authors' losses (``ganimation.py``).

    Critic ``−D(x) + D(x̃) + λ_au·MSE(D_au(x), y) + λ_gp·GP`` with ``x̃ = A·x + (1−A)·C`` for a target
    ``y'`` = another face's AUs + U(−0.1, 0.1) (:func:`desired_conditions`); generator
    ``−D(x̃) + λ_au·MSE(D_au(x̃), y') + λ_cyc·|x − x̂|₁ + λ_A·(mean A + mean Â) + λ_tv·(TV(A) + TV(Â))``;
    λ_au 160 (= the original's 4000 / batch 25, the replicate's value), λ_cyc 10, λ_A 0.1, λ_tv 1e-5.
    An aufx addition, off by default (``--loss colour=λ``): ``+ λ_C·(|C − x|₁ + |Ĉ − x̃|₁)``, the
    colour heads held near their inputs, so that where the attention opens part-way the blend is
    not the garish colour image the paper's losses leave wherever the attention stays shut.
    """

    method = "ganimation"
    default_losses = {"au": 160.0, "cyc": 10.0, "mask": 0.1, "tv": 1e-5, "colour": 0.0}
    generator_is_size_free = True

    def __init__(self, config: GANimationConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or GANimationConfig()
        if config.layout != "original":
            raise ValueError("GANimation trains in the original layout (both layouts give the same network)")
        with seeded((settings or TrainSettings()).seed):
            G = GANimationGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num, upsample_blur=config.upsample_blur)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
            init_normal(G)
            init_normal(D)
        super().__init__(G, D, config, state_dir, settings, pool)

    @classmethod
    def config_for(cls, image_size: int, conv_dim: int) -> GANimationConfig:
        return GANimationConfig(image_size=image_size, g_conv_dim=conv_dim, d_conv_dim=conv_dim,
                                d_repeat_num=critic_depth(image_size))  # fmt: skip

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        real_c = aus_to_condition(batch.aus, self.config.c_dim)
        desired = desired_conditions(real_c, self.torch_rng)
        self._cache = (real_c, desired)
        src, cond = self.D(x)
        with torch.no_grad():
            fake = self.G.edit(x, desired)
        return self.critic_losses(x, src, "au", F.mse_loss(cond, real_c), fake)

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
        logged = {"G/fake": loss_fake, "G/au": loss_au, "G/cyc": loss_cyc, "G/mask": loss_mask, "G/tv": loss_tv}
        if L["colour"] > 0:  # not in the paper
            logged["G/colour"] = (colour - x).abs().mean() + (rec_colour - fake).abs().mean()
            total = total + L["colour"] * logged["G/colour"]
        return {**logged, "G/total": total}


class GANimation(GeneratorBaseline):
    """GANimation adapter: ``edit(images, aus)`` with absolute target AU intensities ``[N, 16]`` on 0–5."""

    name = "ganimation"
    description = "GANimation (Pumarola et al. 2018): AU-vector conditioned colour + attention generator"
    conditioning = Conditioning.AU_VECTOR
    config_class = GANimationConfig
    trainer_class = GANimationTrainer

    def __init__(self, config: GANimationConfig | None = None) -> None:
        self.config = config or GANimationConfig()
        super().__init__(self.config.image_size)
        self.G = self._build(self.config)

    @staticmethod
    def _build(config: GANimationConfig) -> GANimationGenerator:
        g = GANimationGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num, config.layout, config.upsample_blur)
        return g.eval().requires_grad_(False)

    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        cond = aus_to_condition(au_targets(target, images.shape[0]), self.config.c_dim)
        return self.G.edit(images, cond)

    def attention(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        """The attention map ``[N, 1, S, S]`` at working size (1 = pixel kept)."""
        cond = aus_to_condition(au_targets(target, images.shape[0]), self.config.c_dim)
        with torch.no_grad():
            return self.G(images, cond)[1]

    def load(self, checkpoint: str | os.PathLike | None = None, image_size: int | None = None) -> GANimation:
        """Load ``net_epoch_{E}_id_G.pth`` / ``{E}_net_gen.pth`` (a directory: the highest epoch) or an aufx bundle.

        ``image_size``: working size for an authors' checkpoint (default 128, their size).
        """
        path = self._checkpoint_path(checkpoint, "no bundled GANimation weights yet; train with `aufx train ganimation` "
                                                  "or pass the authors' net_epoch_*_id_G.pth")  # fmt: skip
        if path.is_dir():
            try:
                path = latest_in_dir(path, r"net_epoch_(\d+)_id_G\.pth")
            except CheckpointError:
                path = latest_in_dir(path, r"(\d+)_net_gen\.pth")
        return self._load_generator(checkpoint, path, image_size)

    def _config_from_state_dict(self, state_dict: dict, image_size: int | None) -> GANimationConfig:
        return config_from_state_dict(state_dict, detect_layout(state_dict), image_size or 128)
