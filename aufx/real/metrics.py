"""Objective measures of an edit on real faces (photographs, real-checkpoint faces) with dlib.

The SynthFACS analyzer's identity embedding and part maps do not apply to real faces; here:

- ``identity_distance``: Euclidean distance of dlib's 128-D ResNet face descriptors of the
  original and the edited face (dlib's documented rule: below 0.6 = same person; ``same_person``);
- ``outside_share``: :func:`aufx.metrics.outside_share` with the target AUs' region taken from
  landmark part maps (:mod:`aufx.real.regions`) of the original and the edited face (union);
- ``landmark_shift``: mean displacement of the 68 landmarks, in inter-ocular distances.

AU changes need an AU detector for real faces (OpenFace 2.0 CSVs, see ``docs/real_data.md``);
no AU detector with weights installs offline, so these metrics leave AUs out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from aufx.aus import normalize_au
from aufx.imageio import to_uint8
from aufx.metrics import outside_share
from aufx.real.descriptor import face_descriptor
from aufx.real.landmarks import Face, detect_faces
from aufx.real.regions import au_region

__all__ = ["SAME_PERSON_THRESHOLD", "face_descriptor", "identity_distance", "measure_real_edits"]

#: dlib's same-person threshold on descriptor distance (dlib_face_recognition_resnet_model_v1).
SAME_PERSON_THRESHOLD = 0.6


def identity_distance(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray:
    """Euclidean distance of descriptors [N, 128] x2 -> [N] (same person below 0.6)."""
    a, b = np.atleast_2d(desc_a), np.atleast_2d(desc_b)
    if a.shape != b.shape:
        raise ValueError(f"descriptor shapes differ: {list(a.shape)} vs {list(b.shape)}")
    return np.linalg.norm(a - b, axis=1)


def _main_face(image: np.ndarray) -> Face | None:
    faces = detect_faces(image)
    return faces[0] if faces else None


def measure_real_edits(originals: torch.Tensor, edited: torch.Tensor,
                       targets: Sequence[str] | Sequence[Sequence[str]]) -> pd.DataFrame:  # fmt: skip
    """Measures for pairs originals[i] -> edited[i] ([N, 3, H, W] in [-1, 1]) of real faces.

    ``targets``: the target AUs of every pair (one list) or one list per pair. Columns: ``pair``,
    ``targets``, ``face_found`` (in the edited image), ``outside_share``, ``identity_distance``,
    ``same_person``, ``landmark_shift`` (NaN where the edited image shows no face).
    Raises ValueError naming the pair when the original shows no face.
    """
    n = originals.shape[0]
    if edited.shape != originals.shape:
        raise ValueError(f"original and edited images differ in shape: {list(originals.shape)} vs {list(edited.shape)}")
    per_pair = [list(targets)] * n if targets and isinstance(targets[0], str) else [list(t) for t in targets]
    if len(per_pair) != n:
        raise ValueError(f"{len(per_pair)} target lists for {n} pairs")
    per_pair = [[normalize_au(t) for t in ts] for ts in per_pair]
    size = tuple(originals.shape[-2:])
    orig_u8, edit_u8 = to_uint8(originals), to_uint8(edited)
    rows = []
    for i, ts in enumerate(per_pair):
        face_o = _main_face(orig_u8[i])
        if face_o is None:
            raise ValueError(f"pair {i}: no face found in the original image")
        face_e = _main_face(edit_u8[i])
        region = au_region(face_o.landmarks, ts, size)
        row = {"pair": i, "targets": " ".join(ts), "face_found": face_e is not None}
        if face_e is not None:
            region |= au_region(face_e.landmarks, ts, size)
            dist = float(identity_distance(face_descriptor(orig_u8[i], face_o), face_descriptor(edit_u8[i], face_e))[0])
            eyes = face_o.landmarks[42:48].mean(axis=0) - face_o.landmarks[36:42].mean(axis=0)
            shift = np.linalg.norm(face_e.landmarks - face_o.landmarks, axis=1).mean() / max(float(np.hypot(*eyes)), 1e-9)
        else:
            dist, shift = float("nan"), float("nan")
        mask = torch.from_numpy(region)[None]
        row["outside_share"] = float(outside_share(originals[i : i + 1], edited[i : i + 1], mask)[0])
        row["identity_distance"] = dist
        row["same_person"] = bool(dist < SAME_PERSON_THRESHOLD)
        row["landmark_shift"] = float(shift)
        rows.append(row)
    return pd.DataFrame(rows)
