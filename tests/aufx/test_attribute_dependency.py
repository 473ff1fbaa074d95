"""Attribute Dependency (StyleSpace's disentanglement metric) on AU arrays."""

import numpy as np
import pytest
import torch

from aufx.aus import AU_INDEX
from aufx.metrics import attribute_dependency


def _pairs():
    before = torch.zeros(3, 16)
    after = torch.zeros(3, 16)
    after[:, AU_INDEX["AU12"]] = torch.tensor([1.0, 2.0, 4.0])
    after[0, AU_INDEX["AU06"]] = 0.5  # the only leak of pair 0
    after[1, AU_INDEX["AU25"]] = -1.5  # pair 1 leaks into two AUs
    after[1, AU_INDEX["AU01"]] = 0.3
    std = torch.full((16,), 0.5)
    std[AU_INDEX["AU12"]] = 1.0
    return before, after, std


def test_per_pair_values_are_changes_in_units_of_each_aus_std():
    before, after, std = _pairs()
    frame = attribute_dependency(before, after, ["AU12"], std)
    np.testing.assert_allclose(frame["target_change_sd"], [1.0, 2.0, 4.0])
    # other AUs: |Δ| / 0.5, averaged over the 15 non-target AUs
    np.testing.assert_allclose(frame["mean_ad"], [1.0 / 15, (3.0 + 0.6) / 15, 0.0])
    np.testing.assert_allclose(frame["max_ad"], [1.0, 3.0, 0.0])


def test_binned_curve_and_std_from_reference_faces():
    before, after, _ = _pairs()
    reference = torch.from_numpy(np.random.default_rng(0).normal(2.0, 1.0, (400, 16))).float()
    per_pair = attribute_dependency(before, after, ["AU12"], reference)
    np.testing.assert_allclose(per_pair["max_ad"], [0.5 / reference[:, AU_INDEX["AU06"]].std(), 1.5 / reference[:, AU_INDEX["AU25"]].std(), 0.0],
                               rtol=1e-5)  # fmt: skip
    curve = attribute_dependency(before, after, ["12"], torch.ones(16), bins=[0, 1.5, 3, 5])
    assert curve["n"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(curve["max_ad"], [0.5, 1.5, 0.0])
    # several targets: their mean is the target change, AD runs over the other 14
    two = attribute_dependency(before, after, ["AU12", "AU06"], torch.ones(16))
    np.testing.assert_allclose(two["target_change_sd"], [0.75, 1.0, 2.0])
    np.testing.assert_allclose(two["mean_ad"], [0.0, 1.8 / 14, 0.0])


def test_bad_input_is_refused():
    before, after, std = _pairs()
    with pytest.raises(ValueError, match="positive standard deviation"):
        attribute_dependency(before, after, ["AU12"], torch.zeros(16))
    with pytest.raises(ValueError, match=r"AUs \[N, 16\]"):
        attribute_dependency(before[:, :8], after, ["AU12"], std)
    with pytest.raises(ValueError, match="unknown action unit"):
        attribute_dependency(before, after, ["AU99"], std)
