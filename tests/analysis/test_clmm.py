"""The cumulative-logit mixed model fit: parameter recovery on data simulated from the model,
the threshold parameterisation, and the Hessian-based covariance."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.clmm import _free_gradient, _from_free, _to_free, fit_clmm, start_values


def _simulate(n_p=120, n_i=15, n_m=3, beta=(0.8, -0.6), theta=(-1.6, -0.3, 0.9, 2.2),
              sd=(1.0, 0.5), seed=4):
    rng = np.random.default_rng(seed)
    p = np.repeat(np.arange(n_p), n_i * n_m)
    item = np.tile(np.repeat(np.arange(n_i), n_m), n_p)
    m = np.tile(np.arange(n_m), n_p * n_i)
    X = np.column_stack([m == k for k in range(1, n_m)]).astype(float)
    eta = X @ np.array(beta) + sd[0] * rng.normal(size=n_p)[p] + sd[1] * rng.normal(size=n_i)[item]
    y = np.digitize(eta + rng.logistic(size=len(m)), theta)
    return y, X, p, item


def test_recovers_the_simulated_parameters():
    y, X, p, item = _simulate()
    fit = fit_clmm(y, X, [p, item], 5)
    assert fit.converged and fit.max_grad < 1e-6
    se_beta = fit.se[4:6]
    assert np.all(np.abs(fit.beta - [0.8, -0.6]) < 3 * se_beta)
    assert np.all(np.abs(fit.theta - [-1.6, -0.3, 0.9, 2.2]) < 3 * fit.se[:4])
    assert fit.sd[0] == pytest.approx(1.0, abs=0.25) and fit.sd[1] == pytest.approx(0.5, abs=0.3)
    assert np.all(np.diff(fit.theta) > 0)
    # the covariance is the inverse observed information: symmetric, positive definite
    np.testing.assert_allclose(fit.vcov, fit.vcov.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(fit.vcov) > 0) and 1 < fit.cond_hessian < 1e6


def test_fit_is_a_maximum_of_the_laplace_likelihood():
    from analysis.laplace import CrossedLaplace

    y, X, p, item = _simulate(n_p=30, n_i=6, seed=5)
    fit = fit_clmm(y, X, [p, item], 5)
    lap = CrossedLaplace(y, X, [p, item], 5)
    phi = np.concatenate([fit.theta, fit.beta, np.log(fit.sd)])
    assert lap.evaluate(phi).loglik == pytest.approx(fit.loglik, abs=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert lap.evaluate(phi + 1e-3 * rng.normal(size=len(phi))).loglik < fit.loglik


def test_one_random_factor_and_no_fixed_effects():
    y, X, p, _ = _simulate(n_p=40, n_i=5, seed=6)
    fit = fit_clmm(y, X[:, :0], [p], 5)
    assert fit.converged and fit.beta.shape == (0,) and fit.sd.shape == (1,)
    assert fit.sd[0] == pytest.approx(1.0, abs=0.35)


def test_threshold_parameterisation_round_trips_and_chains():
    phi = np.array([-1.0, 0.5, 2.0, 0.3, np.log(0.7)])
    free = _to_free(phi, 3)
    np.testing.assert_allclose(_from_free(free, 3), phi, atol=1e-15)
    # chain rule against finite differences of L(theta(c)) = sum(w * theta)
    w = np.array([1.0, -2.0, 0.5, 3.0, 1.0])
    g = _free_gradient(w, free, 3)
    h = 1e-6
    numeric = [(w @ _from_free(free + h * e, 3) - w @ _from_free(free - h * e, 3)) / (2 * h)
               for e in np.eye(5)]
    np.testing.assert_allclose(g, numeric, rtol=1e-7)


def test_start_values_are_the_cumulative_logits():
    y = np.array([0] * 10 + [1] * 30 + [2] * 60)
    start = start_values(y, 3, n_beta=2, n_groups=1)
    assert start[0] == pytest.approx(np.log(10.5 / 91), rel=1e-12)
    assert list(start[2:4]) == [0, 0] and start[4] == pytest.approx(np.log(0.5))
