"""FFHQ alignment geometry on given landmarks: the quad (hand-computed), and where points land."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aufx.real.align import align_face, oriented_quad, to_aligned

from .faces import rotate_points, template_landmarks

MARKERS = {"eye_r": (255, 0, 0), "eye_l": (0, 255, 0), "mouth": (0, 0, 255)}


def _marker_points(lm: np.ndarray) -> dict[str, np.ndarray]:
    return {"eye_r": lm[36:42].mean(axis=0), "eye_l": lm[42:48].mean(axis=0), "mouth": (lm[48] + lm[54]) / 2}


def _marker_photo(size: int, lm: np.ndarray, radius: float) -> Image.Image:
    """A grey gradient photo with a pure red/green/blue disc at each eye centre and the mouth centre."""
    ramp = np.linspace(60, 180, size, dtype=np.float32)
    grey = ((ramp[None, :] + ramp[:, None]) / 2).astype(np.uint8)
    photo = Image.fromarray(np.stack([grey] * 3, axis=-1))
    draw = ImageDraw.Draw(photo)
    for name, (x, y) in _marker_points(lm).items():
        draw.ellipse([x - radius + 0.5, y - radius + 0.5, x + radius + 0.5, y + radius + 0.5], fill=MARKERS[name])
    return photo


def _centroid(image: Image.Image, colour: tuple[int, int, int]) -> np.ndarray:
    array = np.asarray(image, dtype=np.int32)
    near = np.abs(array - np.array(colour)).max(axis=-1) < 60
    assert near.sum() >= 3, f"marker {colour} not found in the aligned image"
    ys, xs = np.nonzero(near)
    return np.array([xs.mean(), ys.mean()])


def test_quad_matches_hand_computed_corners() -> None:
    # eyes (80, 90) and (120, 90), mouth corners (84, 125) and (116, 125):
    # eye_to_eye = (40, 0), eye_to_mouth = (0, 35); x = (40,0) - rot90(0,35) = (75, 0) -> unit (1, 0),
    # scaled to max(2*40, 1.8*35) = 80; y = (0, 80); centre = (100, 90) + 0.1*(0, 35) = (100, 93.5)
    quad = oriented_quad(template_landmarks())
    expected = np.array([[20, 13.5], [20, 173.5], [180, 173.5], [180, 13.5]])
    np.testing.assert_allclose(quad.corners, expected, atol=1e-9)
    assert quad.size == pytest.approx(160.0)


def test_quad_uses_mouth_distance_when_it_dominates() -> None:
    lm = template_landmarks()
    lm[48:60, 1] += 30  # mouth 65 px below the eyes: 1.8*65 = 117 > 2*40
    quad = oriented_quad(lm)
    assert quad.size == pytest.approx(2 * 117.0)
    np.testing.assert_allclose(quad.centre, [100, 90 + 6.5], atol=1e-9)


@pytest.mark.parametrize("degrees", [25.0, -40.0])
def test_quad_turns_and_scales_with_the_face(degrees: float) -> None:
    lm = template_landmarks()
    turned = rotate_points(lm, degrees, (130.0, 90.0))
    np.testing.assert_allclose(oriented_quad(turned).corners, rotate_points(oriented_quad(lm).corners, degrees, (130.0, 90.0)), atol=1e-9)
    assert oriented_quad(lm * 2.5).size == pytest.approx(2.5 * oriented_quad(lm).size)


def test_to_aligned_hand_values() -> None:
    lm = template_landmarks()
    points = to_aligned(np.array([[80.0, 90.0], [120.0, 90.0], [20.0, 13.5]]), lm, 128)
    # (80-20)/160*128 - 0.5 = 47.5; (90-13.5)/160*128 - 0.5 = 60.7; the quad's corner -> (-0.5, -0.5)
    np.testing.assert_allclose(points, [[47.5, 60.7], [79.5, 60.7], [-0.5, -0.5]], atol=1e-9)


def test_markers_land_where_the_geometry_says() -> None:
    lm = template_landmarks(150, 150)
    aligned = align_face(_marker_photo(300, lm, 5), lm, output_size=128)
    assert aligned.size == (128, 128)
    for name, point in _marker_points(lm).items():
        expected = to_aligned(point[None], lm, 128)[0]
        np.testing.assert_allclose(_centroid(aligned, MARKERS[name]), expected, atol=0.6)


def test_a_turned_photo_aligns_to_the_same_face() -> None:
    lm = template_landmarks(150, 150)
    upright = align_face(_marker_photo(300, lm, 5), lm, output_size=128)
    turned_photo = _marker_photo(300, lm, 5).rotate(30, resample=Image.Resampling.BICUBIC, center=(150, 150))
    turned = align_face(turned_photo, rotate_points(lm, 30, (150, 150)), output_size=128)
    for colour in MARKERS.values():
        np.testing.assert_allclose(_centroid(turned, colour), _centroid(upright, colour), atol=0.8)


def test_large_photo_is_shrunk_first_and_points_still_land() -> None:
    lm = template_landmarks(500, 500, scale=4.0)  # qsize 640 for a 64 px output: shrink by 5
    aligned = align_face(_marker_photo(1000, lm, 20), lm, output_size=64)
    for name, point in _marker_points(lm).items():
        np.testing.assert_allclose(_centroid(aligned, MARKERS[name]), to_aligned(point[None], lm, 64)[0], atol=0.8)


def test_padding_fills_outside_the_photo_with_blurred_reflection() -> None:
    lm = template_landmarks(50, 50)  # the quad (-30, -36.5)..(130, 123.5) leaves the 100 px photo
    photo = Image.new("RGB", (100, 100), (200, 120, 40))
    padded = np.asarray(align_face(photo, lm, output_size=64), dtype=np.int32)
    assert np.abs(padded - np.array([200, 120, 40])).max() <= 2
    bare = np.asarray(align_face(photo, lm, output_size=64, padding=False), dtype=np.int32)
    assert bare[0, 0].max() == 0 and bare[32, 32].tolist() == [200, 120, 40]


def test_bad_landmarks_and_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[68, 2\]"):
        oriented_quad(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="degenerate"):
        oriented_quad(np.zeros((68, 2)))
    with pytest.raises(ValueError, match="at least 8"):
        align_face(Image.new("RGB", (10, 10)), template_landmarks(), output_size=4)
