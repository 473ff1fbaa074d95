"""Power and sensitivity of paired t-tests over participants (statsmodels' TTestPower)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def n_for_power(dz: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Participants (real-valued, as G*Power/pwr before rounding up) for a two-sided paired
    t-test to reach ``power`` at effect size d_z."""
    from statsmodels.stats.power import TTestPower

    if not np.isfinite(dz) or dz == 0:
        return math.inf
    return float(TTestPower().solve_power(effect_size=abs(dz), alpha=alpha, power=power,
                                          alternative="two-sided"))


def achieved_power(dz: float, n: int, alpha: float = 0.05) -> float:
    """Power of a two-sided paired t-test with ``n`` participants at effect size d_z
    (noncentral t; where its tails underflow, the normal approximation, which is then ≈ 1)."""
    from scipy import stats

    df = n - 1
    ncp = abs(dz) * np.sqrt(n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    power = stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp)
    if not np.isfinite(power):
        power = stats.norm.sf(crit - ncp) + stats.norm.cdf(-crit - ncp)
    return float(min(1.0, power))


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
