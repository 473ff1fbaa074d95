"""LandmarkAnalyzer: the analyzer seam on dlib; its part maps against SynthFACS's ground truth."""

from __future__ import annotations

import pytest
import torch

from aufx.aus import AU_INDEX
from aufx.edit.analyzer import analyze
from aufx.metrics import measure_edits
from aufx.real.analyzer import LandmarkAnalyzer
from aufx.real.metrics import measure_real_edits
from aufx.synthfacs import PART_INDEX, render, sample_mixture_params


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum() / (a | b).sum().clamp_min(1))


@pytest.mark.slow  # loads dlib's models
def test_parts_and_identity_on_synthfacs_faces() -> None:
    params = sample_mixture_params(3, seed=3)
    faces = render(torch.as_tensor(params.aus), torch.as_tensor(params.identity), size=256)
    images = torch.cat([faces.images, torch.zeros(1, 3, 256, 256)])  # the last one shows no face
    analysis = analyze(LandmarkAnalyzer(), images)
    assert analysis.parts.shape == (4, 256, 256) and analysis.identity.shape == (4, 128)
    assert torch.isnan(analysis.aus).all()
    assert (analysis.parts[3] == PART_INDEX["background"]).all() and torch.isnan(analysis.identity[3]).all()
    assert torch.isfinite(analysis.identity[:3]).all()
    for i in range(3):
        truth, found = faces.parts[i], analysis.parts[i]
        for part, least in (("left_eye", 0.5), ("right_eye", 0.5), ("nose", 0.4), ("chin", 0.4)):
            k = PART_INDEX[part]
            assert _iou(truth == k, found == k) > least, (i, part)
        assert (found[truth == PART_INDEX["background"]] == PART_INDEX["background"]).float().mean() > 0.9


@pytest.mark.slow
def test_measure_edits_accepts_it_and_agrees_with_the_real_metrics() -> None:
    params = sample_mixture_params(1, seed=3)
    identity = torch.as_tensor(params.identity)
    neutral = torch.zeros(1, 16)
    smile = neutral.clone()
    smile[0, AU_INDEX["AU12"]] = 4.0
    a = render(neutral, identity, size=256).images
    b = render(smile, identity, size=256).images
    generic = measure_edits(LandmarkAnalyzer(), a, b, ["AU12"])
    real = measure_real_edits(a, b, ["AU12"])
    assert generic["outside_share"][0] == pytest.approx(real["outside_share"][0], abs=1e-6)
    assert 0.0 < generic["identity_drift"][0] < 0.2
    assert generic["target_change"].isna().all()
