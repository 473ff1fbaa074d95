"""Statistical tests on arrays, each returning a one-row tidy DataFrame (pingouin-like names).

Conventions follow R so that results can be checked against R's documentation:
``paired_ttest`` is ``t.test(x, y, paired = TRUE)``, ``wilcoxon`` is
``wilcox.test(x, y, paired = TRUE)`` (exact when n < 50 without ties or zeros, otherwise the
normal approximation with continuity and tie corrections), ``friedman`` is ``friedman.test``,
``adjust_pvalues`` is ``p.adjust``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

ALTERNATIVES = ("two-sided", "less", "greater")


def _paired_arrays(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired samples need two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired samples contain NaN or infinite values")
    if len(x) < 2:
        raise ValueError(f"a paired test needs at least 2 pairs, got {len(x)}")
    return x, y


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def dz_confidence_interval(t: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """CI of Cohen's d_z by inverting the noncentral t distribution (Steiger & Fouladi, 1997)."""
    df = n - 1
    alpha = 1 - confidence
    if not np.isfinite(t):
        return (np.nan, np.nan)

    def cdf(ncp: float) -> float:
        value = stats.nct.cdf(t, df, ncp)
        if not np.isfinite(value):  # far tails underflow: cdf is 0 above t, 1 below
            return 0.0 if ncp > t else 1.0
        return float(value)

    def solve(target: float) -> float:
        span = 4.0 * np.sqrt(1 + t * t / (2 * df)) + 1.0
        return optimize.brentq(lambda ncp: cdf(ncp) - target, t - span, t + span, xtol=1e-10)

    lo_ncp = solve(1 - alpha / 2)
    hi_ncp = solve(alpha / 2)
    return (lo_ncp / np.sqrt(n), hi_ncp / np.sqrt(n))


def paired_ttest(x, y, alternative: str = "two-sided", confidence: float = 0.95) -> pd.DataFrame:
    """Paired t-test of ``x - y``: T, dof, p-val, mean-diff, CI, cohen-dz and its CI.

    Cohen's d_z is the mean difference over the standard deviation of the differences
    (Cohen, 1988; Lakens, 2013), i.e. t / sqrt(n).
    """
    _check_alternative(alternative)
    x, y = _paired_arrays(x, y)
    d = x - y
    n = len(d)
    mean = d.mean()
    sd = d.std(ddof=1)
    se = sd / np.sqrt(n)
    df = n - 1
    if se == 0:
        raise ValueError(
            "all paired differences are equal (zero variance); the t statistic is undefined"
        )
    t = mean / se
    if alternative == "two-sided":
        p = 2 * stats.t.sf(abs(t), df)
        q = stats.t.ppf(1 - (1 - confidence) / 2, df)
        ci = (mean - q * se, mean + q * se)
    elif alternative == "greater":
        p = stats.t.sf(t, df)
        ci = (mean - stats.t.ppf(confidence, df) * se, np.inf)
    else:
        p = stats.t.cdf(t, df)
        ci = (-np.inf, mean + stats.t.ppf(confidence, df) * se)
    ci_name = f"CI{round(confidence * 100)}%"
    return pd.DataFrame(
        {
            "n": [n],
            "mean-diff": [mean],
            "sd-diff": [sd],
            "se": [se],
            "T": [t],
            "dof": [df],
            "alternative": [alternative],
            "p-val": [p],
            ci_name: [list(ci)],
            "cohen-dz": [mean / sd],
            f"dz-{ci_name}": [list(dz_confidence_interval(t, n, confidence))],
        }
    )


def _signed_ranks(d: np.ndarray) -> tuple[float, float, np.ndarray]:
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    return float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum()), nz


def wilcoxon(x, y, alternative: str = "two-sided", exact: bool | None = None) -> pd.DataFrame:
    """Wilcoxon signed-rank test of ``x - y`` as R's ``wilcox.test(paired = TRUE)``.

    Zero differences are dropped (Wilcoxon's method). ``V`` is R's statistic (sum of positive
    ranks), ``W-val`` the smaller of the two rank sums. ``RBC`` is the matched-pairs rank-biserial
    correlation (W+ - W-) / (W+ + W-) (Kerby, 2014), positive when x tends to exceed y.
    """
    _check_alternative(alternative)
    x, y = _paired_arrays(x, y)
    w_pos, w_neg, nz = _signed_ranks(x - y)
    n = len(nz)
    if n == 0:
        raise ValueError("all paired differences are zero; the Wilcoxon test is undefined")
    has_ties = len(np.unique(np.abs(nz))) < n
    has_zeros = n < len(x)
    if exact is None:
        exact = n < 50 and not has_ties and not has_zeros
    if exact and (has_ties or has_zeros):
        raise ValueError("the exact Wilcoxon test needs differences without ties or zeros")
    res = stats.wilcoxon(
        nz,
        alternative=alternative,
        method="exact" if exact else "approx",
        correction=not exact,
        zero_method="wilcox",
    )
    total = w_pos + w_neg
    return pd.DataFrame(
        {
            "n": [len(x)],
            "n-nonzero": [n],
            "V": [w_pos],
            "W-val": [min(w_pos, w_neg)],
            "alternative": [alternative],
            "method": ["exact" if exact else "normal approx. (continuity, ties)"],
            "p-val": [float(res.pvalue)],
            "RBC": [(w_pos - w_neg) / total],
        }
    )


def friedman(data) -> pd.DataFrame:
    """Friedman rank-sum test on a blocks × treatments matrix (R ``friedman.test``), with ties
    corrected, plus Kendall's W = chi2 / (n (k - 1))."""
    m = np.asarray(data, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise ValueError(f"Friedman needs a blocks × treatments matrix with both ≥ 2, got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("Friedman's matrix has missing values; every block needs every treatment")
    n, k = m.shape
    ranks = np.apply_along_axis(stats.rankdata, 1, m)
    rank_sums = ranks.sum(axis=0)
    ties = 0.0
    for row in m:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denominator = n * k * (k + 1) / 12 - ties / (12 * (k - 1))
    if denominator <= 0:
        raise ValueError("every block has all treatments tied; the Friedman test is undefined")
    chi2 = (np.sum((rank_sums - n * (k + 1) / 2) ** 2)) / denominator
    df = k - 1
    return pd.DataFrame(
        {
            "n": [n],
            "k": [k],
            "Q": [chi2],
            "dof": [df],
            "p-val": [stats.chi2.sf(chi2, df)],
            "kendall-W": [chi2 / (n * (k - 1))],
        }
    )


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")[::-1]  # largest first
    stepped = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def adjust_pvalues(pvalues, method: str = "holm") -> np.ndarray:
    """Adjusted p-values as R's ``p.adjust``: ``holm`` (Holm 1979), ``bh`` (alias ``fdr_bh``;
    Benjamini & Hochberg 1995), ``bonferroni``.

    NaN entries are left as NaN and do not count towards the number of tests.
    """
    functions = {"holm": _holm, "bh": _bh, "fdr_bh": _bh,
                 "bonferroni": lambda p: np.minimum(p * len(p), 1.0)}
    if method not in functions:
        raise ValueError(f"correction must be one of holm, bh, bonferroni; got {method!r}")
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    if ok.any():
        out[ok] = functions[method](p[ok])
    return out
