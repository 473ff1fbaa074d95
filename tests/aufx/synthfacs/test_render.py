"""Renderer contract: shapes, ranges, neutral faces, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX
from aufx.synthfacs import (
    IDENTITY_NAMES,
    PART_INDEX,
    PART_NAMES,
    render,
    sample_mixture_params,
    sample_params,
)


@pytest.fixture(scope="module")
def params():
    return sample_params(12, seed=3)


def test_output_types_shapes_and_range(params):
    out = render(params.aus, params.identity, size=64)
    assert out.images.dtype == torch.float32 and out.images.shape == (12, 3, 64, 64)
    assert out.parts.dtype == torch.int64 and out.parts.shape == (12, 64, 64)
    assert out.images.min() >= -1.0 and out.images.max() <= 1.0
    assert out.images.std() > 0.1  # not blank
    assert out.parts.min() >= 0 and out.parts.max() < len(PART_NAMES)


def test_accepts_torch_and_numpy_alike(params):
    a = render(params.aus, params.identity)
    b = render(torch.from_numpy(params.aus), torch.from_numpy(params.identity))
    assert torch.equal(a.images, b.images) and torch.equal(a.parts, b.parts)


def test_other_sizes(params):
    out = render(params.aus[:2], params.identity[:2], size=32)
    assert out.images.shape == (2, 3, 32, 32) and out.parts.shape == (2, 32, 32)


def test_zero_aus_reproduce_the_neutral_face_exactly(params):
    neutral = render(np.zeros((1, 16), np.float32), params.identity[:1]).images
    mixed_aus = params.aus[:4].copy()
    mixed_aus[2] = 0.0
    mixed_ids = np.repeat(params.identity[:1], 4, axis=0)
    batch = render(mixed_aus, mixed_ids).images
    assert torch.equal(batch[2], neutral[0])
    # and a face with AUs differs from it
    assert not torch.equal(batch[0], neutral[0]) or not mixed_aus[0].any()


def test_every_au_changes_the_face(params):
    aus = np.zeros((17, 16), np.float32)
    aus[1:] = np.eye(16, dtype=np.float32) * 5.0
    changes = []
    for i in range(4):
        images = render(aus, np.repeat(params.identity[i : i + 1], 17, axis=0)).images
        changes.append([(images[k + 1] - images[0]).abs().max().item() for k in range(16)])
    changes = np.array(changes)
    for k, code in enumerate(AU_CODES):
        # low-contrast faces (blond brows on dark skin) change less, but every AU shows
        assert changes[:, k].min() > 0.08, code
        assert np.median(changes[:, k]) > 0.2, code


def test_identity_changes_the_face_but_not_the_labels():
    a = sample_params(50, seed=4)
    b = sample_params(50, seed=4)
    assert np.array_equal(a.aus, b.aus) and np.array_equal(a.identity, b.identity)
    # the AU stream does not depend on the identity stream: a batch with swapped identities
    # keeps its AU labels, and rendering with another identity keeps the AU effect
    other = sample_params(50, seed=5).identity
    img_a = render(a.aus[:2], a.identity[:2]).images
    img_b = render(a.aus[:2], other[:2]).images
    assert not torch.equal(img_a, img_b)


def test_sampling_is_deterministic_and_seed_dependent():
    first = sample_params(30, seed=1)
    again = sample_params(30, seed=1)
    other = sample_params(30, seed=2)
    assert np.array_equal(first.aus, again.aus)
    assert np.array_equal(first.identity, again.identity)
    assert not np.array_equal(first.identity, other.identity)
    assert first.aus.dtype == np.float32 and first.aus.shape == (30, 16)
    assert first.identity.dtype == np.float32 and first.identity.shape == (30, len(IDENTITY_NAMES))
    assert first.aus.min() >= 0.0 and first.aus.max() <= 5.0
    r1 = render(first.aus, first.identity).images
    r2 = render(again.aus, again.identity).images
    assert torch.equal(r1, r2)


def test_sampling_mixture_has_neutral_singles_and_prototypes():
    p = sample_mixture_params(2000, seed=0)
    active = (p.aus > 0).sum(1)
    assert 0.10 < (active == 0).mean() < 0.22
    assert {"single", "pair", "neutral", "happiness", "surprise"} <= set(p.component)
    # every AU appears on its own often enough to be learnable
    singles = p.aus[p.component == "single"]
    assert ((singles > 0).sum(0) >= 10).all()


def test_parts_follow_the_face(params):
    out = render(np.zeros((1, 16), np.float32), params.identity[:1])
    parts = out.parts[0]
    present = {PART_NAMES[i] for i in parts.unique().tolist()}
    for name in ("background", "hair", "skin", "left_eye", "right_eye", "nose", "mouth", "chin",
                 "left_cheek", "right_cheek", "left_brow", "right_brow"):  # fmt: skip
        assert name in present, name
    cols = torch.arange(64).expand(64, 64)
    # subject's left eye lies on the image's right half
    assert (cols[parts == PART_INDEX["left_eye"]] >= 32).all()
    assert (cols[parts == PART_INDEX["right_eye"]] < 32).all()
    rows = torch.arange(64).unsqueeze(1).expand(64, 64)
    assert rows[parts == PART_INDEX["mouth"]].float().mean() > rows[parts == PART_INDEX["nose"]].float().mean()


def test_bad_inputs_give_clear_errors(params):
    aus = params.aus[:2].copy()
    aus[1, AU_INDEX["AU12"]] = 7.0
    with pytest.raises(ValueError, match="AU12 intensity 7"):
        render(aus, params.identity[:2])
    with pytest.raises(ValueError, match=r"aus must have shape \[n, 16\]"):
        render(np.zeros((2, 15)), params.identity[:2])
    with pytest.raises(ValueError, match="identity must have shape"):
        render(params.aus[:2], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 rows but identity has 3"):
        render(params.aus[:2], params.identity[:3])
    with pytest.raises(ValueError, match="size must be an integer >= 16"):
        render(params.aus[:2], params.identity[:2], size=8)
    with pytest.raises(ValueError, match="NaN"):
        render(np.full((1, 16), np.nan), params.identity[:1])
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        sample_params(-1, seed=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        sample_params(3, seed=-2)
