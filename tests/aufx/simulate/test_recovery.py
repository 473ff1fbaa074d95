"""Recovery check on a synthetic stimulus table (no models): the analysis finds the true effects,
the predicted powers match rejection rates, and a wrong analysis is caught."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.report import analyze
from aufx.simulate.raters import RaterModel, means_from_effects, simulate_ratings
from aufx.simulate.recovery import check_recovery, pair_power, true_means

METHODS = ("aufx-local-mux", "aufx-global-opt", "stargan", "ganimation")
#: Latent true effects (Likert steps): large, null (0 difference) and small (underpowered) contrasts.
EFFECTS = {
    "aufx-local-mux": {"expression": 0.8, "identity": 0.8, "artifacts": 1.0},
    "aufx-global-opt": {"expression": 0.8, "identity": -0.2, "artifacts": 0.2},
    "stargan": {"expression": -0.8, "identity": 0.2, "artifacts": -1.0},
    "ganimation": {"expression": 0.5, "identity": 0.8, "artifacts": 0.0},
}
MODEL = RaterModel()


def _table(items=6):
    stimuli = pd.DataFrame([{"stimulus_id": f"s{i}-{m}", "method": m, "item_id": f"i{i}"}
                            for i in range(items) for m in METHODS])  # fmt: skip
    return means_from_effects(stimuli, EFFECTS, item_sd=0.3, seed=1)


def _check(ratings, table):
    result = analyze(ratings, None, reference="aufx-local-mux", figures=False, models=False)
    return check_recovery(table, MODEL, result.tables["ttests"], result.tables["descriptives"])


def test_analysis_recovers_orderings_and_decisions_of_the_true_effects():
    table = _table()
    recovery = _check(simulate_ratings(table, MODEL, 20, seed=4), table)
    assert recovery.passed, recovery.text()
    d = recovery.decisions
    assert set(d["expected"]) == {"significant", "not significant (Holm)", "not judged"}
    assert (d["expected"] == "significant").sum() >= 5
    assert len(recovery.ordering) >= 10
    truth = true_means(table, MODEL).set_index(["question", "method"])["true_mean"]
    assert truth[("artifacts", "aufx-local-mux")] > truth[("artifacts", "ganimation")] > truth[("artifacts", "stargan")]
    assert "PASSED" in recovery.text()


def test_a_wrong_analysis_fails_the_check():
    table = _table()
    ratings = simulate_ratings(table, MODEL, 20, seed=4)
    swapped = ratings.assign(method=ratings["method"].replace({"stargan": "ganimation", "ganimation": "stargan"}))
    recovery = _check(swapped, table)
    assert not recovery.passed
    assert not recovery.decisions["agrees"].all() and not recovery.ordering["agrees"].all()
    assert "FAILED" in recovery.text()


def test_predicted_power_matches_rejection_rates_over_repeated_studies():
    table, n, reps = _table(), 12, 400
    power = pair_power(table, MODEL, n).set_index(["question", "A", "B"])["power"]
    rng = np.random.default_rng(7)
    onehot = (table["method"].to_numpy()[:, None] == np.array(METHODS)[None]).astype(float)
    onehot /= onehot.sum(axis=0)  # stimuli -> per-method mean
    spread = []
    for q in EFFECTS["stargan"]:
        mu = table[f"mu_{q}"].to_numpy()
        y = mu + rng.normal(0, MODEL.bias_sd, (reps, n, 1)) + rng.normal(0, MODEL.noise_sd, (reps, n, len(mu)))
        means = MODEL.to_likert(y) @ onehot  # [reps, n, methods]
        for j, b in enumerate(METHODS[1:], start=1):
            p = stats.ttest_rel(means[..., 0], means[..., j], axis=1).pvalue
            predicted, rate = power[(q, METHODS[0], b)], float(np.mean(p < 0.05))
            spread.append(predicted)
            tolerance = 4 * np.sqrt(max(predicted * (1 - predicted), 0.01) / reps) + 0.03
            assert abs(rate - predicted) <= tolerance, (q, b, rate, predicted)
    assert min(spread) < 0.1 and max(spread) > 0.99 and any(0.2 < s < 0.9 for s in spread)


def test_check_names_a_missing_column():
    table = _table(2)
    with pytest.raises(ValueError, match="ttests table: missing column 'p-holm'"):
        check_recovery(table, MODEL, pd.DataFrame({"question": [], "A": [], "B": [], "n": [], "mean-diff": [],
                                                   "p-val": []}), pd.DataFrame())  # fmt: skip
