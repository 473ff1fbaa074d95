"""Targets of the latent-space peers: AU edits, absolute vectors, emotions, held AUs."""

import math

import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX
from baselines.base import BaselineError
from baselines.latent_edit import AUEdit, as_au_edit, deltas


def _current(n=2):
    return lambda: torch.full((n, 16), 1.0)


def test_relative_changes_touch_only_the_named_aus():
    change, mask = deltas(AUEdit({"au12": 2, "6": -1}), 2, _current())
    assert mask.sum().item() == 4 and mask[:, AU_INDEX["AU12"]].all() and mask[:, AU_INDEX["AU06"]].all()
    assert change[0, AU_INDEX["AU12"]] == 2 and change[1, AU_INDEX["AU06"]] == -1 and change[~mask].abs().sum() == 0


def test_absolute_targets_use_source_aus_or_the_estimate():
    target = torch.full((16,), math.nan)
    target[AU_INDEX["AU26"]] = 4.0
    change, mask = deltas(AUEdit(target, relative=False), 2, _current())
    assert mask.sum() == 2 and torch.allclose(change[:, AU_INDEX["AU26"]], torch.tensor([3.0, 3.0]))
    source = torch.zeros(2, 16)
    source[1, AU_INDEX["AU26"]] = 4.0  # already there: nothing to do on face 1
    change, mask = deltas(AUEdit(target, relative=False, source_aus=source), 2, _current())
    assert mask[:, AU_INDEX["AU26"]].tolist() == [True, False] and change[0, AU_INDEX["AU26"]] == 4.0


def test_plain_vectors_follow_the_au_vector_convention_with_min_change():
    edit, min_change = as_au_edit({"AU12": 3.0}, min_change=0.5)  # AUs left out are 0
    current = torch.full((1, 16), 0.3)
    current[0, AU_INDEX["AU04"]] = 2.0
    change, mask = deltas(edit, 1, lambda: current, min_change)
    assert {AU_CODES[i] for i in torch.nonzero(mask[0]).flatten().tolist()} == {"AU12", "AU04"}
    assert change[0, AU_INDEX["AU12"]] == pytest.approx(2.7) and change[0, AU_INDEX["AU04"]] == pytest.approx(-2.0)


def test_emotions_set_their_prototype_aus_to_three():
    edit, _ = as_au_edit("happy", 0.5)
    change, mask = deltas(edit, 1, lambda: torch.ones(1, 16))
    assert {AU_CODES[i] for i in torch.nonzero(mask[0]).flatten().tolist()} == {"AU06", "AU12"}
    assert change[0, AU_INDEX["AU12"]] == 2.0
    with pytest.raises(BaselineError, match="no AUs"):
        as_au_edit("neutral", 0.5)
    with pytest.raises(BaselineError, match="unknown emotion"):
        as_au_edit("bored", 0.5)


def test_hold_lists_and_bad_targets():
    edit = AUEdit({"AU12": 1}, hold="others")
    edited = torch.zeros(16, dtype=torch.bool)
    edited[AU_INDEX["AU12"]] = True
    assert edit.held(edited) == [c for c in AU_CODES if c != "AU12"]
    assert AUEdit({"AU12": 1}, hold=["6", "au25"]).held(edited) == ["AU06", "AU25"]
    with pytest.raises(BaselineError, match="unknown action unit"):
        AUEdit({"AU99": 1}).matrix(1)
    with pytest.raises(BaselineError, match=r"\[16\] or \[3, 16\]"):
        AUEdit(torch.zeros(2, 16)).matrix(3)
    with pytest.raises(BaselineError, match="lie in"):
        AUEdit({"AU12": 7}, relative=False).matrix(1)
