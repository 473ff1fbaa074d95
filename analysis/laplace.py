"""Laplace log-likelihood (and its exact gradient) of a cumulative-logit model with one or two
crossed random-intercept factors, as R ``ordinal::clmm`` defines it (``nAGQ = 1``).

Model (Christensen 2019, ``ordinal`` vignette; Agresti 2010, sec. 10.2):

    logit P(Y_i <= j | u) = theta_j - x_i' beta - sum_r sigma_r u_{r, g_r(i)},   u ~ N(0, I),

so b_r = sigma_r u_r are the random intercepts of factor r (participants, items) with SD sigma_r.
With g(u) = sum_i log P(y_i | u) - |u|^2 / 2, its mode u* and H = -d2g/du2 = L Z' W Z L + I
(L = diag(sigma), W = diag(-d2 log P / d eta2)), the Laplace approximation of the marginal
log-likelihood (Tierney & Kadane 1986; Pinheiro & Bates 1995) is

    ell(phi) = g(u*) - 1/2 log det H,

which is what ``clmm`` maximises and reports as ``logLik``. Parameters phi = (theta, beta, tau)
with tau_r = log sigma_r (clmm itself optimises sigma_r; the log keeps it positive, and the
estimates and the fixed-effect block of the covariance are the same at the optimum).

H has a diagonal block per factor and a cross block C (levels of A × levels of B), so it is
solved through the Schur complement S = D_B - C' D_A^{-1} C of the larger, diagonal block
(A = the factor with more levels): log det H = sum log D_A + log det S.

The gradient is exact: with v = H^{-1} a, a_j = d log det H / du_j, the implicit function
theorem gives du*/dphi = H^{-1} d2g/(du dphi), so

    d ell / d phi = dg/dphi - 1/2 d log det H / d phi |_u - 1/2 v' d2g/(du dphi),

which per observation collects into q_i = s_i - h_i w3_i / 2 + zeta_i w_i / 2 for everything that
acts through eta_i (h_i = z_i' H^{-1} z_i, zeta = Z L v), plus the explicit sigma terms
-(n_r - tr_r H^{-1}) - v_r' u_r / 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, sparse

from analysis.cumlink import derivatives


class ModeError(RuntimeError):
    """The inner Newton iteration for the random-effect mode did not converge."""


@dataclass
class LaplaceState:
    """Result of one evaluation: ``loglik``, ``grad`` (same order as the parameters) and the
    random-effect mode ``u`` (standardised, one array per factor)."""

    loglik: float
    grad: np.ndarray | None
    u: list[np.ndarray]
    newton_steps: int = 0
    extras: dict = field(default_factory=dict)


class CrossedLaplace:
    """Laplace likelihood of ``y`` (int categories 0..K-1, shape (n,)) on fixed effects ``X``
    (n, p) and one or two random-intercept factors ``groups`` (int codes 0..levels-1, each (n,)).

    Parameters are ``phi = [theta (K-1), beta (p), tau (len(groups))]``.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, groups: list[np.ndarray], n_categories: int):
        if not 1 <= len(groups) <= 2:
            raise ValueError(f"one or two random-intercept factors are supported, got {len(groups)}")
        self.y = np.asarray(y, dtype=np.intp)
        X = np.asarray(X, dtype=float)
        self.X = X.reshape(len(self.y), -1) if X.size else np.zeros((len(self.y), 0))
        self.K = int(n_categories)
        self.codes = [np.asarray(g, dtype=np.intp) for g in groups]
        self.levels = [int(g.max()) + 1 for g in self.codes]
        # factor 0 of the solver is the one with more levels (its block stays diagonal)
        self.order = sorted(range(len(groups)), key=lambda r: -self.levels[r])
        if len(groups) == 2:
            a, b = (self.codes[r] for r in self.order)
            nb = self.levels[self.order[1]]
            pair, self.pair_of = np.unique(a * nb + b, return_inverse=True)
            self.pair_a, self.pair_b = pair // nb, pair % nb
        self.n_theta = self.K - 1
        self.n_beta = self.X.shape[1]
        self.n_params = self.n_theta + self.n_beta + len(groups)
        self.up = np.where(self.y < self.K - 1, self.y, -1)  # index of theta_y, -1 if +inf
        self.low = np.where(self.y > 0, self.y - 1, -1)
        self._u = [np.zeros(n) for n in self.levels]

    # -- pieces -------------------------------------------------------------------------------
    def split(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        phi = np.asarray(phi, dtype=float)
        t, b = self.n_theta, self.n_theta + self.n_beta
        return phi[:t], phi[t:b], np.exp(phi[b:])

    def _eta(self, xb: np.ndarray, sigma: np.ndarray, u: list[np.ndarray]) -> np.ndarray:
        eta = xb.copy()
        for r, codes in enumerate(self.codes):
            eta += sigma[r] * u[r][codes]
        return eta

    def _factor(self, w: np.ndarray, sigma: np.ndarray) -> dict:
        """Blocks of H = L Z' W Z L + I and the Cholesky factor of the Schur complement."""
        ra = self.order[0]
        d_a = sigma[ra] ** 2 * np.bincount(self.codes[ra], w, self.levels[ra]) + 1.0
        out = {"d_a": d_a}
        if len(self.codes) == 2:
            rb = self.order[1]
            d_b = sigma[rb] ** 2 * np.bincount(self.codes[rb], w, self.levels[rb]) + 1.0
            c_vals = sigma[ra] * sigma[rb] * np.bincount(self.pair_of, w, len(self.pair_a))
            c = sparse.csr_array((c_vals, (self.pair_a, self.pair_b)),
                                 shape=(self.levels[ra], self.levels[rb]))
            g = sparse.csr_array(c / d_a[:, None])  # D_A^{-1} C
            schur = np.diag(d_b) - (c.T @ g).toarray()
            out.update(c=c, g=g, chol=linalg.cho_factor(schur, lower=True, check_finite=False))
        return out

    def _solve(self, fac: dict, rhs: list[np.ndarray]) -> list[np.ndarray]:
        """H x = rhs, rhs/x one array per factor (in the caller's factor order)."""
        ra = self.order[0]
        if len(self.codes) == 1:
            return [rhs[0] / fac["d_a"]]
        rb = self.order[1]
        x_b = linalg.cho_solve(fac["chol"], rhs[rb] - fac["g"].T @ rhs[ra], check_finite=False)
        x_a = (rhs[ra] - fac["c"] @ x_b) / fac["d_a"]
        out = [None, None]
        out[ra], out[rb] = x_a, x_b
        return out

    def _logdet(self, fac: dict) -> float:
        value = float(np.log(fac["d_a"]).sum())
        if "chol" in fac:
            value += 2.0 * float(np.log(np.diag(fac["chol"][0])).sum())
        return value

    # -- inner problem: the mode of the random effects ------------------------------------------
    def mode(self, theta: np.ndarray, xb: np.ndarray, sigma: np.ndarray,
             u0: list[np.ndarray] | None = None, tol: float = 1e-10, max_steps: int = 100):
        """Newton's method with step halving for u* = argmax g(u); returns (u, derivatives,
        factorisation, steps). g is strictly concave (log-concave link), so the mode is unique."""
        u = [x.copy() for x in (u0 if u0 is not None else self._u)]

        def objective(u_):
            d_ = derivatives(theta, self.y, self._eta(xb, sigma, u_))
            return float(d_.loglik.sum() - 0.5 * sum(float(x @ x) for x in u_)), d_

        value, d = objective(u)
        if not np.isfinite(value):
            u = [np.zeros(n) for n in self.levels]
            value, d = objective(u)
        for step in range(max_steps + 1):
            grad = [sigma[r] * np.bincount(codes, d.s, self.levels[r]) - u[r]
                    for r, codes in enumerate(self.codes)]
            fac = self._factor(d.w, sigma)
            if max(float(np.abs(gr).max()) for gr in grad) < tol:
                return u, d, fac, step
            delta = self._solve(fac, grad)
            t = 1.0
            for _ in range(60):
                trial = [u[r] + t * delta[r] for r in range(len(u))]
                new_value, new_d = objective(trial)
                if np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value):
                    break
                t /= 2
            else:
                raise ModeError("step halving failed in the random-effect mode")
            decrement = sum(float(gr @ de) for gr, de in zip(grad, delta, strict=True))
            u, value, d = trial, new_value, new_d
            if decrement * t < 1e-22:  # Newton decrement: no further progress possible
                grad = [sigma[r] * np.bincount(codes, d.s, self.levels[r]) - u[r]
                        for r, codes in enumerate(self.codes)]
                return u, d, self._factor(d.w, sigma), step + 1
        raise ModeError(f"random-effect mode not found in {max_steps} Newton steps")

    # -- outer problem: the Laplace log-likelihood ---------------------------------------------
    def evaluate(self, phi: np.ndarray, gradient: bool = True) -> LaplaceState:
        """Laplace log-likelihood at ``phi`` (and its gradient). ``-inf`` where a category
        probability is not positive (thresholds out of order)."""
        theta, beta, sigma = self.split(phi)
        if np.any(np.diff(theta) <= 0) or not np.all(np.isfinite(phi)):
            return LaplaceState(-np.inf, None, self._u)
        xb = self.X @ beta
        u, d, fac, steps = self.mode(theta, xb, sigma)
        self._u = u
        loglik = float(d.loglik.sum() - 0.5 * sum(float(x @ x) for x in u) - 0.5 * self._logdet(fac))
        state = LaplaceState(loglik, None, u, steps)
        if gradient:
            state.grad = self._gradient(theta, xb, sigma, u, fac)
        return state

    def _leverages(self, fac: dict, sigma: np.ndarray) -> tuple[np.ndarray, list[float]]:
        """h_i = z_i' H^{-1} z_i per observation and the trace of each factor's block of H^{-1}."""
        ra = self.order[0]
        inv_a = 1.0 / fac["d_a"]
        traces = [0.0] * len(self.codes)
        if len(self.codes) == 1:
            traces[ra] = float(inv_a.sum())
            return sigma[ra] ** 2 * inv_a[self.codes[ra]], traces
        rb = self.order[1]
        s_inv = linalg.cho_solve(fac["chol"], np.eye(self.levels[rb]), check_finite=False)
        gs = fac["g"] @ s_inv  # D_A^{-1} C S^{-1}, dense (levels A × levels B)
        h_aa = inv_a + np.asarray(fac["g"].multiply(gs).sum(axis=1)).ravel()
        h_ab = -gs[self.pair_a, self.pair_b]
        h_pair = (sigma[ra] ** 2 * h_aa[self.pair_a] + sigma[rb] ** 2 * np.diag(s_inv)[self.pair_b]
                  + 2.0 * sigma[ra] * sigma[rb] * h_ab)
        traces[ra], traces[rb] = float(h_aa.sum()), float(np.trace(s_inv))
        return h_pair[self.pair_of], traces

    def _gradient(self, theta, xb, sigma, u, fac) -> np.ndarray:
        d = derivatives(theta, self.y, self._eta(xb, sigma, u), third=True)
        h, traces = self._leverages(fac, sigma)
        hw3 = h * d.w3
        a = [sigma[r] * np.bincount(codes, hw3, self.levels[r]) for r, codes in enumerate(self.codes)]
        v = self._solve(fac, a)
        zeta = self._eta(np.zeros_like(xb), sigma, v)
        q = d.s - 0.5 * hw3 + 0.5 * zeta * d.w
        grad_beta = self.X.T @ q
        grad_theta = np.zeros(self.n_theta)
        for side in ("up", "low"):
            index = getattr(self, side)
            term = (getattr(d, f"l_{side}") + 0.5 * h * getattr(d, f"ss_{side}")
                    - 0.5 * zeta * getattr(d, f"s_{side}"))
            ok = index >= 0
            grad_theta += np.bincount(index[ok], term[ok], self.n_theta)
        grad_tau = np.array([
            sigma[r] * float(u[r] @ np.bincount(codes, q, self.levels[r]))
            - self.levels[r] + traces[r] - 0.5 * float(v[r] @ u[r])
            for r, codes in enumerate(self.codes)
        ])
        return np.concatenate([grad_theta, grad_beta, grad_tau])
