"""The one interface every comparison method sits behind.

Image convention (every adapter, in and out):
    ``images``: float tensor ``[N, 3, H, W]``, RGB in ``[-1, 1]``, square (``H == W``), showing an
    aligned face that fills the frame as SynthFACS / FFHQ-aligned faces do. The adapter resizes
    to its working size (``image_size``; bilinear with anti-aliasing when shrinking) and the result
    back to ``H × W``, so ``edit`` returns ``[N, 3, H, W]`` in ``[-1, 1]``. Inputs already at the
    working size pass through without resampling. The adapters do not detect or crop faces:
    a caller with unaligned photos aligns them first (as StarGAN's and GANimation's own test
    scripts do with a face detector and a centre crop).

Targets, by :class:`Conditioning` kind:
    * ``EMOTION`` — a class name (``"happy"``, RaFD names; EMFACS prototype names such as
      ``"happiness"`` are accepted too), a list of ``N`` names, or a LongTensor ``[N]`` of class
      indices into the adapter's ``classes``.
    * ``AU_VECTOR`` — the *absolute* AU intensities to reach, on OpenFace's 0–5 scale, in
      ``aufx.aus.AU_CODES`` order: a tensor ``[16]`` / ``[N, 16]``, or a dict ``{"AU12": 3.0}``
      (AUs left out are 0).
    * ``REFERENCE_REGION`` — a :class:`ReferenceRegion`: transfer the named region of a reference
      face onto each input face.
"""

from __future__ import annotations

import enum
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from aufx.aus import AU_MAX, AU_MIN, N_AUS, RAFD_EMOTIONS, RAFD_TO_PROTOTYPE, au_vector
from baselines.checkpoints import (
    CheckpointError,
    as_state_dict,
    is_bundle,
    load_bundle,
    load_into,
    read_torch_file,
)

#: Where bundled baseline weights live (``baselines/weights/<name>.pt``).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class Conditioning(str, enum.Enum):  # noqa: UP042 (str() must stay "Conditioning.X")
    """What a method is conditioned on."""

    EMOTION = "emotion"
    AU_VECTOR = "au-vector"
    REFERENCE_REGION = "reference-region"


@dataclass
class ReferenceRegion:
    """Target of a reference-based local edit: copy ``region`` of a reference face.

    Attributes:
        region: a region name of the method's catalog (e.g. ``"mouth"``, ``"eyes"``, ``"nose"``).
        reference_images: ``[N or 1, 3, H, W]`` in [-1, 1], inverted by the adapter when
            ``reference_ws`` is not given.
        reference_ws: latents of the reference faces, W ``[N or 1, w_dim]`` or W+
            ``[N or 1, num_ws, w_dim]``.
        source_ws: latents of the faces being edited (skips their inversion when known).
    """

    region: str
    reference_images: torch.Tensor | None = None
    reference_ws: torch.Tensor | None = None
    source_ws: torch.Tensor | None = None


class BaselineError(ValueError):
    """Bad input to a baseline adapter; the message names the argument and the value."""


class Baseline(ABC):
    """A facial-expression editing method behind one interface.

    Subclasses set the class attributes and implement :meth:`_edit` (working-size images in,
    working-size images out) and :meth:`load`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    conditioning: ClassVar[Conditioning]
    #: True when the method has networks to train (``train`` then runs a resumable trainer).
    trainable: ClassVar[bool] = True
    #: The method's :class:`baselines.training.GANTrainer` subclass (defined in the method's module),
    #: which :meth:`train` and ``aufx train <method>`` use; ``None`` when training is something else.
    trainer_class: ClassVar[type | None] = None

    def __init__(self, image_size: int) -> None:
        if not isinstance(image_size, int) or image_size < 8:
            raise BaselineError(f"image_size must be an integer >= 8, got {image_size!r}")
        self.image_size = image_size
        #: Where the current weights came from (a path, "bundled", or "random init (untrained)").
        self.weights_source = "random init (untrained)"
        self._warned_random = False

    # ---------------------------------------------------------------- public interface
    def edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        """Edit a batch: ``images`` ``[N, 3, H, W]`` in [-1, 1] -> edited ``[N, 3, H, W]`` in [-1, 1]."""
        x = check_images(images)
        if self.weights_source.startswith("random") and not self._warned_random:
            warnings.warn(f"{self.name}: editing with untrained (random) weights; call load() first",
                          RuntimeWarning, stacklevel=2)  # fmt: skip
            self._warned_random = True
        size = x.shape[-1]
        with torch.no_grad():
            out = self._edit(resize_square(x, self.image_size), target)
        return resize_square(out, size).clamp(-1.0, 1.0)

    @abstractmethod
    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        """Working-size edit: ``[N, 3, S, S]`` -> ``[N, 3, S, S]`` with ``S = image_size``."""

    @abstractmethod
    def load(self, checkpoint: str | os.PathLike | None = None) -> Baseline:
        """Load weights: a path in the authors' format or aufx's, or ``None`` for the bundled ones."""

    def train(self, **kwargs: Any) -> Any:
        """Train on SynthFACS (resumable) with :attr:`trainer_class`; returns the trainer.

        Arguments: :func:`baselines.training.train_adapter`'s (``state_dir``, ``settings``, ``pool``,
        ``max_steps``, ``budget_seconds``, ``export``, ``progress``).
        """
        if self.trainer_class is None:
            raise NotImplementedError(f"{self.name} has no training step")
        return self.trainer_class.from_adapter(self, **kwargs)  # type: ignore[attr-defined]

    def bundled_path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.pt"

    def _checkpoint_path(self, checkpoint: str | os.PathLike | None, missing: str) -> Path:
        """``checkpoint`` as a path, or the bundled file; ``missing`` ends the error when that is absent."""
        path = Path(checkpoint).expanduser() if checkpoint is not None else self.bundled_path()
        if checkpoint is None and not path.is_file():
            raise CheckpointError(f"{path}: {missing}")
        return path

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, conditioning={self.conditioning.value}, "
                f"image_size={self.image_size}, weights={self.weights_source!r})")  # fmt: skip


class GeneratorBaseline(Baseline):
    """A baseline that is one generator ``G`` built from a config dataclass ``config`` (StarGAN,
    GANimation): loading an aufx bundle or the authors' generator state dict is shared here.

    Subclasses set :attr:`config_class` and implement :meth:`_build` and
    :meth:`_config_from_state_dict`; :meth:`_check_config` may refuse a loaded config.
    """

    config_class: ClassVar[type]
    config: Any
    G: nn.Module

    @abstractmethod
    def _build(self, config: Any) -> nn.Module:
        """A generator for ``config`` in eval mode without gradients."""

    @abstractmethod
    def _config_from_state_dict(self, state_dict: dict, image_size: int | None) -> Any:
        """The config of an authors' generator state dict (CheckpointError when it is not one)."""

    def _check_config(self, config: Any, path: Path) -> None:
        """Refuse a loaded config (CheckpointError naming ``path``); accepts every one by default."""

    def _load_generator(self, checkpoint: str | os.PathLike | None, path: Path, image_size: int | None) -> Any:
        """Load the file ``path`` (an aufx bundle or the authors' state dict) into a new ``G``; returns self.

        ``checkpoint``: what the caller passed to ``load`` (``None``: the bundled weights).
        """
        payload = read_torch_file(path)
        if is_bundle(payload):
            bundle = load_bundle(payload, self.name, str(path))
            config, state = self.config_class(**bundle["config"]), bundle["state_dict"]
        else:
            state = as_state_dict(payload, str(path))
            try:
                config = self._config_from_state_dict(state, image_size)
            except CheckpointError as error:
                raise CheckpointError(f"{path}: {error}") from None
        generator = self._build(config)
        load_into(generator, state, str(path))
        self._check_config(config, path)
        self.G, self.config, self.image_size = generator, config, config.image_size
        self.weights_source = "bundled" if checkpoint is None else str(path)
        return self

    def config_dict(self) -> dict:
        return asdict(self.config)


# -------------------------------------------------------------------- helpers shared by adapters
def check_images(images: Any) -> torch.Tensor:
    """Validate an image batch (``[N, 3, H, H]`` float, finite); returns it as float32."""
    if not isinstance(images, torch.Tensor):
        raise BaselineError(f"images must be a torch.Tensor [N, 3, H, W], got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise BaselineError(f"images must have shape [N, 3, H, W], got {list(images.shape)}")
    if images.shape[2] != images.shape[3]:
        raise BaselineError(f"images must be square (align and crop faces first), got {images.shape[2]}x{images.shape[3]}")
    if images.shape[0] == 0:
        raise BaselineError("images is an empty batch")
    x = images.detach().float()
    if not torch.isfinite(x).all():
        raise BaselineError("images contain NaN or infinite values")
    return x


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``[N, C, H, H]`` to ``[N, C, size, size]`` (bilinear, anti-aliased); no-op at equal size."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def au_targets(target: Any, n: int) -> torch.Tensor:
    """An AU-vector target -> float tensor ``[n, 16]`` of intensities on 0–5.

    Accepts a tensor/array ``[16]`` or ``[n, 16]``, or a mapping ``{"AU12": 3}``.
    """
    if isinstance(target, Mapping):
        t = torch.tensor(au_vector(target), dtype=torch.float32).unsqueeze(0)
    else:
        t = torch.as_tensor(target, dtype=torch.float32)
        if t.ndim == 1:
            t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != N_AUS:
        raise BaselineError(f"AU target must be [16] or [N, 16] (AU_CODES order), got {list(t.shape)}")
    if t.shape[0] == 1 and n > 1:
        t = t.expand(n, -1)
    if t.shape[0] != n:
        raise BaselineError(f"AU target has {t.shape[0]} rows for {n} images")
    if not torch.isfinite(t).all() or (t < AU_MIN - 1e-6).any() or (t > AU_MAX + 1e-6).any():
        raise BaselineError(f"AU target intensities must lie in [{AU_MIN:g}, {AU_MAX:g}], got min {t.min():g}, max {t.max():g}")
    return t.contiguous()


_PROTOTYPE_TO_RAFD = {proto: rafd for rafd, proto in RAFD_TO_PROTOTYPE.items() if proto is not None}


def emotion_indices(target: Any, n: int, classes: Sequence[str] = RAFD_EMOTIONS) -> torch.Tensor:
    """An emotion target -> LongTensor ``[n]`` of indices into ``classes``.

    Accepts a class name, an EMFACS prototype name (``"happiness"`` -> ``"happy"``), a list of
    ``n`` names, or an integer tensor/list of indices.
    """
    names: list = [target] * n if isinstance(target, str) else None  # type: ignore[assignment]
    if names is None and isinstance(target, (list, tuple)) and target and all(isinstance(t, str) for t in target):
        names = list(target)
    if names is not None:
        if len(names) != n:
            raise BaselineError(f"got {len(names)} emotion names for {n} images")
        idx = []
        for name in names:
            key = name.strip().lower()
            key = _PROTOTYPE_TO_RAFD.get(key, key)
            if key not in classes:
                raise BaselineError(f"unknown emotion {name!r}; valid emotions are: {', '.join(classes)}")
            idx.append(list(classes).index(key))
        return torch.tensor(idx, dtype=torch.long)
    t = torch.as_tensor(target)
    if t.ndim == 0:
        t = t.expand(n)
    if t.dtype.is_floating_point or t.ndim != 1 or t.shape[0] != n:
        raise BaselineError(f"emotion target must be a name, {n} names or {n} class indices, got {target!r}")
    if (t < 0).any() or (t >= len(classes)).any():
        raise BaselineError(f"emotion class index out of range 0..{len(classes) - 1}: {t.tolist()}")
    return t.long()
