"""Cascade EF-GAN (Wu, Zhang, Lu, Chen, CVPR 2020, arXiv 2003.05905), implemented from the paper.

No official code or checkpoints were found, so this is a re-implementation whose every choice the
paper leaves open is listed here (the paper's architecture figures give the structure, not all
sizes).

What the paper specifies and this module does:
    * **EF-GAN** = an *Expression Transformer* followed by a *Refiner*.
    * The Expression Transformer has a **global branch** on the whole face and **local branches**
      on expression-intensive regions — **eyes, nose, mouth** — each an AU-conditioned
      generator with a colour and an attention output (GANimation-style composition
      ``A · x + (1 − A) · C``); local results are **fused** with the global result.
    * **Cascade**: the edit from the source to the target expression is split into ``K``
      progressive steps with intermediate targets; each step is one EF-GAN.
    * Training: adversarial loss, AU regression by the discriminator, cycle reconstruction,
      attention regularisation (as GANimation, which the paper builds on).

Choices the paper leaves open (ours):
    1. Conditions are GANimation's: 17 AU intensities / 5, aufx's 16 AUs + AU45 = 0.
    2. Region boxes are fixed fractions of the aligned face (:data:`REGIONS`; ``eyes`` includes
       the brows, since AU01/02/04 move them), measured on SynthFACS part maps; the paper crops
       around detected landmarks. Crops are resized (bilinear) to ``local_size`` squares; the
       branch's colour and attention maps are resized back to the box and composed there with the
       full-resolution crop, so a region the branch keeps is the source's pixels and leaves no seam
       (until 2026-12-06 the composed low-resolution crop was resized back: it blurred every box
       and left a box grid on the contact sheets; trained weights carry over, as the networks are
       the same).
    3. Branch networks: the global branch is StarGAN's encoder–decoder (``conv_dim``,
       ``repeat_num`` residual blocks); each local branch the same at ``conv_dim // 2`` with
       ``max(1, repeat_num // 2)`` blocks; the three local branches do not share weights.
    4. Fusion: a 3-layer conv net on ``[global, local canvas, region mask]`` (7 channels)
       predicts a blend weight ``β`` (sigmoid); fused = ``β · local + (1 − β) · global``. Each
       local result fades in over the outer :data:`FADE` (20 %) of its box (:func:`box_window`,
       on the canvas where boxes overlap and on ``β``), so ``β`` goes to 0 at the box edges:
       since 2026-12-06 (Cascade EF-GAN step 1,400 of the 128 px run), when the contact sheets
       still showed each box's outline after the full-resolution composition of choice 2; until
       then ``β`` was cut off at the box edges. Trained weights carry over (no new parameters).
    5. Refiner: a residual conv net (3 convs, last one zero-initialised so that it starts as the
       identity): ``out = clamp(x + R(x), −1, 1)``.
    6. Cascade: ``K = 3`` steps **sharing one EF-GAN's weights**; step ``k`` targets
       ``c_src + k/K · (c_tgt − c_src)``. The source AUs come from the caller, else from the
       trained discriminator's AU head (bundled with the weights), as OpenFace provided them in
       the paper.
    7. Losses per step (weights as GANimation's defaults scaled to this data): WGAN-GP on the
       whole image with one critic (no separate local discriminators), AU regression (MSE) to
       the step's target, attention mean + total variation on all four attention maps; after
       the ``K`` forward steps, ``K`` backward steps to the source AUs and an L1 cycle loss. Not
       the paper's, off by default: GANimation's colour term on every branch (``--loss colour=λ``,
       :class:`CascadeEFGANTrainer`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from baselines.base import Baseline, BaselineError, Conditioning, au_targets
from baselines.checkpoints import (
    CheckpointError,
    is_bundle,
    load_bundle,
    load_into,
    read_torch_file,
)
from baselines.data import Batch, FacePool
from baselines.ganimation import (
    OFFICIAL_C_DIM,
    GANimationGenerator,
    aus_to_condition,
    compose,
    desired_conditions,
)
from baselines.nets import PatchCritic, init_normal
from baselines.training import (
    GANTrainer,
    TrainSettings,
    critic_depth,
    seeded,
    total_variation,
    train_adapter,
)  # fmt: skip

#: Local regions as (top, left, height, width) fractions of the aligned face (see choice 2).
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "eyes": (0.26, 0.22, 0.26, 0.56),
    "nose": (0.30, 0.38, 0.34, 0.24),
    "mouth": (0.58, 0.30, 0.24, 0.40),
}


@dataclass(frozen=True)
class CascadeEFGANConfig:
    image_size: int = 64
    c_dim: int = OFFICIAL_C_DIM
    conv_dim: int = 32
    repeat_num: int = 4
    local_size: int = 32
    fusion_dim: int = 16
    steps: int = 3
    d_conv_dim: int = 32
    d_repeat_num: int = 5
    #: aufx addition: blur after each up-conv of every branch (:class:`baselines.nets.BlurredConvTranspose2d`)
    upsample_blur: bool = False


def region_box(region: str, size: int) -> tuple[int, int, int, int]:
    """Pixel box (top, left, height, width) of a region at image side ``size``."""
    top, left, height, width = REGIONS[region]
    return round(top * size), round(left * size), max(2, round(height * size)), max(2, round(width * size))


#: Share of a region box's side over which its local result fades in from the edge (choice 4).
FADE = 0.2


def box_window(height: int, width: int, fade: float = FADE) -> torch.Tensor:
    """``[1, 1, height, width]`` weights that rise linearly from ~0 at the box's edges to 1 over
    ``fade`` × its side (at least one pixel), so that a local result blended in leaves no step."""

    def ramp(n: int) -> torch.Tensor:
        steps = max(1, round(fade * n))
        i = torch.arange(n, dtype=torch.float32) + 0.5
        return ((i / steps).clamp(max=1.0) * ((n - i) / steps).clamp(max=1.0))

    return (ramp(height)[:, None] * ramp(width)[None, :])[None, None]


class EFGANOutput(NamedTuple):
    """One EF-GAN step's result: the edited image ``[N, 3, S, S]``, the four attention maps (global,
    then eyes, nose, mouth) and each branch's mean colour gap ``|C − input|₁`` (scalars, same order)."""

    image: torch.Tensor
    attentions: list[torch.Tensor]
    colour_gaps: list[torch.Tensor]


class CascadeSteps(NamedTuple):
    """The cascade's per-step images, intermediate conditions ``[N, c_dim]``, and every step's
    attention maps and colour gaps (:class:`EFGANOutput`'s, in step order)."""

    images: list[torch.Tensor]
    conds: list[torch.Tensor]
    attentions: list[torch.Tensor]
    colour_gaps: list[torch.Tensor]


class EFGAN(nn.Module):
    """One EF-GAN step: x ``[N, 3, S, S]``, c ``[N, c_dim]`` -> :class:`EFGANOutput`."""

    def __init__(self, config: CascadeEFGANConfig) -> None:
        super().__init__()
        self.config = config
        blur = config.upsample_blur
        self.global_branch = GANimationGenerator(config.conv_dim, config.c_dim, config.repeat_num, upsample_blur=blur)
        self.local_branches = nn.ModuleDict({
            name: GANimationGenerator(max(4, config.conv_dim // 2), config.c_dim, max(1, config.repeat_num // 2),
                                      upsample_blur=blur)
            for name in REGIONS
        })  # fmt: skip
        f = config.fusion_dim
        self.fusion = nn.Sequential(
            nn.Conv2d(7, f, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(f, f, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(f, 1, 3, 1, 1),
        )  # fmt: skip
        self.refiner = nn.Sequential(
            nn.Conv2d(3, f, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(f, f, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(f, 3, 3, 1, 1),
        )  # fmt: skip
        init_normal(self)
        nn.init.zeros_(self.refiner[-1].weight)
        nn.init.zeros_(self.refiner[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> EFGANOutput:
        size = x.shape[-1]
        colour, attention = self.global_branch(x, c)
        global_out = compose(x, colour, attention)
        attentions = [attention]
        colour_gaps = [(colour - x).abs().mean()]
        canvas = global_out.clone()
        mask = torch.zeros_like(x[:, :1])
        reach = torch.zeros_like(x[:, :1])  # how far the local results may replace the global one
        for name, branch in self.local_branches.items():
            top, left, h, w = region_box(name, size)
            box = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
            crop = x[box]
            small = F.interpolate(crop, size=(self.config.local_size,) * 2, mode="bilinear", align_corners=False)
            l_colour, l_attention = branch(small, c)
            attentions.append(l_attention)
            colour_gaps.append((l_colour - small).abs().mean())
            l_colour, l_attention = (F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
                                     for m in (l_colour, l_attention))  # fmt: skip
            window = box_window(h, w).to(x)
            canvas[box] = canvas[box] * (1.0 - window) + compose(crop, l_colour, l_attention) * window
            reach[box] = 1.0 - (1.0 - reach[box]) * (1.0 - window)
            mask[box] = 1.0
        beta = torch.sigmoid(self.fusion(torch.cat([global_out, canvas, mask], dim=1))) * reach
        fused = beta * canvas + (1.0 - beta) * global_out
        return EFGANOutput((fused + self.refiner(fused)).clamp(-1.0, 1.0), attentions, colour_gaps)


class CascadeEFGANNet(nn.Module):
    """The cascade: ``steps`` applications of one shared :class:`EFGAN` along interpolated targets."""

    def __init__(self, config: CascadeEFGANConfig) -> None:
        super().__init__()
        self.config = config
        self.efgan = EFGAN(config)

    def forward(self, x: torch.Tensor, c_src: torch.Tensor, c_tgt: torch.Tensor,
                return_steps: bool = False) -> Any:  # fmt: skip
        """x ``[N, 3, S, S]``, conditions ``[N, c_dim]`` -> final image, or :class:`CascadeSteps`."""
        steps = CascadeSteps([], [], [], [])
        out = x
        for k in range(1, self.config.steps + 1):
            c_k = c_src + (k / self.config.steps) * (c_tgt - c_src)
            step = self.efgan(out, c_k)
            out = step.image
            steps.images.append(out)
            steps.conds.append(c_k)
            steps.attentions.extend(step.attentions)
            steps.colour_gaps.extend(step.colour_gaps)
        return steps if return_steps else out


class CascadeEFGANTrainer(GANTrainer):
    """Cascade EF-GAN on SynthFACS faces (choice 7): GANimation's terms on every cascade step's output
    against that step's intermediate target, attention terms on the global and local attention maps,
    and the cycle through ``K`` backward steps; one critic sees every step's output.

    An aufx addition, off by default (``--loss colour=λ``), as GANimation's: ``+ λ_C·2·mean |C − input|₁``
    over every branch's colour head at every forward and backward step (the ``2`` is GANimation's two
    maps, as for the attention terms), so that where an attention opens part-way the blend is not a
    garish colour image.
    """

    method = "cascade-efgan"
    default_losses = {"au": 160.0, "cyc": 10.0, "mask": 0.1, "tv": 1e-5, "colour": 0.0}

    def __init__(self, config: CascadeEFGANConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or CascadeEFGANConfig()
        with seeded((settings or TrainSettings()).seed):
            G = CascadeEFGANNet(config)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
            init_normal(D)
        super().__init__(G, D, config, state_dir, settings, pool)

    @classmethod
    def config_for(cls, image_size: int, conv_dim: int) -> CascadeEFGANConfig:
        return CascadeEFGANConfig(image_size=image_size, conv_dim=conv_dim, local_size=image_size // 2,
                                  d_conv_dim=conv_dim, d_repeat_num=critic_depth(image_size))  # fmt: skip

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        c_src = aus_to_condition(batch.aus, self.config.c_dim)
        c_tgt = desired_conditions(c_src, self.torch_rng)
        self._cache = (c_src, c_tgt)
        src, cond = self.D(x)
        with torch.no_grad():
            images = self.G(x, c_src, c_tgt, return_steps=True).images
        return self.critic_losses(x, src, "au", F.mse_loss(cond, c_src), torch.cat(images), gp_fake=images[-1])

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        c_src, c_tgt = self._cache
        forward = self.G(x, c_src, c_tgt, return_steps=True)
        src, cond = self.D(torch.cat(forward.images))
        loss_fake = -src.mean()
        loss_au = F.mse_loss(cond, torch.cat(forward.conds))
        back = self.G(forward.images[-1], c_tgt, c_src, return_steps=True)
        loss_cyc = (back.images[-1] - x).abs().mean()
        all_att = forward.attentions + back.attentions
        loss_mask = sum(a.mean() for a in all_att) / len(all_att) * 2  # scale of GANimation's two maps
        loss_tv = sum(total_variation(a) for a in all_att) / len(all_att) * 2
        L = self.losses
        total = loss_fake + L["au"] * loss_au + L["cyc"] * loss_cyc + L["mask"] * loss_mask + L["tv"] * loss_tv
        logged = {"G/fake": loss_fake, "G/au": loss_au, "G/cyc": loss_cyc, "G/mask": loss_mask, "G/tv": loss_tv}
        if L["colour"] > 0:  # not in the paper
            gaps = forward.colour_gaps + back.colour_gaps
            logged["G/colour"] = sum(gaps) / len(gaps) * 2
            total = total + L["colour"] * logged["G/colour"]
        return {**logged, "G/total": total}

    def export_extra(self) -> dict[str, dict]:
        return {"critic": self.D.state_dict()}

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> CascadeEFGANTrainer:
        """Train, then also hand the trained critic (its AU head gives source AUs) to the adapter."""
        trainer = train_adapter(cls, adapter, **kwargs)
        critic = PatchCritic(adapter.config.image_size, adapter.config.d_conv_dim, adapter.config.c_dim,
                             adapter.config.d_repeat_num)  # fmt: skip
        critic.load_state_dict(trainer.D.state_dict())
        adapter.critic = critic.eval().requires_grad_(False)
        return trainer  # type: ignore[return-value]


@dataclass
class CascadeTarget:
    """Target AUs ``[N, 16]`` (0–5) and, optionally, the source faces' AUs ``[N, 16]``."""

    aus: Any
    source_aus: Any = None


class CascadeEFGAN(Baseline):
    """Cascade EF-GAN adapter: ``edit(images, aus)`` or ``edit(images, CascadeTarget(aus, source_aus))``."""

    name = "cascade-efgan"
    description = "Cascade EF-GAN (Wu et al. 2020): progressive AU editing, global + eyes/nose/mouth branches"
    conditioning = Conditioning.AU_VECTOR
    trainer_class = CascadeEFGANTrainer

    def __init__(self, config: CascadeEFGANConfig | None = None) -> None:
        self.config = config or CascadeEFGANConfig()
        super().__init__(self.config.image_size)
        self.net = CascadeEFGANNet(self.config).eval().requires_grad_(False)
        #: The trained critic; its AU head estimates source AUs when the caller gives none.
        self.critic: PatchCritic | None = None

    def with_source_aus(self, aus: torch.Tensor, source_aus: torch.Tensor) -> CascadeTarget:
        """The target ``aus`` ``[N, 16]`` for faces whose AUs ``[N, 16]`` are known (validation's hook)."""
        return CascadeTarget(aus, source_aus)

    def estimate_aus(self, images: torch.Tensor) -> torch.Tensor:
        """Source AU intensities ``[N, 16]`` (0–5) from the critic's AU head, at working size."""
        if self.critic is None:
            raise BaselineError("cascade-efgan needs source AUs: pass CascadeTarget(aus, source_aus) "
                                "or load weights that include the trained discriminator")  # fmt: skip
        with torch.no_grad():
            cond = self.critic(images)[1]
        return (cond[:, :16] * 5.0).clamp(0.0, 5.0)

    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        n = images.shape[0]
        if isinstance(target, CascadeTarget):
            tgt = au_targets(target.aus, n)
            src = au_targets(target.source_aus, n) if target.source_aus is not None else self.estimate_aus(images)
        else:
            tgt, src = au_targets(target, n), self.estimate_aus(images)
        c_src, c_tgt = aus_to_condition(src, self.config.c_dim), aus_to_condition(tgt, self.config.c_dim)
        return self.net(images, c_src, c_tgt)

    def load(self, checkpoint: str | os.PathLike | None = None) -> CascadeEFGAN:
        """Load an aufx bundle (the only format: there is no official release)."""
        path = self._checkpoint_path(checkpoint, "no bundled Cascade EF-GAN weights yet; train with `aufx train cascade-efgan`")
        payload = read_torch_file(path)
        if not is_bundle(payload):
            raise CheckpointError(f"{path}: not an aufx-baseline bundle (Cascade EF-GAN has no official checkpoints)")
        bundle = load_bundle(payload, self.name, str(path))
        config = CascadeEFGANConfig(**bundle["config"])
        net = CascadeEFGANNet(config)
        load_into(net, bundle["state_dict"], str(path))
        critic = None
        if "critic" in bundle.get("extra", {}):
            critic = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
            load_into(critic, bundle["extra"]["critic"], f"{path} [critic]")
            critic.eval().requires_grad_(False)
        self.net, self.critic, self.config = net.eval().requires_grad_(False), critic, config
        self.image_size = config.image_size
        self.weights_source = "bundled" if checkpoint is None else str(path)
        return self

    def config_dict(self) -> dict:
        return asdict(self.config)
