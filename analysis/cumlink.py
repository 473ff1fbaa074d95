"""Log-probability of one cumulative-logit observation and its derivatives up to third order.

An observation in category ``y`` (0-based, of ``K``) with thresholds ``theta`` (``K - 1``,
increasing; ``theta_{-1} = -inf``, ``theta_{K-1} = +inf``) and linear predictor ``eta`` has

    P(Y = y) = F(theta_y - eta) - F(theta_{y-1} - eta),   F(x) = 1 / (1 + exp(-x))

(the proportional-odds model with R ``ordinal``'s sign convention, logit P(Y <= j) = theta_j - eta;
Agresti 2010, *Analysis of Ordinal Categorical Data*, eq. 3.4; Christensen 2019, ``ordinal``
package vignette, eq. 1). With ``p = F(a1) - F(a0)``, ``a1 = theta_y - eta``, ``a0 = theta_{y-1} - eta``,
every derivative of ``l = log p`` follows from the chain rule for the logarithm,

    l'   = p' / p,
    l''  = p'' / p - (p')^2 / p^2,
    l''' = p''' / p - 3 p'' p' / p^2 + 2 (p')^3 / p^3,

with p's own derivatives from f = F(1 - F), f' = f(1 - 2F), f'' = f(1 - 6F + 6F^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit


@dataclass
class ObsDerivatives:
    """Per-observation quantities, each shape (n,). ``up``/``low``: the observation's upper
    threshold ``theta_y`` and lower threshold ``theta_{y-1}`` (zero where that threshold is
    infinite)."""

    loglik: np.ndarray  #: l = log P(Y = y)
    s: np.ndarray  #: dl/deta
    w: np.ndarray  #: -d2l/deta2 (> 0: the model is log-concave in eta)
    w3: np.ndarray | None = None  #: dw/deta = -d3l/deta3
    l_up: np.ndarray | None = None  #: dl/dtheta_up
    l_low: np.ndarray | None = None
    s_up: np.ndarray | None = None  #: d2l/(deta dtheta_up)
    s_low: np.ndarray | None = None
    ss_up: np.ndarray | None = None  #: d3l/(deta2 dtheta_up)
    ss_low: np.ndarray | None = None


def _logistic(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """F, f, f', f'' of the logistic distribution at ``a`` (±inf allowed: f's are then 0)."""
    big_f = expit(a)
    f = big_f * (1.0 - big_f)
    return big_f, f, f * (1.0 - 2.0 * big_f), f * (1.0 - 6.0 * big_f + 6.0 * big_f * big_f)


def derivatives(theta: np.ndarray, y: np.ndarray, eta: np.ndarray, third: bool = False) -> ObsDerivatives:
    """Derivatives of ``log P(Y = y)`` for categories ``y`` (int, 0..K-1) at ``eta`` (n,).

    ``third=False`` gives l, dl/deta and -d2l/deta2 (enough for Newton steps in eta);
    ``third=True`` adds the third-order and threshold derivatives the Laplace gradient needs.
    """
    bounds = np.concatenate([[-np.inf], np.asarray(theta, dtype=float), [np.inf]])
    a1 = bounds[y + 1] - eta
    a0 = bounds[y] - eta
    f1_cdf, f1, d1, dd1 = _logistic(a1)
    f0_cdf, f0, d0, dd0 = _logistic(a0)
    # p = F(a1) - F(a0); in the upper tail use 1 - F(a) = F(-a) to keep digits
    upper = a0 > 0
    p = np.where(upper, expit(-a0) - expit(-a1), f1_cdf - f0_cdf)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / p
        p_e = -(f1 - f0)  # derivatives of p along eta (a1, a0 both move by -1)
        p_ee = d1 - d0
        l_e = p_e * inv
        l_ee = p_ee * inv - l_e * l_e
        out = ObsDerivatives(loglik=np.log(p), s=l_e, w=-l_ee)
        if not third:
            return out
        p_eee = -(dd1 - dd0)
        out.w3 = -(p_eee * inv - 3.0 * p_ee * inv * l_e + 2.0 * l_e**3)
        # theta_up moves a1 only: p_u = f1, p_eu = -f1', p_eeu = f1''; theta_low: -f0, f0', -f0''
        for name, p_t, p_et, p_eet in (("up", f1, -d1, dd1), ("low", -f0, d0, -dd0)):
            l_t = p_t * inv
            setattr(out, f"l_{name}", l_t)
            setattr(out, f"s_{name}", p_et * inv - l_e * l_t)
            setattr(out, f"ss_{name}",
                    p_eet * inv - (p_ee * l_t + 2.0 * p_et * l_e) * inv + 2.0 * l_e * l_e * l_t)
    return out
