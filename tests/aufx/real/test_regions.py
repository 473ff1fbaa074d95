"""Part maps rasterised from 68 landmarks: labels where the face's parts are, AU regions from them."""

from __future__ import annotations

import numpy as np
import pytest

from aufx.real.regions import au_region, part_map
from aufx.synthfacs.parts import PART_NAMES

from .faces import template_landmarks


def _label(parts: np.ndarray, x: float, y: float) -> str:
    return PART_NAMES[parts[int(round(y)), int(round(x))]]


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    lm = template_landmarks(100, 100)
    return lm, part_map(lm, (200, 200))


@pytest.mark.parametrize(
    ("x", "y", "part"),
    [
        (80, 90, "right_eye"),  # the eye on the image's left is the subject's right eye
        (120, 90, "left_eye"),
        (80, 78, "right_brow"),
        (120, 78, "left_brow"),
        (100, 68, "forehead"),  # above the brow line, between the brows
        (100, 105, "nose"),
        (100, 125, "mouth"),
        (70, 110, "right_cheek"),
        (130, 110, "left_cheek"),
        (100, 145, "chin"),
        (58, 97, "skin"),  # temple, beside the eye, outside the cheek polygon
        (5, 5, "background"),
        (100, 190, "background"),
    ],
)
def test_parts_lie_where_the_landmarks_put_them(face, x: float, y: float, part: str) -> None:
    assert _label(face[1], x, y) == part


def test_part_map_follows_a_moved_face() -> None:
    parts = part_map(template_landmarks(60, 120, scale=0.5), (200, 200))
    assert _label(parts, 60, 132) == "mouth"
    assert _label(parts, 100, 125) == "background"
    assert parts.shape == (200, 200) and parts.dtype == np.int64


def test_au_regions_use_the_au_parts_table(face) -> None:
    lm, _ = face
    smile = au_region(lm, "AU12", (200, 200))
    brows = au_region(lm, ["AU01", "AU02"], (200, 200))
    assert smile[125, 100] and smile[110, 70] and not smile[90, 80] and not smile[78, 80]
    assert brows[78, 80] and brows[68, 100] and not brows[125, 100]
    union = au_region(lm, ["AU12", "AU01"], (200, 200))
    assert np.array_equal(union, smile | brows)


def test_bad_landmarks_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[68, 2\]"):
        part_map(np.full((68, 2), np.nan), (10, 10))
