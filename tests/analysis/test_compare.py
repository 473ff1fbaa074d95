"""Comparisons on participant means, models, agreement and power on a simulated study."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import compare
from analysis.agreement import agreement_table, complete_block, icc
from analysis.load import load_ratings
from analysis.models import ordinal_model, per_question, subsample_participants
from analysis.power import power_table
from analysis.stats import adjust_pvalues, friedman, paired_ttest, wilcoxon


@pytest.fixture(scope="module")
def data(study):
    frame, _ = load_ratings(study)
    return frame


def test_reference_ttests_use_participant_means(data):
    table = compare.reference_ttests(data, "aufx")
    assert len(table) == 9 and set(table["A"]) == {"aufx"}
    row = table[(table["question"] == "artifacts") & (table["B"] == "stargan")].iloc[0]
    sub = data[data["question"] == "artifacts"]
    means = sub.groupby(["participant_id", "method"], observed=True)["rating"].mean().unstack()
    direct = paired_ttest(means["aufx"], means["stargan"]).iloc[0]
    assert row["T"] == pytest.approx(direct["T"], abs=1e-12)
    assert row["n"] == 23 and row["dof"] == 22
    assert row["mean-diff"] == pytest.approx(row["mean-A"] - row["mean-B"], abs=1e-12)
    np.testing.assert_allclose(table["p-holm"], adjust_pvalues(table["p-val"], "holm"))
    assert table[["T", "p-val", "p-holm", "p-bh", "cohen-dz"]].notna().all().all()


def test_simulated_effects_have_the_papers_signs(data):
    table = compare.reference_ttests(data, "aufx").set_index(["question", "B"])
    for method in ("stargan", "ganimation", "cascade-efgan"):
        assert table.loc[("artifacts", method), "p-val"] < 0.001
    assert table.loc[("expression", "stargan"), "mean-diff"] > 0


def test_wilcoxon_friedman_posthoc(data):
    w = compare.reference_wilcoxon(data, "aufx")
    assert w["RBC"].between(-1, 1).all() and len(w) == 9
    f = compare.friedman_tests(data)
    assert list(f["question"]) == list(data["question"].cat.categories)
    assert (f["k"] == 4).all() and f["p-val"].notna().all()
    post = compare.posthoc_wilcoxon(data)
    assert len(post) == 3 * 6
    for _, group in post.groupby("question"):
        np.testing.assert_allclose(group["p-holm"], adjust_pvalues(group["p-val"], "holm"))


def test_incomplete_participants_are_paired_pairwise(data):
    # drop one participant's stargan ratings: that pair loses them, others keep 23
    pid = data["participant_id"].iloc[0]
    cut = data[~((data["participant_id"] == pid) & (data["method"] == "stargan"))]
    table = compare.reference_ttests(cut, "aufx").set_index(["question", "B"])
    assert table.loc[("identity", "stargan"), "n"] == 22
    assert table.loc[("identity", "ganimation"), "n"] == 23
    fr = compare.friedman_tests(cut)
    assert (fr["n"] == 22).all()


def test_zero_variance_is_a_note_and_a_warning_not_a_silent_nan(small):
    constant = small.copy()
    constant["rating"] = 3
    frame, _ = load_ratings(constant)
    with pytest.warns(UserWarning, match="zero variance"):
        table = compare.reference_ttests(frame, "aufx")
    assert table["note"].str.contains("zero variance").all()
    assert table["T"].isna().all() if "T" in table else True


def test_descriptives(data):
    d = compare.descriptives(data)
    assert len(d) == 12 and (d["n_participants"] == 23).all()
    row = d.iloc[0]
    lo, hi = row["CI95%"]
    assert lo < row["mean"] < hi


def test_models_per_question(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ordinal = per_question(ordinal_model, data, "aufx")
    art = ordinal[(ordinal["question"] == "artifacts") & (ordinal["term"] == "stargan")].iloc[0]
    assert art["coef"] < 0 and art["OR"] < 1  # stargan rated lower than aufx
    assert (ordinal["note"] == "").all()


def test_a_failing_fit_keeps_the_rows_of_unrated_methods(data):
    """A fit that fails (here on purpose) still lists the methods without ratings in that question."""
    def failing(ratings, reference, question):
        raise np.linalg.LinAlgError("Singular matrix")

    without = data[~((data["method"] == "stargan") & (data["question"] == "artifacts"))]
    with pytest.warns(UserWarning, match="artifacts: failing failed: Singular matrix"):
        table = per_question(failing, without, "aufx")
    art = table[table["question"] == "artifacts"]
    assert list(art["term"]) == ["", "stargan"]
    assert art["note"].iloc[0] == "fit failed: Singular matrix"
    assert "no ratings" in art["note"].iloc[1]
    assert (table[table["question"] != "artifacts"]["term"] == "").all()


def test_a_failing_second_pass_keeps_the_first_fit(monkeypatch):
    """Near a variance's boundary the mixed model refits from its optimum; when that refit
    raises, the first fit is reported instead of the question failing."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    from analysis.models import mixed_model

    fit, calls = MixedLM.fit, []

    def second_pass_fails(self, *args, **kwargs):
        calls.append(kwargs.get("start_params") is not None)
        if calls[-1]:
            raise np.linalg.LinAlgError("Singular matrix")
        return fit(self, *args, **kwargs)

    from analysis.fixtures import simulate_ratings

    small, _ = load_ratings(simulate_ratings(n_participants=8, n_items=4, seed=0))  # var(item) fits at ~2e-8
    monkeypatch.setattr(MixedLM, "fit", second_pass_fails)
    table = mixed_model(small, "aufx", question="artifacts")
    assert calls == [False, True]  # the refit was tried and failed
    assert table["term"].iloc[0] == "Intercept (aufx)" and np.isfinite(table["coef"].iloc[0])


def test_subsample_keeps_whole_participants(data):
    sub = subsample_participants(data, 2000, seed=1)
    assert len(sub) <= 2000
    counts = sub.groupby("participant_id").size()
    assert (counts == 144).all()


def test_agreement_and_power(data):
    a = agreement_table(data, [1, 2, 3, 4, 5])
    assert a["alpha-ordinal"].between(-1, 1).all()
    assert (a["icc_stimuli"] == 48).all() and (a["icc_raters"] == 23).all()
    for _, row in a.iterrows():  # the interval is printed around the estimate
        lower, upper = (float(v) for v in row["ICC2-CI95"].strip("[]").split(", "))
        assert lower - 0.005 <= row["ICC2"] <= upper + 0.005
    p = power_table(compare.reference_ttests(data, "aufx"))
    assert (p["n-for-80%"] >= 2).all()
    assert p["power-at-n"].between(0, 1).all()


def test_complete_block_drops_incomplete_raters():
    frame = pd.DataFrame({"stimulus_id": ["a", "b", "a", "b", "a"], "participant_id": ["1", "1", "2", "2", "3"],
                          "rating": [1, 2, 2, 3, 5]})
    block = complete_block(frame)
    assert block.shape == (2, 2)


def test_errors_are_explicit():
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_ttest([1.0], [2.0])
    with pytest.raises(ValueError, match="equal length"):
        paired_ttest([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="all paired differences are zero"):
        wilcoxon([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="missing values"):
        friedman([[1, 2], [np.nan, 1]])
    with pytest.raises(ValueError, match="complete matrix"):
        icc([[1, 2], [np.nan, 1]])
    with pytest.raises(ValueError, match="correction must be"):
        adjust_pvalues([0.1], "sidak")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=3, max_size=30))
def test_paired_ttest_antisymmetric(pairs):
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    if np.std(x - y) < 1e-6:
        return
    a = paired_ttest(x, y).iloc[0]
    b = paired_ttest(y, x).iloc[0]
    assert a["T"] == pytest.approx(-b["T"], rel=1e-9, abs=1e-9)
    assert a["p-val"] == pytest.approx(b["p-val"], rel=1e-9, abs=1e-12)
    assert 0 <= a["p-val"] <= 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_corrections_bounded_and_ordered(p):
    holm = adjust_pvalues(p, "holm")
    bh = adjust_pvalues(p, "bh")
    p = np.asarray(p)
    assert (holm >= p - 1e-12).all() and (bh >= p - 1e-12).all()
    assert (bh <= holm + 1e-12).all()
    assert (holm <= 1).all()


def test_corrections_agree_with_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(3).uniform(0, 0.2, 25)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")):
        np.testing.assert_allclose(adjust_pvalues(p, ours), multipletests(p, method=theirs)[1],
                                   atol=1e-12)


def test_models_note_subsampling(data):
    from analysis.models import mixed_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = mixed_model(data, "aufx", question="identity", max_rows=600)
    assert table["note"].iloc[0].startswith("subsample of")
    assert table["n_rows"].iloc[0] <= 600


def test_method_rated_by_one_participant_only_gives_a_note(small):
    frame, _ = load_ratings(small)
    pid = frame["participant_id"].iloc[0]
    sparse = frame[(frame["method"] != "stargan") | (frame["participant_id"] == pid)]
    with pytest.warns(UserWarning, match="at least 2 pairs"):
        table = compare.reference_ttests(sparse, "aufx")
    bad = table[table["B"] == "stargan"]
    assert (bad["n"] == 1).all() and bad["note"].str.contains("at least 2 pairs").all()
    good = table[table["B"] != "stargan"]
    assert good["p-val"].notna().all() and (good["note"] == "").all()


def test_correction_families(data):
    table = compare.reference_ttests(data, "aufx")
    assert set(table["family"]) == {"table (m = 9)"}
    within = compare.reference_ttests(data, "aufx", family="question")
    assert set(within["family"]) == {"question (m = 3)"}
    for _, group in within.groupby("question", observed=True):
        np.testing.assert_allclose(group["p-holm"], adjust_pvalues(group["p-val"], "holm"))
        np.testing.assert_allclose(group["p-bh"], adjust_pvalues(group["p-val"], "bh"))
    # a smaller family never gives a larger Holm-adjusted p-value here
    assert (within["p-holm"] <= table["p-holm"] + 1e-15).all()
    assert (within["p-holm"] < table["p-holm"]).any()
    friedman_q = compare.friedman_tests(data, family="question")
    np.testing.assert_allclose(friedman_q["p-holm"], friedman_q["p-val"])  # one test per family
    post = compare.posthoc_wilcoxon(data, family="table")
    assert set(post["family"]) == {"table (m = 18)"}
    with pytest.raises(ValueError, match="family must be one of table, question"):
        compare.add_corrections(table, "study")


def test_method_without_ratings_in_a_question_is_a_note(data):
    cut = data[~((data["method"] == "stargan") & (data["question"] == "identity"))]
    with pytest.warns(UserWarning, match="no ratings of stargan"):
        table = compare.reference_ttests(cut, "aufx").set_index(["question", "B"])
    assert table.loc[("identity", "stargan"), "note"] == "no ratings of stargan in this question"
    assert np.isnan(table.loc[("identity", "stargan"), "p-holm"])
    assert table["family"].iloc[0] == "table (m = 8)"  # untestable rows are not in the family
    fr = compare.friedman_tests(cut).set_index("question")
    assert fr.loc["identity", "k"] == 3 and "without stargan" in fr.loc["identity", "note"]
