"""StarGAN (Choi et al., CVPR 2018) conditioned on the eight RaFD expression classes.

Architecture and checkpoint layout follow the authors' ``model.py`` (yunjey/stargan):
``Generator(conv_dim=64, c_dim, repeat_num=6)`` — the one-hot domain label tiled over the image
(``3 + c_dim`` input channels), 7×7 conv, two down-convs, ``repeat_num`` residual blocks, two
up-convs, 7×7 conv, tanh; every norm ``InstanceNorm2d(affine=True, track_running_stats=True)``;
no conv biases. Checkpoints ``{iteration}-G.ckpt`` hold ``G.state_dict()`` with keys
``main.0.weight``, ``main.1.{weight,bias,running_mean,running_var,num_batches_tracked}``, ...,
``main.9.main.0.weight`` (residual blocks), ...; the RaFD model has ``c_dim = 8`` at 128 px, with
classes in ImageFolder (alphabetical) order — ``aufx.aus.RAFD_EMOTIONS``.

Test-time normalisation: the authors' ``solver.test()`` never calls ``G.eval()``, so the images
they published were computed with per-image instance statistics (the tracked running
statistics are never used). This adapter reproduces those images by default
(``per_image_norm=True``, see :class:`~baselines.nets.TrackedInstanceNorm`), without mutating
the running buffers as the official code does; ``per_image_norm=False`` gives eval-mode output.

Emotion targets: RaFD class names (``aufx.aus.RAFD_EMOTIONS``); EMFACS prototype names map to
them (``happiness`` -> ``happy``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aufx.aus import RAFD_EMOTIONS
from baselines.base import BaselineError, Conditioning, GeneratorBaseline, emotion_indices
from baselines.checkpoints import CheckpointError, latest_in_dir
from baselines.data import Batch, FacePool
from baselines.nets import (
    PatchCritic,
    TrackedInstanceNorm,
    count_blocks,
    encoder_decoder,
    tile_condition,
)
from baselines.training import (
    GANTrainer,
    TrainSettings,
    critic_depth,
    seeded,
    train_adapter,
)


@dataclass(frozen=True)
class StarGANConfig:
    """StarGAN hyper-parameters (the authors' names). Defaults: the bundled 64-px SynthFACS model."""

    image_size: int = 64
    c_dim: int = 8
    g_conv_dim: int = 32
    g_repeat_num: int = 6
    d_conv_dim: int = 32
    d_repeat_num: int = 5
    #: aufx addition: blur after each up-conv (:class:`baselines.nets.BlurredConvTranspose2d`)
    upsample_blur: bool = False


#: The authors' RaFD model: 128 px, 8 classes, conv_dim 64, 6 residual blocks, 6 critic convs.
RAFD_OFFICIAL = StarGANConfig(image_size=128, c_dim=8, g_conv_dim=64, g_repeat_num=6, d_conv_dim=64, d_repeat_num=6)


class StarGANGenerator(nn.Module):
    """x ``[N, 3, S, S]`` in [-1, 1], one-hot c ``[N, c_dim]`` -> ``[N, 3, S, S]`` (tanh)."""

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6, upsample_blur: bool = False) -> None:
        super().__init__()
        self.c_dim = c_dim
        layers, dim = encoder_decoder(3 + c_dim, conv_dim, repeat_num, TrackedInstanceNorm, upsample_blur=upsample_blur)
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def set_per_image_norm(self, flag: bool) -> None:
        for m in self.modules():
            if isinstance(m, TrackedInstanceNorm):
                m.per_image_at_test = flag

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.main(tile_condition(x, c))


StarGANDiscriminator = PatchCritic


def generator_config_from_state_dict(state_dict: dict) -> tuple[int, int, int]:
    """(conv_dim, c_dim, repeat_num) of a StarGAN generator state dict."""
    first = state_dict.get("main.0.weight")
    if first is None or first.ndim != 4:
        raise CheckpointError("not a StarGAN generator: no 4-d 'main.0.weight'; keys start with "
                              + ", ".join(list(state_dict)[:6]))  # fmt: skip
    return int(first.shape[0]), int(first.shape[1]) - 3, count_blocks(state_dict, "main", "main")


#: The largest critic a StarGAN bundle carries (parameters): the bundled files stay tens of MB.
BUNDLED_CRITIC_MAX_PARAMETERS = 4_000_000


class StarGANTrainer(GANTrainer):
    """StarGAN on SynthFACS's RaFD-class faces with the authors' losses (``solver.py``).

    Critic ``−D(x) + D(G(x, c')) + λ_cls·CE(D_cls(x), c) + λ_gp·GP``; generator
    ``−D(G(x, c')) + λ_cls·CE(D_cls(G(x, c')), c') + λ_rec·|x − G(G(x, c'), c)|₁``; target classes
    ``c'`` are the batch's labels shuffled; λ_cls 1, λ_rec 10, λ_gp 10. An aufx addition, off by
    default (``--loss id=λ``): ``+ λ_id·|x − G(x, c)|₁``, CycleGAN's identity term (the face kept in
    its own class), against the colour cast and noise on the regions an edit leaves alone.
    """

    method = "stargan"
    labelled_only = True
    generator_is_size_free = True
    default_losses = {"cls": 1.0, "rec": 10.0, "id": 0.0}

    def __init__(self, config: StarGANConfig | None = None, state_dir: str | os.PathLike | None = None,
                 settings: TrainSettings | None = None, pool: FacePool | None = None) -> None:  # fmt: skip
        config = config or StarGANConfig()
        with seeded((settings or TrainSettings()).seed):
            G = StarGANGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num, config.upsample_blur)
            D = PatchCritic(config.image_size, config.d_conv_dim, config.c_dim, config.d_repeat_num)
        super().__init__(G, D, config, state_dir, settings, pool)

    def export_extra(self) -> dict[str, dict]:
        """The critic goes into the bundle too when it is small (at most
        :data:`BUNDLED_CRITIC_MAX_PARAMETERS`: 2.8 M parameters at width 16, 128 px, 5.6 MB in
        float16), so that a training started from the bundle on a new machine needs no critic
        warm-up; at width 32 (11.2 M, 22 MB) it is left out, as GANimation's is, and such a start
        warms a fresh critic up first."""
        if sum(p.numel() for p in self.D.parameters()) > BUNDLED_CRITIC_MAX_PARAMETERS:
            return {}
        return {"critic": self.D.state_dict()}

    @classmethod
    def config_for(cls, image_size: int, conv_dim: int) -> StarGANConfig:
        return StarGANConfig(image_size=image_size, g_conv_dim=conv_dim, d_conv_dim=conv_dim,
                             d_repeat_num=critic_depth(image_size))  # fmt: skip

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
        with torch.no_grad():
            fake = self.G(x, c_trg)
        return self.critic_losses(x, src, "cls", F.cross_entropy(cls, org), fake)

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images
        org, trg, c_trg = self._cache
        c_org = torch.eye(self.config.c_dim)[org]
        fake = self.G(x, c_trg)
        src, cls = self.D(fake)
        loss_fake, loss_cls = -src.mean(), F.cross_entropy(cls, trg)
        loss_rec = (x - self.G(fake, c_org)).abs().mean()
        total = loss_fake + self.losses["rec"] * loss_rec + self.losses["cls"] * loss_cls
        logged = {"G/fake": loss_fake, "G/cls": loss_cls, "G/rec": loss_rec}
        if self.losses["id"] > 0:  # not in the paper: one more generator pass, only when asked for
            logged["G/id"] = (x - self.G(x, c_org)).abs().mean()
            total = total + self.losses["id"] * logged["G/id"]
        return {**logged, "G/total": total}

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> StarGANTrainer:
        if tuple(adapter.classes) != RAFD_EMOTIONS:
            raise ValueError("the SynthFACS StarGAN trainer uses the 8 RaFD classes")
        return train_adapter(cls, adapter, **kwargs)  # type: ignore[return-value]


class StarGAN(GeneratorBaseline):
    """StarGAN adapter: ``edit(images, "happy")`` translates every face to the target class."""

    name = "stargan"
    description = "StarGAN (Choi et al. 2018): one generator for all emotion classes, one-hot label input"
    conditioning = Conditioning.EMOTION
    config_class = StarGANConfig
    trainer_class = StarGANTrainer

    def __init__(self, config: StarGANConfig | None = None, per_image_norm: bool = True,
                 classes: tuple[str, ...] = RAFD_EMOTIONS) -> None:  # fmt: skip
        self.config = config or StarGANConfig()
        super().__init__(self.config.image_size)
        self.classes = tuple(classes)
        if len(self.classes) != self.config.c_dim:
            raise BaselineError(f"{len(self.classes)} class names for c_dim={self.config.c_dim}")
        self.per_image_norm = per_image_norm
        self.G = self._build(self.config)

    def _build(self, config: StarGANConfig) -> StarGANGenerator:
        g = StarGANGenerator(config.g_conv_dim, config.c_dim, config.g_repeat_num, config.upsample_blur).eval().requires_grad_(False)
        g.set_per_image_norm(self.per_image_norm)
        return g

    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        idx = emotion_indices(target, images.shape[0], self.classes)
        onehot = torch.zeros(images.shape[0], self.config.c_dim)
        onehot[torch.arange(images.shape[0]), idx] = 1.0
        self.G.eval()
        return self.G(images, onehot)

    def load(self, checkpoint: str | os.PathLike | None = None, image_size: int | None = None) -> StarGAN:
        """Load ``{iter}-G.ckpt`` (or a directory of them: the highest iteration), or an aufx bundle.

        ``image_size``: working size for an authors' checkpoint (which does not record it);
        default 128, the size of their released models.
        """
        path = self._checkpoint_path(checkpoint, "no bundled StarGAN weights yet; train with `aufx train stargan` "
                                                  "or pass the authors' *-G.ckpt")  # fmt: skip
        if path.is_dir():
            path = latest_in_dir(path, r"(\d+)-G\.ckpt")
        return self._load_generator(checkpoint, path, image_size)

    def _config_from_state_dict(self, state_dict: dict, image_size: int | None) -> StarGANConfig:
        conv_dim, c_dim, repeat = generator_config_from_state_dict(state_dict)
        return StarGANConfig(image_size=image_size or RAFD_OFFICIAL.image_size, c_dim=c_dim, g_conv_dim=conv_dim, g_repeat_num=repeat,
                             d_conv_dim=self.config.d_conv_dim, d_repeat_num=self.config.d_repeat_num)  # fmt: skip

    def _check_config(self, config: StarGANConfig, path: Path) -> None:
        if config.c_dim != len(self.classes):
            raise CheckpointError(f"{path}: a {config.c_dim}-class StarGAN, but {len(self.classes)} class names are set "
                                  f"({', '.join(self.classes)}); pass classes= with its {config.c_dim} names")  # fmt: skip
