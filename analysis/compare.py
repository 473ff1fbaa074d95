"""Method comparisons on participant means: the paper's paired t-tests and what a reviewer asks next.

Every test works on per-participant means (one value per participant × method × question), as
in the paper. Each returns a tidy DataFrame with one row per (question, method pair).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.stats import adjust_pvalues, friedman, paired_ttest, wilcoxon


def participant_means(ratings: pd.DataFrame) -> pd.DataFrame:
    """Mean rating per ``question, method, participant_id`` (and the number of ratings)."""
    return (
        ratings.groupby(["question", "method", "participant_id"], observed=True)["rating"]
        .agg(mean="mean", n_ratings="size")
        .reset_index()
    )


def descriptives(ratings: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per question × method: participants, ratings, mean, SD and SE over participant means,
    CI of the mean, median rating."""
    means = participant_means(ratings)
    rows = []
    for (question, method), group in means.groupby(["question", "method"], observed=True, sort=True):
        values = group["mean"].to_numpy()
        n = len(values)
        sd = values.std(ddof=1) if n > 1 else np.nan
        se = sd / np.sqrt(n) if n > 1 else np.nan
        half = sps.t.ppf(1 - (1 - confidence) / 2, n - 1) * se if n > 1 else np.nan
        raw = ratings.loc[(ratings["question"] == question) & (ratings["method"] == method), "rating"]
        rows.append(
            {
                "question": question,
                "method": method,
                "n_participants": n,
                "n_ratings": int(group["n_ratings"].sum()),
                "mean": values.mean(),
                "sd": sd,
                "se": se,
                f"CI{round(confidence * 100)}%": [values.mean() - half, values.mean() + half],
                "median": float(raw.median()),
            }
        )
    return pd.DataFrame(rows)


def wide_by_question(ratings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{question: participants × methods matrix of mean ratings}, from one group-by."""
    means = ratings.groupby(["question", "participant_id", "method"], observed=True)["rating"].mean()
    table = means.unstack("method")
    methods = [m for m in ratings["method"].cat.categories if m in table.columns]
    return {q: table.loc[q, methods].dropna(how="all")
            for q in ratings["question"].cat.categories if q in table.index.get_level_values(0)}


def _pairs_table(
    ratings: pd.DataFrame,
    pairs_for: Callable[[list[str]], list[tuple[str, str]]],
    test: Callable[..., pd.DataFrame],
    **kwargs,
) -> pd.DataFrame:
    rows = []
    for question, wide in wide_by_question(ratings).items():
        for a, b in pairs_for(list(wide.columns)):
            both = wide[[a, b]].dropna()
            base = {"question": question, "A": a, "B": b, "n": len(both),
                    "mean-A": both[a].mean(), "mean-B": both[b].mean()}
            missing = [m for m in (a, b) if wide[m].isna().all()]
            if missing:
                base.update(note=f"no ratings of {' and '.join(missing)} in this question")
                warnings.warn(f"{question}: {a} vs {b}: {base['note']}", stacklevel=3)
                rows.append(base)
                continue
            try:
                result = test(both[a].to_numpy(), both[b].to_numpy(), **kwargs).iloc[0].to_dict()
                result.pop("n", None)
                base.update(result, note="")
            except ValueError as error:
                warnings.warn(f"{question}: {a} vs {b}: {error}", stacklevel=3)
                base.update(note=str(error))
            rows.append(base)
    table = pd.DataFrame(rows)
    if "p-val" not in table.columns:
        table["p-val"] = np.nan
    return table


def _reference_pairs(reference: str) -> Callable[[list[str]], list[tuple[str, str]]]:
    return lambda methods: [(reference, m) for m in methods if m != reference]


#: Families for Holm/BH: every comparison of a table, or each question's comparisons apart.
FAMILIES = ("table", "question")


def add_corrections(table: pd.DataFrame, family: str = "table") -> pd.DataFrame:
    """Add ``p-holm``, ``p-bh`` and ``family`` columns. ``family="table"``: one family of all the
    table's tests; ``"question"``: one family per question. ``family`` says which, with the number
    of tests m in it (tests without a p-value are not counted, as R's ``p.adjust``)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    table = table.copy()
    groups = [table.index] if family == "table" else \
        [g.index for _, g in table.groupby("question", observed=True, sort=False)]
    table["p-holm"] = np.nan
    table["p-bh"] = np.nan
    table["family"] = ""
    for index in groups:
        p = table.loc[index, "p-val"].to_numpy(dtype=float)
        table.loc[index, "p-holm"] = adjust_pvalues(p, "holm")
        table.loc[index, "p-bh"] = adjust_pvalues(p, "bh")
        table.loc[index, "family"] = f"{family} (m = {int(np.isfinite(p).sum())})"
    return table


def reference_ttests(ratings: pd.DataFrame, reference: str, family: str = "table") -> pd.DataFrame:
    """The paper's tests: per question, paired t-test of ``reference`` (A) against every other
    method (B) over participant means; ``mean-diff`` = A − B. Holm and BH corrections within
    ``family`` (default: the whole table, all questions × methods)."""
    table = _pairs_table(ratings, _reference_pairs(reference), paired_ttest)
    return add_corrections(table, family)


def reference_wilcoxon(ratings: pd.DataFrame, reference: str, family: str = "table") -> pd.DataFrame:
    """Wilcoxon signed-rank tests of ``reference`` against each method, with rank-biserial r."""
    table = _pairs_table(ratings, _reference_pairs(reference), wilcoxon)
    return add_corrections(table, family)


def friedman_tests(ratings: pd.DataFrame, family: str = "table") -> pd.DataFrame:
    """Friedman test across all methods per question, on participants who rated every method
    (with ``family="question"`` each family holds one test, so adjusted = raw p)."""
    rows = []
    for question, wide in wide_by_question(ratings).items():
        unrated = [str(m) for m in wide.columns if wide[m].isna().all()]
        wide = wide.dropna(axis=1, how="all").dropna()
        base = {"question": question, "methods": ", ".join(map(str, wide.columns))}
        try:
            result = friedman(wide.to_numpy()).iloc[0].to_dict()
            base.update(result, note=f"without {', '.join(unrated)} (no ratings in this question)"
                        if unrated else "")
        except ValueError as error:
            warnings.warn(f"{question}: Friedman: {error}", stacklevel=2)
            base.update(n=len(wide), note=str(error))
        rows.append(base)
    return add_corrections(pd.DataFrame(rows), family)


def posthoc_wilcoxon(ratings: pd.DataFrame, family: str = "question") -> pd.DataFrame:
    """All pairwise Wilcoxon signed-rank tests per question (post-hoc to Friedman), Holm and BH
    corrected within ``family`` (default: each question, as R's
    ``pairwise.wilcox.test(paired = TRUE)`` run per question)."""
    table = _pairs_table(ratings, lambda methods: list(combinations(methods, 2)), wilcoxon)
    return add_corrections(table, family)


def significance_stars(p: float) -> str:
    """``***`` p < .001, ``**`` p < .01, ``*`` p < .05, ``n.s.`` otherwise."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."
