"""The rater model: thresholds, the closed-form expected rating, metrics -> latent scores, errors."""

import numpy as np
import pandas as pd
import pytest

from aufx.simulate.raters import (
    RaterModel,
    SimulatedParticipant,
    expected_rating,
    means_from_effects,
    means_from_metrics,
    simulate_ratings,
)


def test_thresholds_map_latent_values_to_the_likert_points():
    model = RaterModel(points=5)
    assert model.thresholds.tolist() == [-1.5, -0.5, 0.5, 1.5]
    assert model.to_likert(np.array([-9.0, -1.0, 0.0, 1.0, 9.0])).tolist() == [1, 2, 3, 4, 5]
    assert model.to_likert(np.array([0.4, 0.6])).tolist() == [3, 4]
    assert RaterModel(points=7).to_likert(np.array([-9.0, 0.0, 9.0])).tolist() == [1, 4, 7]


def test_expected_rating_equals_the_mean_of_many_draws():
    model = RaterModel(bias_sd=0.5, noise_sd=0.8)
    rng = np.random.default_rng(0)
    for mu in (-2.0, -0.3, 0.0, 0.7, 2.5):
        draws = model.to_likert(mu + rng.normal(0, 0.5, 200_000) + rng.normal(0, 0.8, 200_000))
        assert abs(draws.mean() - float(expected_rating(mu, model))) < 0.01
    assert float(expected_rating(0.0, model)) == pytest.approx(3.0)


def _metrics(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "stimulus_id": [f"s{i:03d}" for i in range(n)], "method": ["a", "b"] * (n // 2),
        "item_id": [f"i{i // 2}" for i in range(n)], "target_change": rng.normal(1, 0.5, n),
        "transfer_error": rng.normal(1, 0.3, n), "identity_drift": rng.uniform(0, 0.3, n),
        "realism": rng.uniform(0, 1, n), "outside_share": rng.uniform(0, 1, n), "pixel_change": rng.uniform(0, 0.2, n),
    })  # fmt: skip


def test_metrics_drive_each_question_in_the_documented_direction():
    metrics = _metrics()
    table = means_from_metrics(metrics, ["expression", "identity", "artifacts"])
    corr = lambda q, col: np.corrcoef(table[f"mu_{q}"], metrics[col])[0, 1]  # noqa: E731
    assert corr("expression", "target_change") > 0.7
    assert corr("expression", "transfer_error") < 0
    assert corr("identity", "identity_drift") < -0.99
    assert corr("artifacts", "realism") > 0.7
    assert corr("artifacts", "outside_share") < 0
    assert abs(table["mu_identity"].mean()) < 1e-9  # standardised: centred on the scale's middle


def test_without_analyzer_metrics_the_pixel_change_is_used():
    metrics = _metrics()[["stimulus_id", "method", "item_id", "pixel_change"]]
    table = means_from_metrics(metrics, ["expression", "identity"])
    assert np.corrcoef(table["mu_expression"], metrics["pixel_change"])[0, 1] > 0.99
    assert np.corrcoef(table["mu_identity"], metrics["pixel_change"])[0, 1] < -0.99


def test_bad_tables_give_one_line_errors():
    metrics = _metrics()
    with pytest.raises(ValueError, match="missing column 'item_id'"):
        means_from_metrics(metrics.drop(columns="item_id"), ["expression"])
    with pytest.raises(ValueError, match="no metric for question 'identity'"):
        means_from_metrics(metrics[["stimulus_id", "method", "item_id", "realism"]], ["identity"])
    with pytest.raises(ValueError, match="no true effects for method 'b'"):
        means_from_effects(metrics, {"a": {"expression": 1.0}})
    with pytest.raises(ValueError, match="points must be 2..9"):
        RaterModel(points=1)


def test_participants_have_a_bias_and_inattentive_ones_answer_at_random():
    table = means_from_effects(_metrics(), {"a": {"q": 1.0}, "b": {"q": -1.0}})
    model = RaterModel(bias_sd=0.0, noise_sd=0.0)
    p = SimulatedParticipant(model, table, np.random.default_rng(0))
    assert p.rate("s000") == {"q": 4} and p.rate("s001") == {"q": 2}
    lenient = SimulatedParticipant(model, table, np.random.default_rng(0), bias={"q": 1.0})
    assert lenient.rate("s001") == {"q": 3}
    careless = SimulatedParticipant(model, table, np.random.default_rng(0), attentive=False)
    assert len({careless.rate("s000")["q"] for _ in range(50)}) >= 4
    with pytest.raises(KeyError, match="not in the rater model"):
        p.rate("nope")


def test_simulated_ratings_have_the_export_schema_and_are_marked():
    table = means_from_effects(_metrics(8), {"a": {"expression": 1.0, "identity": 0.0}, "b": {"expression": -1.0, "identity": 0.0}})
    ratings = simulate_ratings(table, RaterModel(), 5, seed=3)
    assert len(ratings) == 5 * 8 * 2
    assert ratings["simulated"].all() and ratings["rating"].between(1, 5).all()
    means = ratings.groupby(["question", "method"])["rating"].mean()
    assert means[("expression", "a")] > means[("expression", "b")] + 1
