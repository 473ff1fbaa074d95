"""Derivatives of a cumulative-logit observation's log-probability against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from analysis.cumlink import derivatives

THETA = np.array([-1.5, -0.2, 0.7, 2.4])


def _loglik(theta, y, eta):
    return derivatives(theta, y, eta).loglik


def test_probabilities_sum_to_one_and_match_the_logistic_cdf():
    eta = np.full(5, 0.3)
    p = np.exp(_loglik(THETA, np.arange(5), eta))
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert p[0] == pytest.approx(expit(THETA[0] - 0.3), abs=1e-15)
    # far in the upper tail the complement keeps the digits of P(Y = K-1) and P(Y = K-2)
    tail = np.exp(_loglik(THETA, np.array([3, 4]), np.array([-40.0, -40.0])))
    assert tail[0] == pytest.approx(expit(-41.5) - expit(-42.4), rel=1e-12)


@pytest.mark.parametrize("y", [0, 1, 2, 4])
def test_eta_derivatives_match_finite_differences(y):
    eta = np.array([0.4])
    cats = np.array([y])
    d = derivatives(THETA, cats, eta, third=True)
    h = 1e-4
    s = lambda e: derivatives(THETA, cats, np.array([e])).s[0]  # noqa: E731
    w = lambda e: derivatives(THETA, cats, np.array([e])).w[0]  # noqa: E731
    num_s = (_loglik(THETA, cats, eta + h) - _loglik(THETA, cats, eta - h))[0] / (2 * h)
    assert d.s[0] == pytest.approx(num_s, rel=1e-7)
    assert d.w[0] == pytest.approx(-(s(0.4 + h) - s(0.4 - h)) / (2 * h), rel=1e-6)
    assert d.w3[0] == pytest.approx((w(0.4 + h) - w(0.4 - h)) / (2 * h), rel=1e-6, abs=1e-10)
    assert d.w[0] > 0


@pytest.mark.parametrize("y", [1, 2, 3])
def test_threshold_derivatives_match_finite_differences(y):
    cats, eta, h = np.array([y]), np.array([-0.3]), 1e-5
    d = derivatives(THETA, cats, eta, third=True)
    for side, j in (("up", y), ("low", y - 1)):
        e = np.zeros_like(THETA)
        e[j] = h
        plus = derivatives(THETA + e, cats, eta, third=True)
        minus = derivatives(THETA - e, cats, eta, third=True)
        assert getattr(d, f"l_{side}")[0] == pytest.approx(
            (plus.loglik - minus.loglik)[0] / (2 * h), rel=1e-7)
        assert getattr(d, f"s_{side}")[0] == pytest.approx((plus.s - minus.s)[0] / (2 * h), rel=1e-6)
        assert getattr(d, f"ss_{side}")[0] == pytest.approx(-(plus.w - minus.w)[0] / (2 * h), rel=1e-6)


def test_extreme_categories_have_no_outer_threshold_derivative():
    d = derivatives(THETA, np.array([0, 4]), np.array([0.0, 0.0]), third=True)
    assert d.l_low[0] == 0 and d.l_up[1] == 0
    assert np.isfinite(d.w3).all()
