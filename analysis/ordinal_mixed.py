"""The report's ordinal table: the cumulative-logit mixed model
``rating ~ method + (1 | participant) + (1 | item)`` per question (R ``ordinal::clmm``, Laplace),
with the reference method as baseline.

Bad input never raises: a question with one rating level, a method without ratings, a design
whose columns are aliased or a fit that fails each become rows with a ``note``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.clmm import fit_clmm
from analysis.laplace import ModeError
from analysis.models import _coef_rows, subsample_participants

RANDOM_FACTORS = (("participant", "participant_id"), ("item", "item_id"))
#: An SD below this is reported as at the boundary (the variance component is not identified).
SD_BOUNDARY = 1e-4


def _independent_columns(X: np.ndarray) -> list[int]:
    """Greedy left-to-right choice of the columns of ``X`` that, with an intercept (the
    thresholds), have full rank; later aliased columns are dropped, as R's ``clm`` does."""
    keep: list[int] = []
    base = np.ones((len(X), 1))
    for j in range(X.shape[1]):
        trial = np.column_stack([base, X[:, keep + [j]]])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            keep.append(j)
    return keep


def _note_row(question: str, term: str, note: str, n_rows: int) -> dict:
    return {"question": question, "term": term, "n_rows": n_rows, "note": note}


def ordinal_mixed_model(
    ratings: pd.DataFrame,
    reference: str,
    question: str | None = None,
    max_rows: int | None = 30_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Fit the cumulative-logit mixed model to one question's ratings.

    Rows: one per method (``coef`` = log odds ratio against ``reference``; ``OR`` > 1: rated
    higher), the thresholds (``"1|2"``, …), ``sd(participant)``, ``sd(item)`` and ``logLik``
    (``coef`` holds the value). Columns add ``converged``, ``max-grad`` and ``cond-H`` (clmm's
    convergence diagnostics). Above ``max_rows`` ratings, a seeded subset of whole participants.
    """
    label = question if question is not None else "all"
    data = ratings if question is None else ratings[ratings["question"] == question]
    n_all = len(data)
    data = subsample_participants(data, max_rows, seed)
    n = len(data)
    notes = [] if n == n_all else [f"subsample of {n} of {n_all} rows (whole participants)"]
    levels = np.sort(data["rating"].unique())
    if len(levels) < 2:
        only = ", ".join(str(int(v)) for v in levels) or "none"
        return pd.DataFrame([_note_row(label, "", f"only one rating level ({only}): a cumulative "
                                       "logit needs at least two; not fitted", n)])
    y = np.searchsorted(levels, data["rating"].to_numpy())

    methods = list(data["method"].cat.categories) if hasattr(data["method"], "cat") \
        else sorted(data["method"].unique())
    present = set(data["method"].unique())
    candidates = [m for m in methods if m != reference and m in present]
    X = np.column_stack([(data["method"] == m).to_numpy(float) for m in candidates]) \
        if candidates else np.zeros((n, 0))
    keep = _independent_columns(X)
    names = [candidates[j] for j in keep]
    X = X[:, keep]
    method_notes = {}  # methods without a coefficient, and why
    if reference not in present:
        method_notes[reference] = "reference method has no ratings in this question"
    for m in methods:
        if m != reference and m not in present:
            method_notes[m] = "no ratings of this method in this question"
    for j, m in enumerate(candidates):
        if j not in keep:
            method_notes[m] = "not estimable: aliased (design not of full column rank)" + (
                "; the other methods are compared with this one" if reference not in present else "")
    rows = [_note_row(label, m, method_notes[m], n) for m in methods if m in method_notes]

    groups, factor_names = [], []
    for name, column in RANDOM_FACTORS:
        codes, uniques = pd.factorize(data[column])
        if len(uniques) > 1:
            groups.append(codes)
            factor_names.append(name)
        else:
            notes.append(f"one {name} only: no random intercept for {name}s")
    if not groups:
        rows.append(_note_row(label, "", "fewer than two participants and items: no random "
                              "effect to fit; see the marginal ordinal model", n))
        return pd.DataFrame(rows)
    try:
        fit = fit_clmm(y, X, groups, len(levels))
    except (ModeError, np.linalg.LinAlgError, ValueError) as error:
        rows.append(_note_row(label, "", f"fit failed: {error}", n))
        return pd.DataFrame(rows)

    k = len(levels) - 1
    se_theta, se_beta = fit.se[:k], fit.se[k:k + len(names)]
    by_method = {row["term"]: row for row in _coef_rows(names, fit.beta, se_beta)}
    for row in by_method.values():
        row["OR"] = float(np.exp(row["coef"]))
        row["OR-CI95%"] = [float(np.exp(v)) for v in row["CI95%"]]
    for row in rows:  # methods without a coefficient keep their place among the methods
        by_method[row["term"]] = row
    fitted = [by_method[m] for m in methods if m in by_method]
    cut_names = [f"{int(levels[i])}|{int(levels[i + 1])}" for i in range(k)]
    fitted += _coef_rows(cut_names, fit.theta, se_theta)
    for name, sd in zip(factor_names, fit.sd, strict=True):
        fitted.append({"term": f"sd({name})", "coef": float(sd)})
        if sd < SD_BOUNDARY:
            notes.append(f"sd({name}) at the boundary (≈ 0)")
    fitted.append({"term": "logLik", "coef": fit.loglik})
    if not fit.converged:
        notes.append(f"did not converge (max |gradient| {fit.max_grad:.1e})")
    if fit.message and not np.all(np.isfinite(fit.se)):
        notes.append(fit.message)
    shared = "; ".join(notes)
    for row in fitted:
        row.update(question=label, n_rows=n, converged=fit.converged, **{
            "max-grad": fit.max_grad, "cond-H": fit.cond_hessian})
        row["note"] = "; ".join(x for x in (shared, row.get("note", "")) if x)
    table = pd.DataFrame(fitted)
    front = ["question", "term", "coef", "se", "z", "p-val", "CI95%", "OR", "OR-CI95%"]
    return table[[c for c in front if c in table] + [c for c in table if c not in front]]
