"""Statistics against published reference values (source cited per test; tolerance ≤ 1e-4
unless the published value itself has fewer digits, which is then said)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.agreement import icc, krippendorff_alpha
from analysis.models import cumulative_logit, mixed_model
from analysis.power import achieved_power, min_detectable_dz, n_for_power
from analysis.stats import adjust_pvalues, friedman, paired_ttest, wilcoxon

# R datasets::sleep (Cushny & Peebles 1905, as given in R's documentation): extra, by group.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_paired_ttest_matches_r_sleep():
    # R: with(sleep, t.test(extra[group == 1], extra[group == 2], paired = TRUE))
    # t = -4.0621, df = 9, p-value = 0.002833, 95% CI -2.4598858 -0.7001142, mean diff -1.58
    r = paired_ttest(SLEEP_1, SLEEP_2).iloc[0]
    assert r["T"] == pytest.approx(-4.0621, abs=1e-4)
    assert r["dof"] == 9
    assert r["p-val"] == pytest.approx(0.002833, abs=1e-6)
    assert r["mean-diff"] == pytest.approx(-1.58, abs=1e-12)
    assert r["CI95%"][0] == pytest.approx(-2.4598858, abs=1e-6)
    assert r["CI95%"][1] == pytest.approx(-0.7001142, abs=1e-6)
    # Cohen's d_z = t / sqrt(n) (Lakens 2013, eq. 2)
    assert r["cohen-dz"] == pytest.approx(-4.0621 / np.sqrt(10), abs=1e-4)
    lo, hi = r["dz-CI95%"]
    assert lo < r["cohen-dz"] < hi


def test_paired_ttest_one_sided_is_half_two_sided():
    two = paired_ttest(SLEEP_1, SLEEP_2).iloc[0]["p-val"]
    less = paired_ttest(SLEEP_1, SLEEP_2, alternative="less").iloc[0]["p-val"]
    assert less == pytest.approx(two / 2, rel=1e-12)


def test_wilcoxon_exact_matches_r_example():
    # R ?wilcox.test, Hollander & Wolfe (1973) p. 29 depression data:
    # wilcox.test(x, y, paired = TRUE, alternative = "greater") -> V = 40, p-value = 0.01953
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    r = wilcoxon(x, y, alternative="greater").iloc[0]
    assert r["V"] == 40
    assert r["method"] == "exact"
    assert r["p-val"] == pytest.approx(0.01953, abs=1e-5)  # exact: 10/512
    assert r["p-val"] == pytest.approx(10 / 512, abs=1e-12)
    two = wilcoxon(x, y).iloc[0]
    assert two["p-val"] == pytest.approx(20 / 512, abs=1e-12)
    # matched-pairs rank-biserial r = (W+ - W-) / (W+ + W-) (Kerby 2014) = (40 - 5) / 45
    assert two["RBC"] == pytest.approx(35 / 45, abs=1e-12)


def test_wilcoxon_with_ties_and_zero_matches_r_sleep():
    # R: with(sleep, wilcox.test(extra[group == 1], extra[group == 2], paired = TRUE))
    # "cannot compute exact p-value with ties/zeroes" -> V = 0, p-value = 0.009091
    r = wilcoxon(SLEEP_1, SLEEP_2).iloc[0]
    assert r["V"] == 0
    assert r["n-nonzero"] == 9
    assert r["p-val"] == pytest.approx(0.009091, abs=1e-6)
    assert r["RBC"] == -1.0


ROUNDING_TIMES = np.array([
    [5.40, 5.50, 5.55], [5.85, 5.70, 5.75], [5.20, 5.60, 5.50], [5.55, 5.50, 5.40],
    [5.90, 5.85, 5.70], [5.45, 5.55, 5.60], [5.40, 5.40, 5.35], [5.45, 5.50, 5.35],
    [5.25, 5.15, 5.00], [5.85, 5.80, 5.70], [5.25, 5.20, 5.10], [5.65, 5.55, 5.45],
    [5.60, 5.35, 5.45], [5.05, 5.00, 4.95], [5.50, 5.50, 5.40], [5.45, 5.55, 5.50],
    [5.55, 5.55, 5.35], [5.45, 5.50, 5.55], [5.50, 5.45, 5.25], [5.65, 5.60, 5.40],
    [5.70, 5.65, 5.55], [6.30, 6.30, 6.25],
])  # fmt: skip


def test_friedman_matches_r_rounding_times():
    # R ?friedman.test, RoundingTimes (Hollander & Wolfe 1973, p. 140):
    # Friedman chi-squared = 11.143, df = 2, p-value = 0.003805
    r = friedman(ROUNDING_TIMES).iloc[0]
    assert r["Q"] == pytest.approx(11.143, rel=1e-4)  # published to 3 decimals
    assert r["dof"] == 2
    assert r["p-val"] == pytest.approx(0.003805, abs=1e-6)


# Benjamini & Hochberg (1995), section 4: the 15 p-values of the worked example.
BH_PVALUES = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
              0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]


def test_bh_reproduces_benjamini_hochberg_example():
    adjusted = adjust_pvalues(BH_PVALUES, "bh")
    # the paper rejects the four smallest at q = 0.05
    assert (adjusted <= 0.05).sum() == 4
    # step-up adjusted values p_(i) m / i with running minimum from the top (R p.adjust "BH")
    expected = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.0638571, 0.0638571, 0.0645,
                0.0765, 0.486, 0.5811818, 0.714875, 0.7532308, 0.8132143, 1.0]
    np.testing.assert_allclose(adjusted, expected, atol=1e-6)


def test_holm_on_bh_example():
    # Holm (1979) step-down: max_{j<=i} min(1, (m - j + 1) p_(j)) (R p.adjust "holm")
    adjusted = adjust_pvalues(BH_PVALUES, "holm")
    expected = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213,
                1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(adjusted, expected, atol=1e-10)
    assert (adjusted <= 0.05).sum() == 3


def test_adjust_keeps_nan_out_of_the_family():
    out = adjust_pvalues([0.01, np.nan, 0.04], "holm")
    np.testing.assert_allclose(out, [0.02, np.nan, 0.04])


# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_matches_shrout_fleiss():
    table = icc(SHROUT_FLEISS).set_index("type")
    ms = table.attrs["mean_squares"]
    # Table 3 of the paper: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02 (two decimals)
    for key, value in {"BMS": 11.24, "WMS": 6.26, "JMS": 32.49, "EMS": 1.02}.items():
        assert ms[key] == pytest.approx(value, abs=0.005)
    # exact values of the mean squares (sums of squares of the data)
    assert ms["BMS"] == pytest.approx(11.2416667, abs=1e-6)
    assert ms["EMS"] == pytest.approx(1.0194444, abs=1e-6)
    # Table 4: ICC(1,1) .17, (2,1) .29, (3,1) .71, (1,4) .44, (2,4) .62, (3,4) .91
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for key, value in published.items():
        assert table.loc[key, "ICC"] == pytest.approx(value, abs=0.005)
    # and to 1e-6 from the published formulas applied to the exact mean squares
    bms, ems, jms = ms["BMS"], ms["EMS"], ms["JMS"]
    assert table.loc["ICC2", "ICC"] == pytest.approx(
        (bms - ems) / (bms + 3 * ems + 4 * (jms - ems) / 6), abs=1e-12)
    assert table.loc["ICC3", "F"] == pytest.approx(11.027248, abs=1e-5)  # psych::ICC: F = 11
    assert table.loc["ICC1", "p-val"] == pytest.approx(0.16477, abs=1e-4)  # psych::ICC p = 0.165


def test_krippendorff_alpha_matches_krippendorff_2011():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", example C:
    # 4 observers, 12 units, missing values. Nominal alpha = 1 - 39 * 8 / 1216 = 0.743,
    # interval alpha = 0.849 (published to 3 decimals), ordinal 0.815.
    nan = np.nan
    rows = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    }
    long = pd.DataFrame(
        [(rater, unit, v) for rater, vs in rows.items() for unit, v in enumerate(vs) if v == v],
        columns=["participant_id", "stimulus_id", "rating"],
    )
    assert krippendorff_alpha(long, level="nominal") == pytest.approx(1 - 39 * 8 / 1216, abs=1e-9)
    assert krippendorff_alpha(long, level="interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(long, level="ordinal") == pytest.approx(0.815, abs=5e-4)


def test_power_matches_pwr_and_gpower():
    # R pwr::pwr.t.test(d = 0.5, power = 0.8, type = "paired") -> n = 33.36713;
    # G*Power 3 (Faul et al. 2007), one-sample/matched pairs, d = 0.5, n = 34 -> power 0.8077775
    assert n_for_power(0.5) == pytest.approx(33.36713, abs=1e-4)
    assert achieved_power(0.5, 34) == pytest.approx(0.8077775, abs=1e-6)
    assert achieved_power(3.0, 30) == pytest.approx(1.0, abs=1e-9)  # no NaN in the far tail
    d = min_detectable_dz(34)
    assert achieved_power(d, 34) == pytest.approx(0.8, abs=1e-5)


def test_power_of_a_huge_effect_needs_few_participants_and_gives_no_nan():
    # statsmodels' solver returns NaN with a convergence warning for d_z = 5.9 (the demo's
    # simulated study had one); the answer lies between 2 and 3 participants
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        n = n_for_power(5.9)
    assert 2.0 < n < 3.0 and achieved_power(5.9, n) == pytest.approx(0.8, abs=1e-6)
    assert n_for_power(50.0) == 2.0  # two participants already give the power: the fewest a paired test has
    # scipy's far tail is NaN at n = 2.35 (df 1.35, ncp 9.0): that tail alone, not the power, is approximated
    assert achieved_power(5.9, 2.35) == pytest.approx(0.79423, abs=1e-4)


def test_mixed_model_on_paired_data_equals_paired_ttest():
    # For a balanced paired design, REML with a random intercept per subject gives the paired
    # t-test's estimate and standard error, and the ANOVA variance-component estimates
    # (Searle, Casella & McCulloch 1992, ch. 4): residual = MS_error, subject = (MS_subj - MS_err)/2.
    n = 10
    frame = pd.DataFrame({
        "rating": SLEEP_1 + SLEEP_2,
        "method": pd.Categorical(["g1"] * n + ["g2"] * n),
        "participant_id": [f"s{i}" for i in range(n)] * 2,
        "item_id": "one",
        "question": "q",
    })
    table = mixed_model(frame, "g1").set_index("term")
    assert table.loc["g2", "coef"] == pytest.approx(1.58, abs=1e-6)
    assert table.loc["g2", "z"] == pytest.approx(4.0621, abs=1e-4)
    d = np.subtract(SLEEP_2, SLEEP_1)
    ms_error = d.var(ddof=1) / 2
    ms_subject = 2 * (np.add(SLEEP_1, SLEEP_2) / 2).var(ddof=1)
    assert table.loc["var(residual)", "coef"] == pytest.approx(ms_error, abs=1e-4)
    assert table.loc["var(participant)", "coef"] == pytest.approx((ms_subject - ms_error) / 2, abs=1e-4)


UCLA = Path(__import__("statsmodels").__file__).parent / "miscmodels/tests/results/ologit_ucla.csv"


@pytest.mark.skipif(not UCLA.is_file(), reason="statsmodels' copy of the UCLA data is not installed")
def test_cumulative_logit_matches_polr_ucla():
    # UCLA IDRE "Ordinal logistic regression | R data analysis examples":
    # polr(apply ~ pared + public + gpa): residual deviance 717.0249; coefficients
    # pared 1.04769, public -0.05879, gpa 0.61594; intercepts 2.20391, 4.29936.
    # polr's optimiser stops at reltol 1e-8 on the deviance, so its coefficients are good to
    # about 1e-3; the deviance at the optimum is checked to 1e-4.
    data = pd.read_csv(UCLA)
    levels = ["unlikely", "somewhat likely", "very likely"]
    outcome = pd.Series(pd.Categorical(data["apply"], categories=levels, ordered=True))
    table, fit = cumulative_logit(outcome, data[["pared", "public", "gpa"]])
    assert -2 * fit.llf == pytest.approx(717.0249, abs=1e-4)
    coef = table.set_index("term")["coef"]
    np.testing.assert_allclose(coef[["pared", "public", "gpa"]], [1.04769, -0.05879, 0.61594], atol=1e-3)
    np.testing.assert_allclose(
        coef[["unlikely|somewhat likely", "somewhat likely|very likely"]], [2.20391, 4.29936], atol=1e-3)


def test_cumulative_logit_thresholds_closed_form():
    # With one binary predictor and an outcome of two categories the cumulative logit is a
    # logistic regression with the 2×2 table's log odds ratio (closed form).
    y = pd.Series(pd.Categorical([0] * 30 + [1] * 10 + [0] * 15 + [1] * 25, ordered=True))
    x = pd.DataFrame({"x": [0.0] * 40 + [1.0] * 40})
    table, _ = cumulative_logit(y, x)
    coef = table.set_index("term")["coef"]
    assert coef["x"] == pytest.approx(np.log((25 / 15) / (10 / 30)), abs=1e-5)
    assert coef["0|1"] == pytest.approx(np.log(30 / 10), abs=1e-5)


# R 4.2.2, psych 2.2.9 (Debian bookworm): ICC(m, lmer = FALSE)$results, "lower bound" / "upper bound"
PSYCH_BOUNDS_SHROUT_FLEISS = {
    "ICC1": (-0.1329323248748, 0.722560062328), "ICC2": (0.0187865133747, 0.761084369649),
    "ICC3": (0.3424647650339, 0.945858259955), "ICC1k": (-0.8844421552381, 0.912415420341),
    "ICC2k": (0.0711368153025, 0.927232040168), "ICC3k": (0.6756747138163, 0.985891678169),
}  # fmt: skip


def test_icc_confidence_bounds_match_r_psych():
    table = icc(SHROUT_FLEISS).set_index("type")
    for key, (lower, upper) in PSYCH_BOUNDS_SHROUT_FLEISS.items():
        assert table.loc[key, "lower"] == pytest.approx(lower, abs=1e-10), key
        assert table.loc[key, "upper"] == pytest.approx(upper, abs=1e-10), key
        assert table.loc[key, "lower"] < table.loc[key, "ICC"] < table.loc[key, "upper"]
    narrow = icc(SHROUT_FLEISS, confidence=0.5).set_index("type")
    assert (narrow["upper"] - narrow["lower"] < table["upper"] - table["lower"]).all()
    with pytest.raises(ValueError, match="confidence"):
        icc(SHROUT_FLEISS, confidence=1.0)
