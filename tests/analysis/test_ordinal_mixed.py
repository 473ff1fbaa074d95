"""The report's ordinal table (cumulative-logit mixed model per question): its rows and columns,
and bad input that becomes rows with a note instead of an error."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.load import load_ratings
from analysis.ordinal_mixed import ordinal_mixed_model


@pytest.fixture(scope="module")
def data(study):
    frame, _ = load_ratings(study)
    return frame


@pytest.fixture(scope="module")
def artifacts(data):
    return ordinal_mixed_model(data, "aufx", "artifacts").set_index("term")


def test_rows_and_columns(artifacts):
    assert list(artifacts.index) == ["cascade-efgan", "ganimation", "stargan", "1|2", "2|3", "3|4",
                                     "4|5", "sd(participant)", "sd(item)", "logLik"]
    row = artifacts.loc["stargan"]
    assert row["coef"] < 0 and row["OR"] == pytest.approx(np.exp(row["coef"]), rel=1e-12)
    lo, hi = row["CI95%"]
    assert lo == pytest.approx(row["coef"] - 1.959963984540054 * row["se"], rel=1e-12)
    assert row["OR-CI95%"] == pytest.approx([np.exp(lo), np.exp(hi)], rel=1e-12)
    assert row["z"] == pytest.approx(row["coef"] / row["se"], rel=1e-12) and row["p-val"] < 1e-6
    assert (artifacts["question"] == "artifacts").all() and (artifacts["n_rows"] == 1104).all()
    assert artifacts["converged"].all() and (artifacts["max-grad"] < 1e-4).all()
    assert artifacts.loc["logLik", "coef"] < 0 and (artifacts["note"] == "").all()


def test_subsample_is_noted(data):
    table = ordinal_mixed_model(data, "aufx", "identity", max_rows=500)
    assert table["note"].str.contains("subsample of 480 of 1104 rows").all()


def test_one_rating_level_is_a_note(data):
    constant = data[data["question"] == "identity"].assign(rating=3)
    table = ordinal_mixed_model(constant, "aufx", "identity")
    assert len(table) == 1 and "only one rating level (3)" in table["note"].iloc[0]


def test_method_without_ratings_is_a_row(data):
    cut = data[(data["question"] == "identity") & (data["method"] != "stargan")]
    table = ordinal_mixed_model(cut, "aufx", "identity").set_index("term")
    assert table.loc["stargan", "note"] == "no ratings of this method in this question"
    assert np.isnan(table.loc["stargan", "coef"])
    assert np.isfinite(table.loc[["cascade-efgan", "ganimation"], "se"]).all()


def test_singular_design_drops_the_aliased_method(data):
    # without the reference, the three method dummies sum to one: aliased with the thresholds
    cut = data[(data["question"] == "identity") & (data["method"] != "aufx")]
    table = ordinal_mixed_model(cut, "aufx", "identity").set_index("term")
    assert "reference method has no ratings" in table.loc["aufx", "note"]
    assert table.loc["stargan", "note"].startswith("not estimable: aliased")
    assert np.isfinite(table.loc[["cascade-efgan", "ganimation"], "coef"]).all()


def test_single_item_drops_its_random_intercept(data):
    one = data[(data["question"] == "identity") & (data["item_id"] == "item000")]
    table = ordinal_mixed_model(one, "aufx", "identity").set_index("term")
    assert "sd(item)" not in table.index and "sd(participant)" in table.index
    assert table["note"].str.contains("one item only").all()
