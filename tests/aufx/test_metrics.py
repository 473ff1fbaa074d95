"""Objective edit metrics on SynthFACS pairs with known AU changes (an oracle analyzer reads the truth)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX, N_AUS
from aufx.edit.au_parts import AU_PARTS, region_mask
from aufx.metrics import (
    RealismScorer,
    identity_drift,
    leakage,
    measure_edits,
    outside_share,
    summarize,
    target_change,
)
from aufx.synthfacs import render, sample_params


class OracleAnalyzer:
    """Returns the ground truth SynthFACS rendered each image with (looked up by pixel content)."""

    def __init__(self) -> None:
        self.truth: dict[bytes, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def add(self, images, aus, identity, parts) -> torch.Tensor:
        for i in range(images.shape[0]):
            self.truth[images[i].numpy().tobytes()] = (aus[i], identity[i], parts[i])
        return images

    def __call__(self, images):
        rows = [self.truth[images[i].numpy().tobytes()] for i in range(images.shape[0])]
        return {"aus": torch.stack([r[0] for r in rows]), "identity": torch.stack([r[1] for r in rows]),
                "parts": torch.stack([r[2] for r in rows])}  # fmt: skip


def renders(aus: torch.Tensor, identity: torch.Tensor, oracle: OracleAnalyzer) -> torch.Tensor:
    out = render(aus, identity, size=64)
    return oracle.add(out.images, aus, torch.as_tensor(identity, dtype=torch.float32), out.parts)


@pytest.fixture(scope="module")
def world():
    params = sample_params(6, seed=11)
    identity = torch.as_tensor(params.identity, dtype=torch.float32)
    return identity, OracleAnalyzer()


def test_known_single_au_edit(world):
    identity, oracle = world
    neutral = torch.zeros(6, N_AUS)
    edited_aus = neutral.clone()
    edited_aus[:, AU_INDEX["AU12"]] = 3.0
    frame = measure_edits(oracle, renders(neutral, identity, oracle), renders(edited_aus, identity, oracle), ["AU12"])
    assert len(frame) == 6
    assert np.allclose(frame["target_change"], 3.0) and np.allclose(frame["change_AU12"], 3.0)
    assert np.allclose(frame["leakage"], 0.0) and np.allclose(frame["identity_drift"], 0.0, atol=1e-6)
    assert (frame["outside_share"] < 0.05).all()  # SynthFACS moves AU12 only around mouth and cheeks


def test_leakage_of_unrequested_aus(world):
    identity, oracle = world
    start = torch.zeros(6, N_AUS)
    start[:, AU_INDEX["AU06"]] = 1.0
    end = start.clone()
    end[:, AU_INDEX["AU12"]] = 2.0
    end[:, AU_INDEX["AU04"]] = 1.5  # leaked
    end[:, AU_INDEX["AU06"]] = 0.0  # leaked the other way
    frame = measure_edits(oracle, renders(start, identity, oracle), renders(end, identity, oracle), ["AU12"])
    assert np.allclose(frame["leakage"], (1.5 + 1.0) / 15)
    assert np.allclose(frame["change_AU06"], -1.0) and np.allclose(frame["target_change"], 2.0)
    per_pair = measure_edits(oracle, renders(start, identity, oracle), renders(end, identity, oracle), [["AU12", "AU04"]] * 6)
    assert np.allclose(per_pair["target_change"], (2.0 + 1.5) / 2) and np.allclose(per_pair["leakage"], 1.0 / 14)
    assert set(summarize(frame)["targets"]) == {"AU12"}


def test_out_of_region_share_and_identity_drift(world):
    identity, oracle = world
    neutral = torch.zeros(6, N_AUS)
    originals = renders(neutral, identity, oracle)
    parts = oracle(originals)["parts"]
    brow_region = region_mask(parts, "AU01")
    shifted = originals + 0.3 * brow_region[:, None].float()  # change only inside AU01's parts
    oracle.add(shifted, neutral, identity, parts)
    assert np.allclose(measure_edits(oracle, originals, shifted, ["AU01"])["outside_share"], 0.0)
    assert np.allclose(measure_edits(oracle, originals, shifted, ["AU25"])["outside_share"], 1.0)
    other_identity = torch.roll(identity, 1, dims=0)
    frame = measure_edits(oracle, originals, renders(neutral, other_identity, oracle), ["AU12"])
    expected = 1 - torch.nn.functional.cosine_similarity(identity, other_identity, dim=1)
    assert np.allclose(frame["identity_drift"], expected.numpy(), atol=1e-6) and (frame["identity_drift"] > 0).all()


def test_pure_functions():
    a0 = torch.zeros(2, N_AUS)
    a1 = a0.clone()
    a1[:, 0] = 2
    a1[:, 5] = -1
    assert torch.equal(target_change(a0, a1, ["AU01"]), torch.full((2, 1), 2.0))
    assert torch.allclose(leakage(a0, a1, ["AU01"]), torch.full((2,), 1 / 15))
    assert torch.equal(leakage(a0, a1, list(AU_CODES)), torch.zeros(2))
    img = torch.zeros(1, 3, 4, 4)
    assert outside_share(img, img, torch.zeros(1, 4, 4, dtype=torch.bool)).item() == 0.0  # no change at all
    with pytest.raises(ValueError, match="region mask"):
        outside_share(img, img + 1, torch.zeros(1, 3, 3, dtype=torch.bool))
    assert identity_drift(torch.tensor([[1.0, 0]]), torch.tensor([[0.0, 2]])).item() == pytest.approx(1.0)


def test_realism_scorer_ranks_typical_above_outliers():
    params = sample_params(400, seed=0)
    features = torch.cat([torch.as_tensor(params.aus, dtype=torch.float32), torch.as_tensor(params.identity, dtype=torch.float32)], 1)
    scorer = RealismScorer().fit(features)
    typical = scorer.score(features[:50])
    assert -1.0 < typical.mean() < 1.0 and np.isfinite(typical).all()
    weird = features[:5].clone()
    weird[:, :N_AUS] = 25.0
    assert scorer.score(weird).max() < typical.min() - 3  # several reference SDs farther out
    assert (scorer.distance(weird) > scorer.distance(features[:5])).all()
    with pytest.raises(ValueError, match="not fitted"):
        RealismScorer().score(features)


def test_realism_is_in_reference_sds_and_keeps_order_beyond_the_reference():
    """Two sets far outside the reference both scored 0 as a tail share; as a z-score they keep their order."""
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(300, 8))
    scorer = RealismScorer(folds=0).fit(reference)
    far, farther = np.full((4, 8), 4.0), np.full((4, 8), 8.0)  # Mahalanobis ≈ 12 and 25; reference max ≈ 5
    assert scorer.distance(far).min() > scorer.reference_distances_.max()
    s_far, s_farther = scorer.score(far), scorer.score(farther)
    assert (s_far != 0).all() and (s_farther != 0).all()
    assert s_farther.max() < s_far.min() < 0
    ref = scorer.reference_distances_
    expected = (ref.mean() - scorer.distance(far)) / ref.std(ddof=1)  # units: reference SDs
    np.testing.assert_allclose(s_far, expected)
    assert abs(scorer.score(reference).mean()) < 1e-9  # in-sample: the average reference face scores 0


def test_realism_scores_of_new_reference_faces_are_calibrated_when_features_are_many():
    """Few reference faces for many features: in-sample distances would put every new face far out."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(40, 60))
    reference, new = rng.normal(size=(100, 40)) @ mixing, rng.normal(size=(400, 40)) @ mixing
    scores = RealismScorer().fit(reference).score(new)
    assert abs(scores.mean()) < 0.5 and (scores > -2).mean() > 0.8
    in_sample = RealismScorer(folds=0).fit(reference).score(new)
    assert in_sample.mean() < scores.mean() - 2


def test_au_parts_table_matches_synthfacs_ground_truth():
    """Each AU's pixel change in SynthFACS falls (almost) entirely in its AU_PARTS region."""
    params = sample_params(4, seed=3)
    neutral = torch.zeros(4, N_AUS)
    base = render(neutral, params.identity, size=64)
    for i, code in enumerate(AU_CODES):
        aus = neutral.clone()
        aus[:, i] = 4.0
        edited = render(aus, params.identity, size=64)
        region = region_mask(base.parts, code) | region_mask(edited.parts, code)
        share = outside_share(base.images, edited.images, region)
        assert share.mean() < 0.2, (code, AU_PARTS[code], share)


def test_high_frequency_ratio_reads_noise_and_checkerboards_high_and_blur_low():
    from aufx.metrics import high_frequency_ratio, high_frequency_share

    faces = render(*_params(8), size=64, with_parts=False).images
    assert abs(high_frequency_ratio(faces, faces) - 1.0) < 1e-9
    checker = torch.ones(64, 64)
    checker[::2] *= -1
    checker[:, ::2] *= -1
    boxed = faces + 0.1 * checker  # a period-2 pattern, as a transposed convolution leaves it
    noisy = faces + 0.15 * torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(faces, 3, stride=1, padding=1, count_include_pad=False)
    assert high_frequency_ratio(boxed, faces) > 2 and high_frequency_ratio(noisy, faces) > 2
    assert high_frequency_ratio(blurred, faces) < 0.7
    shares = high_frequency_share(torch.stack([checker.expand(3, -1, -1), torch.zeros(3, 64, 64) + 0.5]))
    assert shares[0] > 0.99 and shares[1] == 0  # all of the checkerboard is high; a flat image has none
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        high_frequency_share(faces[0])


def test_added_texture_spectrum_puts_a_checkerboard_on_its_lines_and_white_noise_everywhere():
    from aufx.metrics import added_texture_spectrum

    faces = render(*_params(6), size=64, with_parts=False).images
    ideal = render(*_params(6, seed=9), size=64, with_parts=False).images
    checker = torch.ones(64, 64)
    checker[::2] *= -1
    checker[:, ::2] *= -1
    two = added_texture_spectrum(faces + 0.05 * checker, faces, ideal)  # period 2 in both directions
    assert two["excess"] > 1 and two["period2"] == pytest.approx(1.0, abs=1e-6) and abs(two["period4"]) < 1e-6
    assert two["period2_ratio"] > 10 and two["period4_ratio"] == pytest.approx(1.0) and two["elsewhere_ratio"] == pytest.approx(1.0)
    stripes = torch.ones(64, 64)
    stripes[:, 2::4] = -1
    stripes[:, 3::4] = -1  # a 4-pixel period across: its energy on the fx = 16 line (and its harmonics)
    four = added_texture_spectrum(faces + 0.05 * stripes, faces, ideal)
    assert four["period4"] > 0.4 and abs(four["period2"]) < 1e-6
    noise = torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))
    white = added_texture_spectrum(faces + 0.3 * noise, faces, ideal)
    assert white["period2"] == pytest.approx(white["period2_bins"], abs=0.02)  # in proportion to the bins
    assert white["period4"] == pytest.approx(white["period4_bins"], abs=0.02)
    same = added_texture_spectrum(faces, faces, ideal)
    assert same["excess"] == pytest.approx(1.0) and np.isnan(same["period2"])
    with pytest.raises(ValueError, match="divisible by 4"):
        added_texture_spectrum(faces[..., :62, :62], faces[..., :62, :62], ideal[..., :62, :62])


def test_noise_ratio_reads_checkerboards_on_a_blurred_face_which_the_spectral_share_misses():
    from aufx.metrics import flat_region_noise, high_frequency_ratio, noise_ratio

    faces = render(*_params(8), size=64, with_parts=False).images
    checker = torch.ones(64, 64)
    checker[::2] *= -1
    checker[:, ::2] *= -1
    blurred = torch.nn.functional.avg_pool2d(faces, 3, stride=1, padding=1, count_include_pad=False)
    blurred_checker = blurred + 0.06 * checker  # StarGAN at 128 px: blurred, with a transposed-conv pattern
    assert high_frequency_ratio(blurred_checker, faces) < 1.0  # blur and checkerboard cancel in the spectral share
    assert noise_ratio(blurred_checker, faces, faces) > 5
    assert noise_ratio(blurred, faces, faces) < 1.0  # blur adds no texture
    assert noise_ratio(faces, faces, faces) == pytest.approx(1.0)
    patch = torch.zeros(64, 64)
    patch[4:20, 4:20] = 1  # artefacts on 1/16 of the image still count (95th percentile of tiles)
    assert noise_ratio(faces + 0.1 * checker * patch, faces, faces) > 5
    assert (flat_region_noise(faces, faces) < 0.01).all()
    with pytest.raises(ValueError, match="one shape"):
        flat_region_noise(faces, faces[:4])
    assert flat_region_noise(faces[..., :60, :60], faces[..., :60, :60]).shape == (8,)  # whole tiles only
    with pytest.raises(ValueError, match="smaller than one tile of 8 px"):
        flat_region_noise(faces[..., :6, :6], faces[..., :6, :6])


def _params(n: int, seed: int = 3):  # type: ignore[no-untyped-def]
    params = sample_params(n, seed=seed)
    return params.aus, params.identity
