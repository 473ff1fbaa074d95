"""Per-AU influence regions: which pixels change when one AU goes from 0 to 5.

:data:`AU_EXPECTED_PARTS` names, for each AU, the facial parts FACS places its effect in (part
groups of :data:`~aufx.synthfacs.parts.PART_GROUPS`, e.g. ``"eyes"`` = both eyes). The renderer's
tests check that each AU's changed pixels fall mostly inside these parts.
"""

from __future__ import annotations

import numpy as np
import torch

from aufx.aus import AU_CODES, AU_MAX, N_AUS
from aufx.synthfacs.parts import PART_GROUPS, PART_INDEX
from aufx.synthfacs.renderer import render

#: AU -> part groups its visible effect belongs to.
AU_EXPECTED_PARTS: dict[str, tuple[str, ...]] = {
    "AU01": ("brows", "forehead", "eyes", "nose"),
    "AU02": ("brows", "forehead", "eyes", "skin"),
    "AU04": ("brows", "forehead", "eyes", "nose"),
    "AU05": ("eyes",),
    "AU06": ("eyes", "cheeks", "skin"),
    "AU07": ("eyes",),
    "AU09": ("nose", "cheeks", "mouth"),
    "AU10": ("mouth", "nose", "cheeks"),
    "AU12": ("mouth", "cheeks"),
    "AU14": ("mouth", "cheeks"),
    "AU15": ("mouth", "chin"),
    "AU17": ("chin", "mouth", "neck", "hair", "background", "skin"),
    "AU20": ("mouth", "cheeks", "chin"),
    "AU23": ("mouth",),
    "AU25": ("mouth",),
    "AU26": ("mouth", "chin", "cheeks", "neck", "skin", "background", "hair"),
}

#: A pixel "changes" when some channel moves by more than this (image scale [-1, 1]; ~2/255).
CHANGE_THRESHOLD: float = 2.0 * 2.0 / 255.0


def expected_part_ids(code: str) -> list[int]:
    """Part indices (into ``PART_NAMES``) of an AU's expected parts."""
    return [PART_INDEX[name] for group in AU_EXPECTED_PARTS[code] for name in PART_GROUPS[group]]


def influence_regions(identity: np.ndarray | torch.Tensor, size: int = 64, intensity: float = AU_MAX,
                      threshold: float = CHANGE_THRESHOLD) -> torch.Tensor:  # fmt: skip
    """Pixels that change when each AU alone goes from 0 to ``intensity``.

    Args:
        identity: ``[N, D]`` identities (0..1).
        size: image side in pixels.
        intensity: the AU intensity compared with the neutral face (0..5).
        threshold: minimum absolute change of any channel (image scale [-1, 1]).

    Returns:
        bool ``[N, 16, size, size]``: ``[i, k]`` is the influence region of ``AU_CODES[k]`` on face ``i``.
    """
    ident = torch.as_tensor(np.asarray(identity, dtype=np.float32))
    if ident.ndim == 1:
        ident = ident.unsqueeze(0)
    n = ident.shape[0]
    aus = torch.zeros((n, N_AUS + 1, N_AUS))
    aus[:, 1:, :] = torch.eye(N_AUS) * float(intensity)
    images = render(aus.reshape(-1, N_AUS), ident.repeat_interleave(N_AUS + 1, 0), size=size,
                    with_parts=False).images.reshape(n, N_AUS + 1, 3, size, size)  # fmt: skip
    change = (images[:, 1:] - images[:, :1]).abs().amax(dim=2)
    return change > threshold


def influence_inside_fraction(identity: np.ndarray | torch.Tensor, size: int = 64) -> np.ndarray:
    """Fraction of each AU's changed pixels that lie in its expected parts, ``[N, 16]``.

    A pixel counts as inside when its label, in the neutral face or the face with the AU at 5,
    is one of the AU's expected parts. NaN where an AU changes no pixel.
    """
    ident = torch.as_tensor(np.asarray(identity, dtype=np.float32))
    if ident.ndim == 1:
        ident = ident.unsqueeze(0)
    n = ident.shape[0]
    regions = influence_regions(ident, size=size)
    aus = torch.zeros((n, N_AUS + 1, N_AUS))
    aus[:, 1:, :] = torch.eye(N_AUS) * AU_MAX
    parts = render(aus.reshape(-1, N_AUS), ident.repeat_interleave(N_AUS + 1, 0),
                   size=size).parts.reshape(n, N_AUS + 1, size, size)  # fmt: skip
    out = np.full((n, N_AUS), np.nan)
    for k, code in enumerate(AU_CODES):
        allowed = torch.tensor(expected_part_ids(code))
        inside = torch.isin(parts[:, 0], allowed) | torch.isin(parts[:, k + 1], allowed)
        changed = regions[:, k].flatten(1).sum(1)
        hit = (regions[:, k] & inside).flatten(1).sum(1)
        valid = changed > 0
        out[valid.numpy(), k] = (hit[valid].double() / changed[valid].double()).numpy()
    return out
