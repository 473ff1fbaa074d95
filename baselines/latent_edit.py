"""What the latent-space peers (InterFaceGAN, StyleSpace) share: their targets, the faces they are
fitted on, inversion of images given without latents, and the adapter flow.

Both methods edit a face through the bundled generator: a face comes as an image (inverted into
W by the engine's projector) or, better, with its latent (``AUEdit.source_ws``), as stimuli of
generated faces have. Targets (what :meth:`LatentPeer.edit` accepts):

* :class:`AUEdit` — AU changes (``{"AU12": +2}``) or absolute intensities to reach
  (``relative=False``), only for the AUs named (a tensor: NaN = leave alone); ``source_aus``
  gives the faces' current AUs for absolute targets (default: the method's own estimate).
* an emotion name (EMFACS prototype ``"happiness"`` or RaFD class ``"happy"``): its prototype AUs
  set to intensity 3, the others left alone — the engine's ``edit_emotion`` default.
* a plain AU vector (``[16]`` / ``[N, 16]`` / dict), the AU-vector convention of
  :mod:`baselines.base`: absolute intensities of all 16 AUs (AUs missing from a dict are 0); the
  AUs whose target differs from the estimate of the current value by at least ``min_change``
  are edited.

Fitting faces (:func:`scene_faces`): z as NVIDIA seeds them, w = mapping(z) at ψ = 1, true AUs
``params_from_z(z)`` — valid for a generator distilled from SynthFACS's latent map (the bundled one).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.aus import (
    AU_CODES,
    AU_INDEX,
    AU_MAX,
    AU_MIN,
    N_AUS,
    AUError,
    emotion_targets,
    normalize_au,
)
from aufx.gan import Generator
from baselines.base import Baseline, BaselineError, Conditioning, au_targets, check_images

#: Intensity of an emotion target (the engine's ``aufx emotion`` default).
EMOTION_INTENSITY = 3.0


@dataclass
class AUEdit:
    """Target of a latent-space peer (see the module doc).

    Attributes:
        changes: ``{"AU12": 2.0}`` or a tensor ``[16]`` / ``[N, 16]`` (``AU_CODES`` order, NaN = untouched).
        relative: ``changes`` are AU deltas (True) or absolute intensities on 0–5 (False).
        source_ws: latents of the faces, W ``[N, w_dim]`` or W+ ``[N, L, w_dim]`` (skips inversion).
        source_aus: current AUs ``[N, 16]`` of the faces, used by absolute targets.
        hold: AUs the edit must keep (InterFaceGAN's conditional manipulation); ``"others"``: all
            AUs that are not edited.
    """

    changes: Mapping[str, float] | torch.Tensor
    relative: bool = True
    source_ws: torch.Tensor | None = None
    source_aus: torch.Tensor | None = None
    hold: Sequence[str] | str = ()

    def matrix(self, n: int) -> torch.Tensor:
        """``changes`` as ``[n, 16]`` float with NaN for the AUs left alone."""
        if isinstance(self.changes, Mapping):
            row = torch.full((N_AUS,), math.nan)
            try:
                for name, value in self.changes.items():
                    row[AU_INDEX[normalize_au(name)]] = float(value)
            except AUError as error:
                raise BaselineError(str(error)) from None
            t = row[None]
        else:
            t = torch.as_tensor(self.changes, dtype=torch.float32)
            t = t[None] if t.ndim == 1 else t
        if t.ndim != 2 or t.shape[1] != N_AUS or t.shape[0] not in (1, n):
            raise BaselineError(f"AU changes must be [16] or [{n}, 16] (AU_CODES order), got {list(t.shape)}")
        if torch.isinf(t).any():
            raise BaselineError("AU changes must be finite (NaN marks an AU left alone)")
        if not self.relative and ((t < AU_MIN - 1e-6) | (t > AU_MAX + 1e-6)).any():
            raise BaselineError(f"absolute AU targets must lie in [{AU_MIN:g}, {AU_MAX:g}]")
        return t.expand(n, -1).clone()

    def held(self, edited: torch.Tensor) -> list[str]:
        """Codes of the AUs to hold, given the bool ``[16]`` of AUs edited on a face."""
        if isinstance(self.hold, str) and self.hold == "others":
            return [c for c, e in zip(AU_CODES, edited.tolist(), strict=True) if not e]
        names = [self.hold] if isinstance(self.hold, str) else list(self.hold)
        try:
            return [normalize_au(h) for h in names]
        except AUError as error:
            raise BaselineError(str(error)) from None


def as_au_edit(target: Any, min_change: float) -> tuple[AUEdit, float]:
    """Any accepted target -> (:class:`AUEdit`, the smallest change an absolute target acts on)."""
    if isinstance(target, AUEdit):
        return target, 0.0
    if isinstance(target, str):
        try:
            aus = emotion_targets(target, EMOTION_INTENSITY)
        except AUError as error:
            raise BaselineError(str(error)) from None
        if not aus:
            raise BaselineError(f"emotion {target!r} has no AUs to set")
        return AUEdit(aus, relative=False), 0.0
    return AUEdit(au_targets(target, 1) if isinstance(target, Mapping) else target, relative=False), min_change


def deltas(edit: AUEdit, n: int, current: Callable[[], torch.Tensor], min_change: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(AU changes ``[n, 16]``, bool mask ``[n, 16]`` of the AUs to edit) of a target.

    ``current()`` gives the faces' AUs ``[n, 16]`` (called only for absolute targets without
    ``source_aus``); absolute targets act on AUs whose change is at least ``min_change``.
    """
    values = edit.matrix(n)
    mask = ~torch.isnan(values)
    if edit.relative:
        return torch.nan_to_num(values), mask
    now = current() if edit.source_aus is None else torch.as_tensor(edit.source_aus, dtype=torch.float32).reshape(-1, N_AUS)
    change = torch.nan_to_num(values - now.expand(n, -1))
    mask = mask & (change.abs() >= min_change) & (change.abs() > 0)
    return torch.where(mask, change, torch.zeros_like(change)), mask


@torch.no_grad()
def scene_faces(generator: Generator, n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """(W ``[n, w_dim]``, true AUs ``[n, 16]``) of ``n`` faces, z = ``RandomState(seed).randn(n, z_dim)``, ψ = 1."""
    from aufx.synthfacs.latent import params_from_z

    z = np.random.RandomState(seed).randn(n, generator.z_dim)
    w = generator.mapping(torch.from_numpy(z).float(), truncation_psi=1.0)[:, 0]
    return w, params_from_z(z).aus


def bundled_generator() -> Generator:
    """The default bundled generator (``synthfacs128``), eval mode, without gradients."""
    from aufx.defaults import DEFAULT_MODEL
    from aufx.gan.loaders import load_generator

    return load_generator(DEFAULT_MODEL).generator.eval().requires_grad_(False)


def invert(generator: Generator, images: torch.Tensor, steps: int, seed: int = 0) -> torch.Tensor:
    """W ``[N, w_dim]`` of images ``[N, 3, R, R]`` by the engine's projector in W (``steps`` steps)."""
    from aufx.gan.projector import ProjectorConfig, project

    with torch.enable_grad():
        return project(generator, check_images(images), ProjectorConfig(steps=steps, seed=seed), progress=False).w.detach()


class LatentPeer(Baseline):
    """A method that edits faces by moving their latents in the bundled (or a given) generator.

    Subclasses implement :meth:`edit_latents` and :meth:`estimate_aus`, and the fitting/loading.
    """

    conditioning = Conditioning.AU_VECTOR
    trainable = False
    #: Smallest change a plain absolute AU-vector target acts on (module doc).
    min_change: float = 0.5
    invert_steps: int = 200

    def __init__(self, generator: Generator | None = None) -> None:
        self._generator = generator
        super().__init__(generator.img_resolution if generator is not None else 128)
        self.weights_source = "not fitted"

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = bundled_generator()
            self.image_size = self._generator.img_resolution
        return self._generator

    def _loaded(self, config_class: type, stored: Mapping[str, Any], path: Path, bundled: bool) -> None:
        """After a load: ``self.config`` from a file's stored settings (the fields ``config_class``
        knows) and ``weights_source`` ("bundled" or the file)."""
        known = set(config_class.__dataclass_fields__)
        self.config = config_class(**{k: v for k, v in stored.items() if k in known})
        self.weights_source = "bundled" if bundled else str(path)

    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        edit, min_change = as_au_edit(target, self.min_change)
        n = images.shape[0]
        if edit.source_ws is not None:
            ws = edit.source_ws.float()
            if ws.shape[0] == 1 and n > 1:
                ws = ws.expand(n, *ws.shape[1:])
            if ws.shape[0] != n:
                raise BaselineError(f"{ws.shape[0]} source latents for {n} images")
        else:
            ws = invert(self.generator, images, self.invert_steps)
        change, mask = deltas(edit, n, lambda: self.estimate_aus(images, ws), min_change)
        holds = [edit.held(mask[i]) for i in range(n)]
        return self.edit_latents(ws, change, mask, holds)

    @abstractmethod
    def edit_latents(self, ws: torch.Tensor, change: torch.Tensor, mask: torch.Tensor,
                     hold: Sequence[Sequence[str]]) -> torch.Tensor:  # fmt: skip
        """Images ``[N, 3, R, R]`` of latents ``ws`` edited by ``change`` ``[N, 16]`` where ``mask``."""

    @abstractmethod
    def estimate_aus(self, images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        """The method's estimate ``[N, 16]`` of the faces' current AUs (for absolute targets)."""
