"""A dlib-backed face analyzer for real faces, following the seam of :mod:`aufx.edit.analyzer`.

``LandmarkAnalyzer()(images [N, 3, H, W] in [-1, 1])`` returns an object with

- ``parts`` int64 [N, H, W]: part maps rasterised from the 68 landmarks of the largest face
  (:func:`aufx.real.regions.part_map`, SynthFACS's part names; all ``background`` where no face
  is found);
- ``identity`` float32 [N, 128]: dlib's ResNet descriptor (NaN where no face is found);
- ``aus`` float32 [N, 16]: NaN — dlib estimates no AUs (use OpenFace CSVs for AU labels).

So the engine's code that takes any analyzer works on real faces where it needs parts or
identity: :func:`aufx.edit.regions.fit_catalog` names region-catalog clusters from landmark parts,
and :func:`aufx.metrics.measure_edits` gives ``outside_share`` and ``identity_drift`` (1 − cosine of
the descriptors; for dlib's own Euclidean rule see :mod:`aufx.real.metrics`), with NaN AU columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aufx.aus import N_AUS
from aufx.imageio import to_uint8
from aufx.real.descriptor import DESCRIPTOR_DIM, face_descriptor
from aufx.real.landmarks import detect_faces
from aufx.real.regions import part_map
from aufx.synthfacs.parts import PART_INDEX

__all__ = ["DESCRIPTOR_DIM", "LandmarkAnalysis", "LandmarkAnalyzer"]


@dataclass
class LandmarkAnalysis:
    """Raw output of :class:`LandmarkAnalyzer` (``aus`` [N, 16], ``identity`` [N, 128], ``parts`` [N, H, W])."""

    aus: torch.Tensor
    identity: torch.Tensor
    parts: torch.Tensor
    face_found: torch.Tensor


class LandmarkAnalyzer:
    """Callable analyzer: dlib landmarks -> part maps, dlib ResNet -> identity; no AUs (NaN)."""

    def __init__(self, upsample: int = 1) -> None:
        self.upsample = upsample

    def __call__(self, images: torch.Tensor) -> LandmarkAnalysis:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [N, 3, H, W], got {list(images.shape)}")
        n, _, h, w = images.shape
        arrays = to_uint8(images)
        parts = np.full((n, h, w), PART_INDEX["background"], dtype=np.int64)
        identity = np.full((n, DESCRIPTOR_DIM), np.nan, dtype=np.float32)
        found = np.zeros(n, dtype=bool)
        for i, array in enumerate(arrays):
            faces = detect_faces(array, upsample=self.upsample)
            if not faces:
                continue
            found[i] = True
            parts[i] = part_map(faces[0].landmarks, (h, w))
            identity[i] = face_descriptor(array, faces[0])
        return LandmarkAnalysis(
            aus=torch.full((n, N_AUS), float("nan")),
            identity=torch.from_numpy(identity),
            parts=torch.from_numpy(parts),
            face_found=torch.from_numpy(found),
        )
