"""The exported AU correlation matrix of the sampling distribution."""

from __future__ import annotations

import numpy as np

from aufx.aus import AU_CODES
from aufx.synthfacs import au_correlation


def test_correlation_matrix_is_a_labelled_correlation_matrix():
    corr = au_correlation(n=4000, seed=0)
    assert list(corr.index) == list(AU_CODES) and list(corr.columns) == list(AU_CODES)
    values = corr.to_numpy()
    assert np.allclose(values, values.T)
    assert np.allclose(np.diag(values), 1.0)
    assert (np.abs(values) <= 1.0 + 1e-9).all()


def test_prototype_pairs_co_occur_and_unrelated_ones_do_not():
    corr = au_correlation(n=4000, seed=1)
    assert corr.loc["AU06", "AU12"] > 0.25  # happiness
    assert corr.loc["AU25", "AU26"] > 0.4  # jaw drop parts the lips
    assert corr.loc["AU01", "AU02"] > 0.3  # surprise, fear
    assert abs(corr.loc["AU12", "AU26"]) < 0.2
