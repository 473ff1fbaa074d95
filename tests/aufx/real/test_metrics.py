"""Real-face metrics: dlib identity distance and landmark-region outside share, checked on SynthFACS
faces (which dlib detects) against SynthFACS's ground-truth part maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aufx.aus import AU_INDEX
from aufx.edit.au_parts import region_mask
from aufx.metrics import outside_share
from aufx.real.metrics import SAME_PERSON_THRESHOLD, identity_distance, measure_real_edits
from aufx.synthfacs import render, sample_params


def test_identity_distance_is_euclidean() -> None:
    a = np.zeros((2, 128))
    b = np.zeros((2, 128))
    b[0, :4] = 0.3  # sqrt(4 * 0.09) = 0.6
    np.testing.assert_allclose(identity_distance(a, b), [0.6, 0.0])
    assert SAME_PERSON_THRESHOLD == 0.6
    with pytest.raises(ValueError, match="descriptor shapes differ"):
        identity_distance(a, np.zeros((2, 64)))


@pytest.fixture(scope="module")
def faces():
    """Face A neutral, face A with AU12 = 4 (the same identity), face B neutral; 256 px."""
    params = sample_params(2, seed=3)
    identity = torch.as_tensor(params.identity)
    neutral = torch.zeros(2, 16)
    smile = neutral[:1].clone()
    smile[0, AU_INDEX["AU12"]] = 4.0
    a = render(neutral[:1], identity[:1], size=256)
    a_smile = render(smile, identity[:1], size=256)
    b = render(neutral[1:], identity[1:], size=256)
    return a, a_smile, b


@pytest.mark.slow  # loads dlib's landmark predictor and ResNet (~115 MiB)
def test_measures_follow_ground_truth(faces) -> None:
    a, a_smile, b = faces
    originals = torch.cat([a.images] * 4)
    edited = torch.cat([a.images, a_smile.images, a_smile.images, b.images])
    table = measure_real_edits(originals, edited, [["AU12"], ["AU12"], ["AU01"], ["AU12"]])
    assert table["face_found"].all()
    same, smile, smile_brows, other = (table.iloc[i] for i in range(4))
    assert same["identity_distance"] == 0.0 and same["outside_share"] == 0.0 and same["landmark_shift"] == 0.0
    # the smile stays the same person, closer than another SynthFACS identity
    assert 0.0 < smile["identity_distance"] < other["identity_distance"]
    assert smile["same_person"]
    assert smile["landmark_shift"] > 0.005
    # a smile changes pixels in the mouth/cheek region: the landmark regions agree with SynthFACS's parts
    truth = region_mask(a.parts, ["AU12"]) | region_mask(a_smile.parts, ["AU12"])
    truth_share = float(outside_share(a.images, a_smile.images, truth)[0])
    assert abs(smile["outside_share"] - truth_share) < 0.15
    assert smile["outside_share"] < 0.3 and smile_brows["outside_share"] > 0.9


@pytest.mark.slow
def test_original_without_a_face_is_named(faces) -> None:
    a, _, _ = faces
    blank = torch.zeros_like(a.images)
    with pytest.raises(ValueError, match="pair 0: no face found in the original image"):
        measure_real_edits(blank, a.images, ["AU12"])


def test_bad_inputs_are_refused() -> None:
    x = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="differ in shape"):
        measure_real_edits(x, torch.zeros(2, 3, 8, 8), ["AU12"])
    with pytest.raises(ValueError, match="3 target lists for 2 pairs"):
        measure_real_edits(x, x, [["AU12"]] * 3)
