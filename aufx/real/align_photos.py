"""Align a set of photographs the FFHQ way: one PNG per detected face and a CSV of landmarks.

Output names follow stylegan2's ``align_images.py``: ``<photo stem>_<face number, from 01>.png``.
``landmarks.csv`` has one row per aligned face: ``photo, face, output, left, top, right, bottom,
score`` (detector box in photo pixels and its score), ``x00 .. x67``, ``y00 .. y67`` (landmarks in
photo pixels) and ``ax00 .. ax67``, ``ay00 .. ay67`` (the same points in the aligned image).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from aufx.real.align import align_face, to_aligned
from aufx.real.landmarks import N_LANDMARKS, detect_faces, read_photo

LANDMARKS_CSV = "landmarks.csv"


@dataclass
class AlignReport:
    """What :func:`align_photos` did: ``written`` PNG paths, ``failures`` (photo, one-line reason)."""

    written: list[Path] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    csv: Path | None = None


def landmark_columns() -> list[str]:
    """The landmark columns of ``landmarks.csv`` in order."""
    idx = [f"{i:02d}" for i in range(N_LANDMARKS)]
    return [f"x{i}" for i in idx] + [f"y{i}" for i in idx] + [f"ax{i}" for i in idx] + [f"ay{i}" for i in idx]


def align_photos(photos: Sequence[str | os.PathLike], out: str | os.PathLike, size: int = 1024,
                 upsample: int = 1, max_faces: int | None = None,
                 progress: Callable[[str], None] | None = None) -> AlignReport:  # fmt: skip
    """Detect, align and write every face of every photo to ``out``; a failing photo is reported, not raised.

    ``size``: output side in px; ``upsample``: detector upsampling; ``max_faces``: keep the
    largest faces only. Unreadable photos and photos without a face land in ``failures``.
    """
    if size < 8:
        raise ValueError(f"--size must be at least 8, got {size}")
    if max_faces is not None and max_faces < 1:
        raise ValueError(f"--max-faces must be at least 1, got {max_faces}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = AlignReport()
    rows = []
    for photo_path in map(Path, photos):
        try:
            photo = read_photo(photo_path)
            faces = detect_faces(photo, upsample=upsample)
            if not faces:
                raise ValueError(f"{photo_path}: no face found (try --upsample 2 for small faces)")
        except (ValueError, FileNotFoundError) as error:
            report.failures.append((photo_path, str(error)))
            if progress:
                progress(str(error))
            continue
        for number, face in enumerate(faces[:max_faces], start=1):
            target = out / f"{photo_path.stem}_{number:02d}.png"
            align_face(photo, face.landmarks, output_size=size).save(target)
            report.written.append(target)
            aligned = to_aligned(face.landmarks, face.landmarks, size)
            row = {"photo": str(photo_path), "face": number, "output": target.name,
                   "left": face.box[0], "top": face.box[1], "right": face.box[2], "bottom": face.box[3],
                   "score": round(face.score, 4)}  # fmt: skip
            values = [*face.landmarks[:, 0], *face.landmarks[:, 1], *aligned[:, 0], *aligned[:, 1]]
            row.update({name: round(float(v), 3) for name, v in zip(landmark_columns(), values, strict=True)})
            rows.append(row)
            if progress:
                progress(f"{photo_path} -> {target}")
    if rows:
        report.csv = out / LANDMARKS_CSV
        pd.DataFrame(rows).to_csv(report.csv, index=False)
    return report
