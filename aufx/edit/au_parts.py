"""Which facial parts each AU moves: the one table that metrics, catalogs and tests share.

Part names are SynthFACS's (:data:`aufx.synthfacs.parts.PART_NAMES`), which the face analyzer
segments. The table follows the FACS descriptions that SynthFACS's geometry implements
(:mod:`aufx.synthfacs.geometry`): e.g. AU12 pulls the lip corners up and out and lifts the
cheeks, so its region is the mouth and both cheeks.
"""

from __future__ import annotations

import torch

from aufx.aus import AU_CODES, normalize_au
from aufx.synthfacs.parts import PART_INDEX, PART_NAMES

#: Parts that are not the face: clusters dominated by these are background/hair clusters.
NON_FACE_PARTS: tuple[str, ...] = ("background", "hair", "neck", "clothes")

_BROWS = ("left_brow", "right_brow", "forehead")
_EYES = ("left_eye", "right_eye")
_CHEEKS = ("left_cheek", "right_cheek")

#: AU code -> the parts where it changes the face.
AU_PARTS: dict[str, tuple[str, ...]] = {
    "AU01": _BROWS,
    "AU02": _BROWS,
    "AU04": (*_BROWS, "nose", *_EYES),  # lowered brows reach into the eye regions
    "AU05": _EYES,
    "AU06": (*_EYES, *_CHEEKS),
    "AU07": _EYES,
    "AU09": ("nose", *_CHEEKS, "mouth"),  # nostril wings and nasolabial folds reach the lip
    "AU10": ("mouth", "nose", *_CHEEKS),
    "AU12": ("mouth", *_CHEEKS),
    "AU14": ("mouth", *_CHEEKS),
    "AU15": ("mouth", "chin", *_CHEEKS),
    "AU17": ("mouth", "chin", "neck"),  # the chin outline moves over the neck
    "AU20": ("mouth", *_CHEEKS),
    "AU23": ("mouth",),
    "AU25": ("mouth",),
    "AU26": ("mouth", "chin", "neck"),  # the dropped jaw covers neck
}
assert set(AU_PARTS) == set(AU_CODES)
assert all(p in PART_INDEX for parts in AU_PARTS.values() for p in parts)

#: Coarse group of each AU (for reporting): brows, eyes, mouth (lower face), nose.
AU_GROUP: dict[str, str] = {
    **{c: "brows" for c in ("AU01", "AU02", "AU04")},
    **{c: "eyes" for c in ("AU05", "AU06", "AU07")},
    "AU09": "nose",
    **{c: "mouth" for c in ("AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26")},
}


def au_part_ids(aus: str | list[str]) -> list[int]:
    """Part indices (into ``PART_NAMES``) of one AU or the union over several AUs."""
    codes = [aus] if isinstance(aus, str) else list(aus)
    names: list[str] = []
    for code in codes:
        for part in AU_PARTS[normalize_au(code)]:
            if part not in names:
                names.append(part)
    return [PART_INDEX[name] for name in names]


def region_mask(parts: torch.Tensor, aus: str | list[str]) -> torch.Tensor:
    """Bool mask [N, H, W] of the pixels whose part label (``parts`` [N, H, W]) belongs to the AUs' parts."""
    ids = torch.tensor(au_part_ids(aus), device=parts.device)
    return torch.isin(parts, ids)


def face_mask(parts: torch.Tensor) -> torch.Tensor:
    """Bool mask [N, H, W] of face pixels (any part not in :data:`NON_FACE_PARTS`)."""
    ids = torch.tensor([PART_NAMES.index(p) for p in NON_FACE_PARTS], device=parts.device)
    return ~torch.isin(parts, ids)
