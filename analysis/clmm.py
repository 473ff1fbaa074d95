"""Maximum-likelihood fit of the cumulative-logit mixed model (R ``ordinal::clmm`` with the
Laplace approximation) on arrays: thresholds, coefficients, random-intercept SDs, their
covariance from the Hessian, log-likelihood and convergence diagnostics.

The Laplace log-likelihood and its exact gradient are in ``analysis.laplace``. The fit runs BFGS
(scipy) on thresholds parameterised as theta_1 and log increments (so they stay ordered), then
Newton steps on the natural parameters with the Hessian from central differences of the exact
gradient. As in ``clmm``, the covariance matrix is the inverse of that Hessian of the negative
log-likelihood over all parameters (thresholds, coefficients and SDs; here log SDs, which leaves
the threshold and coefficient block unchanged at the optimum, where the gradient is zero), and
``converged`` means max |gradient| < 1e-4 (``clmm.control(gradTol = 1e-4)``) with a
positive-definite Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import logit

from analysis.laplace import CrossedLaplace, ModeError

GRAD_TOL = 1e-4


@dataclass
class ClmmFit:
    """Estimates in R's order: ``theta`` (K-1 thresholds), ``beta`` (p), ``sd`` (one per random
    factor, in the order given). ``vcov`` covers (theta, beta, log sd); ``se`` are its diagonal's
    square roots (NaN where the Hessian is not positive definite)."""

    theta: np.ndarray
    beta: np.ndarray
    sd: np.ndarray
    loglik: float
    vcov: np.ndarray
    se: np.ndarray
    max_grad: float
    cond_hessian: float
    converged: bool
    iterations: int
    n_evaluations: int
    message: str = ""


def _to_free(phi: np.ndarray, k: int) -> np.ndarray:
    free = phi.copy()
    free[1:k] = np.log(np.diff(phi[:k]))
    return free


def _from_free(free: np.ndarray, k: int) -> np.ndarray:
    phi = free.copy()
    phi[:k] = free[0] + np.concatenate([[0.0], np.cumsum(np.exp(free[1:k]))])
    return phi


def _free_gradient(grad: np.ndarray, free: np.ndarray, k: int) -> np.ndarray:
    """Chain rule: theta_j = c_1 + sum_{i<=j} exp(c_i) for i >= 2."""
    out = grad.copy()
    tail = np.cumsum(grad[:k][::-1])[::-1]  # sum_{m >= j} dL/dtheta_m
    out[0] = tail[0]
    out[1:k] = np.exp(free[1:k]) * tail[1:k]
    return out


def start_values(y: np.ndarray, n_categories: int, n_beta: int, n_groups: int) -> np.ndarray:
    """Thresholds at the logits of the cumulative proportions, beta = 0, SDs = 0.5."""
    counts = np.bincount(y, minlength=n_categories).astype(float) + 0.5
    cumulative = np.cumsum(counts)[:-1] / counts.sum()
    return np.concatenate([logit(cumulative), np.zeros(n_beta), np.full(n_groups, np.log(0.5))])


def hessian(lap: CrossedLaplace, phi: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Hessian of the Laplace log-likelihood by central differences of its exact gradient."""
    size = len(phi)
    out = np.empty((size, size))
    for k in range(size):
        e = np.zeros(size)
        e[k] = step * max(1.0, abs(phi[k]))
        plus = lap.evaluate(phi + e).grad
        minus = lap.evaluate(phi - e).grad
        if plus is None or minus is None:
            return np.full((size, size), np.nan)
        out[:, k] = (plus - minus) / (2 * e[k])
    return (out + out.T) / 2


def fit_clmm(
    y: np.ndarray,
    X: np.ndarray,
    groups: list[np.ndarray],
    n_categories: int,
    start: np.ndarray | None = None,
    max_newton: int = 8,
) -> ClmmFit:
    """Fit ``logit P(Y <= j) = theta_j - X beta - sum_r sd_r u_r[groups_r]`` by maximum
    likelihood with the Laplace approximation. ``y``: categories 0..K-1 (every one observed),
    ``X`` (n, p) without intercept, ``groups``: one or two int code arrays (n,)."""
    lap = CrossedLaplace(y, X, groups, n_categories)
    k = n_categories - 1
    phi0 = start if start is not None else start_values(lap.y, n_categories, lap.n_beta, len(groups))
    scale = max(1.0, float(len(lap.y)))

    def objective(free: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            state = lap.evaluate(_from_free(free, k))
        except (ModeError, np.linalg.LinAlgError, ValueError):
            return np.inf, np.zeros_like(free)
        if state.grad is None or not np.isfinite(state.loglik):
            return np.inf, np.zeros_like(free)
        return -state.loglik / scale, -_free_gradient(state.grad, free, k) / scale

    result = optimize.minimize(objective, _to_free(np.asarray(phi0, float), k), jac=True,
                               method="BFGS", options={"gtol": 1e-6, "maxiter": 500})
    phi = _from_free(result.x, k)
    iterations, message = int(result.nit), str(result.message)
    state = lap.evaluate(phi)
    # Newton polish on the natural parameters (BFGS stops at gtol relative to n)
    hess = hessian(lap, phi)
    for _ in range(max_newton):
        if np.abs(state.grad).max() < 1e-8 or not np.all(np.isfinite(hess)):
            break
        try:
            step = np.linalg.solve(-hess, state.grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.linalg.eigvalsh(-hess) > 0):
            break
        t = 1.0
        while t > 1e-4:
            trial = lap.evaluate(phi + t * step)
            if np.isfinite(trial.loglik) and trial.loglik >= state.loglik - 1e-12 * abs(state.loglik):
                break
            t /= 2
        else:
            break
        phi, state = phi + t * step, trial
        iterations += 1
        hess = hessian(lap, phi)
    state = lap.evaluate(phi)
    info = -hess
    eig = np.linalg.eigvalsh(info) if np.all(np.isfinite(info)) else np.array([np.nan])
    positive = bool(np.all(eig > 0))
    vcov = np.linalg.inv(info) if positive else np.full_like(info, np.nan)
    max_grad = float(np.abs(state.grad).max())
    theta, beta, sd = lap.split(phi)
    if not positive:
        message = "Hessian not positive definite: standard errors are not available"
    return ClmmFit(
        theta=theta, beta=beta, sd=sd, loglik=state.loglik, vcov=vcov,
        se=np.sqrt(np.diag(vcov)), max_grad=max_grad,
        cond_hessian=float(eig.max() / eig.min()) if positive else np.inf,
        converged=bool(max_grad < GRAD_TOL and positive), iterations=iterations,
        n_evaluations=int(result.nfev), message=message,
    )
