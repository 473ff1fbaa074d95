"""Rater agreement: Krippendorff's alpha (missing ratings allowed) and Shrout & Fleiss ICCs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps


def krippendorff_alpha(
    data: pd.DataFrame,
    unit: str = "stimulus_id",
    rater: str = "participant_id",
    value: str = "rating",
    level: str = "ordinal",
    value_domain: list | None = None,
) -> float:
    """Krippendorff's alpha of long data (one row per rater × unit); units rated by fewer than
    two raters do not count (Krippendorff, 2011)."""
    import krippendorff

    matrix = data.pivot_table(index=rater, columns=unit, values=value, aggfunc="first", observed=True)
    pairable = matrix.notna().sum(axis=0) >= 2
    if pairable.sum() < 1:
        raise ValueError("Krippendorff's alpha needs units rated by at least two raters")
    matrix = matrix.loc[:, pairable]
    values = matrix.to_numpy(dtype=float)
    if len(np.unique(values[np.isfinite(values)])) < 2 and value_domain is None:
        raise ValueError("Krippendorff's alpha is undefined when every rating has the same value")
    return float(
        krippendorff.alpha(reliability_data=values, level_of_measurement=level, value_domain=value_domain)
    )


def icc(matrix, confidence: float = 0.95) -> pd.DataFrame:
    """The six intraclass correlations of Shrout & Fleiss (1979) for a complete
    targets × raters matrix, with their F tests and ``confidence`` intervals (McGraw & Wong,
    1996; ICC2's with Satterthwaite's degrees of freedom), as R's ``psych::ICC`` gives them.

    Types: ICC1 (one-way random), ICC2 (two-way random, absolute agreement), ICC3 (two-way
    mixed, consistency), each for a single rater and for the mean of k raters (ICC1k ...).
    Columns: ``type, ICC, F, df1, df2, p-val, lower, upper``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"ICC needs a targets × raters matrix with both ≥ 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("ICC needs a complete matrix (every rater rates every target)")
    n, k = x.shape
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    bms = ss_rows / (n - 1)
    wms = (ss_total - ss_rows) / (n * (k - 1))
    jms = ss_cols / (k - 1)
    ems = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    if ems == 0 or wms == 0:
        raise ValueError("ICC is undefined: no within-target variance")
    f1, df1_1, df2_1 = bms / wms, n - 1, n * (k - 1)
    f3, df2_3 = bms / ems, (n - 1) * (k - 1)
    rows = [
        ("ICC1", (bms - wms) / (bms + (k - 1) * wms), f1, df1_1, df2_1),
        ("ICC2", (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n), f3, n - 1, df2_3),
        ("ICC3", (bms - ems) / (bms + (k - 1) * ems), f3, n - 1, df2_3),
        ("ICC1k", (bms - wms) / bms, f1, df1_1, df2_1),
        ("ICC2k", (bms - ems) / (bms + (jms - ems) / n), f3, n - 1, df2_3),
        ("ICC3k", (bms - ems) / bms, f3, n - 1, df2_3),
    ]
    table = pd.DataFrame(rows, columns=["type", "ICC", "F", "df1", "df2"])
    table["p-val"] = sps.f.sf(table["F"], table["df1"], table["df2"])
    bounds = icc_bounds(n, k, bms, wms, jms, ems, float(table.loc[1, "ICC"]), confidence)
    table["lower"] = [bounds[t][0] for t in table["type"]]
    table["upper"] = [bounds[t][1] for t in table["type"]]
    table.attrs["mean_squares"] = {"BMS": bms, "WMS": wms, "JMS": jms, "EMS": ems}
    table.attrs["confidence"] = confidence
    return table


def icc_bounds(n: int, k: int, bms: float, wms: float, jms: float, ems: float, icc2: float,
               confidence: float = 0.95) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Confidence bounds of the six ICCs from the mean squares of an ``n`` targets × ``k`` raters
    matrix (McGraw & Wong, 1996, Table 7; ``icc2`` is the ICC2 estimate, which ICC2's
    Satterthwaite degrees of freedom need): ``{type: (lower, upper)}``."""
    q = 1 - (1 - confidence) / 2
    f1, df1, df2_1, df2_3 = bms / wms, n - 1, n * (k - 1), (n - 1) * (k - 1)
    f3 = bms / ems
    bounds = {}
    for name, f, df2 in (("1", f1, df2_1), ("3", f3, df2_3)):
        f_low, f_up = f / sps.f.ppf(q, df1, df2), f * sps.f.ppf(q, df2, df1)
        bounds[f"ICC{name}"] = ((f_low - 1) / (f_low + k - 1), (f_up - 1) / (f_up + k - 1))
        bounds[f"ICC{name}k"] = (1 - 1 / f_low, 1 - 1 / f_up)
    fj = jms / ems
    centre = n * (1 + (k - 1) * icc2) - k * icc2
    v = (k - 1) * (n - 1) * (k * icc2 * fj + centre) ** 2 / ((n - 1) * k**2 * icc2**2 * fj**2 + centre**2)
    f_up, f_low = sps.f.ppf(q, n - 1, v), sps.f.ppf(q, v, n - 1)
    lower = n * (bms - f_up * ems) / (f_up * (k * jms + (k * n - k - n) * ems) + n * bms)
    upper = n * (f_low * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f_low * bms)
    bounds["ICC2"] = (lower, upper)
    bounds["ICC2k"] = (lower * k / (1 + lower * (k - 1)), upper * k / (1 + upper * (k - 1)))
    return bounds


def complete_block(data: pd.DataFrame, unit: str = "stimulus_id", rater: str = "participant_id",
                   value: str = "rating") -> pd.DataFrame:
    """A large complete units × raters block: all units with the raters who rated them all (or
    all raters with the units they all rated) when that keeps half the matrix, else greedily
    dropping the raters (or units) with the largest shares of missing values. May be empty."""
    matrix = data.pivot_table(index=unit, columns=rater, values=value, aggfunc="first", observed=True)
    present = matrix.notna().to_numpy()
    if present.size == 0 or present.all():
        return matrix
    # fast candidates first: all units × complete raters, or all raters × complete units
    full_cols, full_rows = present.all(axis=0), present.all(axis=1)
    area_cols = present.shape[0] * full_cols.sum() if present.shape[0] >= 2 and full_cols.sum() >= 2 else 0
    area_rows = present.shape[1] * full_rows.sum() if present.shape[1] >= 2 and full_rows.sum() >= 2 else 0
    if max(area_cols, area_rows) >= present.size / 2:
        return matrix.loc[:, full_cols] if area_cols >= area_rows else matrix.loc[full_rows]
    rows = np.ones(present.shape[0], dtype=bool)
    cols = np.ones(present.shape[1], dtype=bool)
    while rows.any() and cols.any():
        block = present[np.ix_(rows, cols)]
        if block.all():
            break
        row_missing = 1 - block.mean(axis=1)
        col_missing = 1 - block.mean(axis=0)
        # drop, on the worse axis, every line at least half as incomplete as the worst one
        if row_missing.max() >= col_missing.max():
            rows[np.flatnonzero(rows)[row_missing >= row_missing.max() / 2]] = False
        else:
            cols[np.flatnonzero(cols)[col_missing >= col_missing.max() / 2]] = False
    return matrix.loc[rows, cols]


def agreement_table(ratings: pd.DataFrame, scale_points: list[int]) -> pd.DataFrame:
    """Per question: Krippendorff's alpha (ordinal, all ratings) and ICC2/ICC2k with their 95 %
    confidence intervals on the largest complete stimuli × participants block. Where a measure cannot be computed the ``note`` says why."""
    rows = []
    for question in ratings["question"].cat.categories:
        sub = ratings[ratings["question"] == question]
        row: dict = {"question": question, "n_stimuli": sub["stimulus_id"].nunique(),
                     "n_raters": sub["participant_id"].nunique()}
        notes = []
        try:
            row["alpha-ordinal"] = krippendorff_alpha(sub, value_domain=scale_points)
        except ValueError as error:
            notes.append(f"alpha: {error}")
        block = complete_block(sub)
        row["icc_stimuli"], row["icc_raters"] = block.shape
        try:
            table = icc(block.to_numpy()).set_index("type")
            for name in ("ICC2", "ICC2k"):
                row[name] = table.loc[name, "ICC"]
                row[f"{name}-CI95"] = f"[{table.loc[name, 'lower']:.2f}, {table.loc[name, 'upper']:.2f}]"
            row["ICC-p-val"] = table.loc["ICC2", "p-val"]
        except ValueError as error:
            notes.append(f"ICC: {error}")
        row["note"] = "; ".join(notes)
        if notes:
            warnings.warn(f"{question}: {row['note']}", stacklevel=2)
        rows.append(row)
    return pd.DataFrame(rows)
