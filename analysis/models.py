"""Models on the single ratings that respect their nesting: a linear mixed model and a
cumulative-logit mixed model (R ``ordinal::clmm``), both with crossed random intercepts for
participants and items, and the marginal cumulative-logit (proportional odds) model.

Both are fitted per question with the reference method as the baseline level, so each
coefficient is "method − reference". Large data sets are subsampled by whole participants
(``max_rows``); the tables say when that happened.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps


def subsample_participants(ratings: pd.DataFrame, max_rows: int | None, seed: int = 0) -> pd.DataFrame:
    """Keep a random subset of whole participants so that at most ``max_rows`` rows remain."""
    if max_rows is None or len(ratings) <= max_rows:
        return ratings
    ids = np.asarray(ratings["participant_id"].unique(), dtype=object)
    ids = ids[np.random.default_rng(seed).permutation(len(ids))]
    per = len(ratings) / len(ids)
    keep = ids[: max(2, int(max_rows / per))]
    return ratings[ratings["participant_id"].isin(keep)]


def _method_dummies(methods: pd.Series, reference: str) -> pd.DataFrame:
    levels = [m for m in methods.cat.categories if m != reference and (methods == m).any()]
    return pd.DataFrame({m: (methods == m).to_numpy(dtype=float) for m in levels}, index=methods.index)


def one_level_note(ratings: pd.DataFrame) -> str:
    """Why a model of ``ratings`` cannot be fitted when every rating is the same; else ''."""
    levels = sorted(ratings["rating"].unique())
    if len(levels) >= 2:
        return ""
    shown = ", ".join(str(int(v)) for v in levels) or "none"
    return f"only one rating level ({shown}): nothing to model; not fitted"


def note_table(ratings: pd.DataFrame, question: str, note: str) -> pd.DataFrame:
    """The one-row table of a model that was not fitted: ``note`` says why."""
    return pd.DataFrame([{"question": question, "term": "", "n_rows": len(ratings), "note": note}])


def unrated_method_rows(ratings: pd.DataFrame, reference: str, question: str) -> list[dict]:
    """One row with a note per method (a category of ``method``) without ratings here."""
    present = set(ratings["method"].unique())
    rows = []
    for m in ratings["method"].cat.categories:
        if m not in present:
            what = "reference method" if m == reference else "method"
            rows.append({"question": question, "term": m, "n_rows": len(ratings),
                         "note": f"{what} has no ratings in this question"})
    return rows


def _finish(table: pd.DataFrame, ratings: pd.DataFrame, reference: str, question: str) -> pd.DataFrame:
    """Append the rows of unrated methods to a fitted model's table."""
    extra = unrated_method_rows(ratings, reference, question)
    return pd.concat([table, pd.DataFrame(extra)], ignore_index=True) if extra else table


def _coef_rows(names, params, bse, confidence: float = 0.95) -> list[dict]:
    """Wald rows: ``coef``, ``se``, ``z``, two-sided normal ``p-val``, ``CI95%``."""
    q = sps.norm.ppf(1 - (1 - confidence) / 2)
    rows = []
    for name, b, se in zip(names, params, bse, strict=True):
        b, se = float(b), float(se)
        z = b / se if se > 0 else np.nan
        rows.append({"term": name, "coef": b, "se": se, "z": z,
                     "p-val": 2 * sps.norm.sf(abs(z)), "CI95%": [b - q * se, b + q * se]})
    return rows


def mixed_model(
    ratings: pd.DataFrame,
    reference: str,
    question: str | None = None,
    max_rows: int | None = 20_000,
    seed: int = 0,
    random_slopes: bool = False,
) -> pd.DataFrame:
    """REML fit of ``rating ~ method`` with crossed random intercepts (participant, item).

    statsmodels' MixedLM expresses crossed effects as variance components within a single
    group. Returns fixed effects (``term`` = intercept or method) then the variance components
    (``term`` = ``var(participant)``, ``var(item)``, ``var(residual)``; ``coef`` holds the variance).
    ``random_slopes``: also a by-participant random slope of each method against the reference,
    uncorrelated with each other and with the intercept (lme4's ``(1 + method || participant)``;
    ``term`` = ``var(<method> | participant)``): with every participant rating every method, the
    fixed effects' standard errors then include how much the method effects vary between
    participants (Barr et al., 2013).
    """
    from scipy import sparse
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    data = ratings if question is None else ratings[ratings["question"] == question]
    qlabel = question if question is not None else "all"
    if one_level_note(data):
        return note_table(data, qlabel, one_level_note(data))
    n_all = len(data)
    data = subsample_participants(data, max_rows, seed)
    dummies = _method_dummies(data["method"], reference)
    exog = np.column_stack([np.ones(len(data)), dummies.to_numpy()])
    names = [f"Intercept ({reference})", *dummies.columns]
    components = {}
    for label, column in (("participant", "participant_id"), ("item", "item_id")):
        codes, uniques = pd.factorize(data[column])
        if len(uniques) > 1:
            components[label] = (codes, np.ones(len(data)))
    if random_slopes and "participant" in components:
        codes = components["participant"][0]
        for name in dummies.columns:
            components[f"{name} | participant"] = (codes, dummies[name].to_numpy(dtype=float))
    mats, colnames = [], []
    for codes, values in components.values():
        matrix = sparse.csr_array(
            (values, (np.arange(len(data)), codes)), shape=(len(data), codes.max() + 1)
        )
        mats.append([matrix])
        colnames.append([[str(j) for j in range(matrix.shape[1])]])
    exog_vc = VCSpec(list(components), colnames, mats)
    model = MixedLM(
        data["rating"].to_numpy(dtype=float), exog, groups=np.zeros(len(data)),
        exog_vc=exog_vc,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=True, method=["lbfgs", "bfgs"])
        # near a variance's boundary at 0 (lme4's "singular" fits: random slopes that do not vary)
        # the first pass stops short of the optimum (REML criterion 0.05 above lme4's in one tested
        # case): a second pass from there, kept when it is higher; where it fails (from a variance at
        # 2e-8 it wandered to 20 on this machine, and linear algebra on the way may fail elsewhere)
        # the first fit stands
        if np.min(fit.vcomp, initial=np.inf) < 0.05 * fit.scale:
            try:
                again = model.fit(reml=True, start_params=fit.params, method=["bfgs"], maxiter=5000)
            except (ValueError, np.linalg.LinAlgError):
                again = None
            if again is not None and again.llf > fit.llf:
                fit = again
    rows = _coef_rows(names, fit.fe_params, fit.bse_fe)
    for label, var in zip(components, fit.vcomp, strict=True):
        rows.append({"term": f"var({label})", "coef": float(var)})
    rows.append({"term": "var(residual)", "coef": float(fit.scale)})
    table = pd.DataFrame(rows)
    table.insert(0, "question", question if question is not None else "all")
    table["n_rows"] = len(data)
    table["note"] = "" if len(data) == n_all else f"subsample of {len(data)} of {n_all} rows (whole participants)"
    if not fit.converged:
        table["note"] = (table["note"] + "; did not converge").str.strip("; ")
    return _finish(table, data, reference, qlabel)


def cumulative_logit(
    outcome: pd.Series, exog: pd.DataFrame, groups: np.ndarray | None = None
) -> tuple[pd.DataFrame, object]:
    """Proportional-odds (cumulative logit) model, as R's ``MASS::polr``.

    ``outcome`` is an ordered categorical (or integers, ordered by value). Returns a table of
    slopes (``term``, ``coef``, ``se``, ``z``, ``p-val``, ``CI95%``, ``OR``) followed by the
    thresholds on R's scale (``term`` = ``"a|b"``), and the statsmodels result. ``groups`` gives
    cluster-robust standard errors (e.g. participants).
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    if not isinstance(outcome.dtype, pd.CategoricalDtype):
        outcome = pd.Series(pd.Categorical(outcome, ordered=True), index=outcome.index)
    outcome = outcome.cat.remove_unused_categories()
    model = OrderedModel(outcome.reset_index(drop=True), exog.reset_index(drop=True).astype(float),
                         distr="logit")
    kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": groups}} if groups is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(method="bfgs", disp=False, maxiter=1000, gtol=1e-9, **kwargs)
        if not fit.mle_retvals.get("converged", True):  # BFGS may stop on precision loss
            fit = model.fit(method="newton", start_params=fit.params, disp=False, maxiter=100,
                            **kwargs)
    k = exog.shape[1]
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse)
    rows = _coef_rows(list(exog.columns), params[:k], bse[:k])
    for row in rows:
        row["OR"] = float(np.exp(row["coef"]))
    cuts = model.transform_threshold_params(params)[1:-1]
    labels = [str(c) for c in outcome.cat.categories]
    for i, cut in enumerate(cuts):
        rows.append({"term": f"{labels[i]}|{labels[i + 1]}", "coef": float(cut)})
    return pd.DataFrame(rows), fit


def ordinal_model(
    ratings: pd.DataFrame,
    reference: str,
    question: str | None = None,
    max_rows: int | None = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Cumulative-logit model of the ratings on method (reference = baseline), per question,
    with participant-clustered standard errors. ``OR`` > 1: the method is rated higher."""
    data = ratings if question is None else ratings[ratings["question"] == question]
    qlabel = question if question is not None else "all"
    if one_level_note(data):
        return note_table(data, qlabel, one_level_note(data))
    n_all = len(data)
    data = subsample_participants(data, max_rows, seed)
    dummies = _method_dummies(data["method"], reference)
    groups = pd.factorize(data["participant_id"])[0]
    outcome = pd.Series(pd.Categorical(data["rating"], ordered=True), index=data.index)
    table, fit = cumulative_logit(outcome, dummies, groups=groups)
    table.insert(0, "question", question if question is not None else "all")
    table["n_rows"] = len(data)
    note = "" if len(data) == n_all else f"subsample of {len(data)} of {n_all} rows (whole participants)"
    if not fit.mle_retvals.get("converged", True):
        note = (note + "; did not converge").strip("; ")
    table["note"] = note
    return _finish(table, data, reference, qlabel)


def per_question(fn, ratings: pd.DataFrame, reference: str, **kwargs) -> pd.DataFrame:
    """Run a model per question and stack the tables; a failing fit becomes a row with a note
    (followed, as after a fit, by a row per method without ratings in that question)."""
    tables = []
    for question in ratings["question"].cat.categories:
        try:
            tables.append(fn(ratings, reference, question=question, **kwargs))
        except (ValueError, np.linalg.LinAlgError, RuntimeError) as error:
            warnings.warn(f"{question}: {fn.__name__} failed: {error}", stacklevel=2)
            data = ratings[ratings["question"] == question]
            tables.append(_finish(note_table(data, question, f"fit failed: {error}"), data, reference, question))
    return pd.concat(tables, ignore_index=True)
