"""The Laplace log-likelihood of crossed random intercepts: its value against a dense
brute-force evaluation of the same formula, and its exact gradient against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from analysis.cumlink import derivatives
from analysis.laplace import CrossedLaplace


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(1)
    n_p, n_i, n_m = 17, 6, 3
    p = np.repeat(np.arange(n_p), n_i * n_m)
    item = np.tile(np.repeat(np.arange(n_i), n_m), n_p)
    m = np.tile(np.arange(n_m), n_p * n_i)
    X = np.column_stack([m == 1, m == 2]).astype(float)
    eta = X @ [0.5, -0.7] + 0.8 * rng.normal(size=n_p)[p] + 0.5 * rng.normal(size=n_i)[item]
    y = np.digitize(eta + rng.logistic(size=len(m)), [-1.5, -0.3, 0.8, 2.0])
    return y, X, p, item


PHI = np.array([-1.4, -0.2, 0.9, 2.1, 0.4, -0.6, np.log(0.7), np.log(0.4)])


def _dense_laplace(y, X, groups, phi):
    """ell = g(u*) - 1/2 log det(L Z'WZ L + I) with a dense Z and a generic optimiser."""
    theta, beta, sigma = phi[:4], phi[4:6], np.exp(phi[6:6 + len(groups)])
    Z = np.hstack([np.eye(g.max() + 1)[g] * s for g, s in zip(groups, sigma, strict=True)])

    def neg_g(u):
        d = derivatives(theta, y, X @ beta + Z @ u)
        return -(d.loglik.sum() - 0.5 * u @ u), -(Z.T @ d.s - u)

    res = optimize.minimize(neg_g, np.zeros(Z.shape[1]), jac=True, method="BFGS",
                            options={"gtol": 1e-11})
    w = derivatives(theta, y, X @ beta + Z @ res.x).w
    H = Z.T @ (w[:, None] * Z) + np.eye(Z.shape[1])
    return -res.fun - 0.5 * np.linalg.slogdet(H)[1]


@pytest.mark.parametrize("which", [(0, 1), (1, 0), (0,)])
def test_value_equals_dense_formula(design, which):
    y, X, p, item = design
    groups = [(p, item)[k] for k in which]
    phi = PHI[: 6 + len(groups)]
    ours = CrossedLaplace(y, X, groups, 5).evaluate(phi, gradient=False).loglik
    assert ours == pytest.approx(_dense_laplace(y, X, groups, phi), abs=1e-7)


@pytest.mark.parametrize("which", [(0, 1), (1, 0), (0,)])
def test_gradient_equals_finite_differences(design, which):
    y, X, p, item = design
    groups = [(p, item)[k] for k in which]
    phi = PHI[: 6 + len(groups)]
    lap = CrossedLaplace(y, X, groups, 5)
    grad = lap.evaluate(phi).grad
    h = 1e-5
    numeric = np.array([
        (lap.evaluate(phi + h * e, False).loglik - lap.evaluate(phi - h * e, False).loglik) / (2 * h)
        for e in np.eye(len(phi))
    ])
    np.testing.assert_allclose(grad, numeric, atol=1e-6 * np.abs(grad).max())


def test_unordered_thresholds_give_minus_infinity(design):
    y, X, p, item = design
    bad = PHI.copy()
    bad[1] = bad[0] - 0.1
    assert CrossedLaplace(y, X, [p, item], 5).evaluate(bad).loglik == -np.inf


def test_three_factors_are_refused(design):
    y, X, p, item = design
    with pytest.raises(ValueError, match="one or two"):
        CrossedLaplace(y, X, [p, item, p], 5)
