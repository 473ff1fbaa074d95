"""Power and sensitivity of paired t-tests over participants (the noncentral t of scipy; statsmodels' TTestPower for the sensitivity)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: The fewest participants a paired t-test can have (one degree of freedom), and the most
#: :func:`n_for_power` reports before answering ``inf``.
MIN_PAIRED_N, MAX_N = 2.0, 1e12


def n_for_power(dz: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Participants (real-valued, as G*Power/pwr before rounding up) for a two-sided paired
    t-test to reach ``power`` at effect size d_z; at least :data:`MIN_PAIRED_N`, ``inf`` beyond
    10¹² (or for d_z = 0).

    :func:`achieved_power` solved for n (``scipy.optimize.brentq``), as pwr's ``pwr.t.test``
    does with ``uniroot``: statsmodels' ``TTestPower.solve_power`` fails when the answer lies near
    its lower bracket (d_z 5.9, 2.4 participants: NaN and a ConvergenceWarning that its own module
    filter lets through any ``catch_warnings``)."""
    from scipy.optimize import brentq

    if not np.isfinite(dz) or dz == 0:
        return math.inf
    if achieved_power(dz, MIN_PAIRED_N, alpha) >= power:
        return MIN_PAIRED_N
    if achieved_power(dz, MAX_N, alpha) < power:
        return math.inf
    return float(brentq(lambda n: achieved_power(dz, n, alpha) - power, MIN_PAIRED_N, MAX_N, xtol=1e-9, rtol=1e-12))


def achieved_power(dz: float, n: float, alpha: float = 0.05) -> float:
    """Power of a two-sided paired t-test with ``n`` participants at effect size d_z
    (noncentral t; a tail that scipy cannot evaluate, NaN, takes the normal approximation, which is
    there ≈ 0 or ≈ 1)."""
    from scipy import stats

    df = n - 1
    ncp = abs(dz) * np.sqrt(n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    upper, lower = stats.nct.sf(crit, df, ncp), stats.nct.cdf(-crit, df, ncp)
    if not np.isfinite(upper):
        upper = stats.norm.sf(crit - ncp)
    if not np.isfinite(lower):  # each tail on its own: at df 1.35, ncp 9, scipy gives NaN for the far one only
        lower = stats.norm.cdf(-crit - ncp)
    return float(min(1.0, upper + lower))


def min_detectable_dz(n: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """Sensitivity: the smallest |d_z| detectable with ``power`` with ``n`` participants."""
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided"))


def power_table(ttests: pd.DataFrame, power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """For each comparison of :func:`analysis.compare.reference_ttests`: observed d_z, the
    participants needed for ``power`` (rounded up), and the sensitivity of the current n."""
    rows = []
    for _, r in ttests.iterrows():
        dz = float(r.get("cohen-dz", np.nan))
        n = int(r["n"])
        needed = n_for_power(dz, power, alpha) if np.isfinite(dz) else math.inf
        rows.append(
            {
                "question": r["question"],
                "A": r["A"],
                "B": r["B"],
                "n": n,
                "cohen-dz": dz,
                "power-at-n": achieved_power(dz, n, alpha) if np.isfinite(dz) and n > 1 else np.nan,
                f"n-for-{round(power * 100)}%": math.ceil(needed) if math.isfinite(needed) else None,
                f"min-dz-at-n-{round(power * 100)}%": min_detectable_dz(n, power, alpha) if n > 2 else np.nan,
            }
        )
    return pd.DataFrame(rows)
