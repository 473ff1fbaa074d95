"""Loading and validation: every bad input gives an error naming column, row and value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.load import RatingsError, Scale, choose_reference, load_ratings


def test_valid_export_loads_and_summarises(study):
    data, summary = load_ratings(study)
    assert summary.n_participants_read == 25
    assert summary.n_participants_kept == 23
    assert summary.dropped == {
        "participants flagged excluded": 146,
        "attention-check trials": 48,
        "participants who failed an attention check": 144,
    }
    assert summary.n_rows_kept == 23 * 12 * 4 * 3 == len(data)
    assert summary.simulated is True
    assert not data["participant_id"].isin(summary.excluded_participants).any()
    assert "attention-check" not in set(data["method"])
    assert data["rating"].dtype == np.int64
    assert "were analysed on a 1-5 scale" in summary.text()
    frame = summary.as_frame()
    assert frame["rows"].iloc[-1] == len(data)


def test_reads_csv_and_parquet(tmp_path, small):
    small.to_csv(tmp_path / "r.csv", index=False)
    small.to_parquet(tmp_path / "r.parquet", index=False)
    a, _ = load_ratings(tmp_path / "r.csv")
    b, _ = load_ratings(tmp_path / "r.parquet")
    assert len(a) == len(b) == len(small)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_ratings("/nonexistent/ratings.csv")


def test_missing_column_is_named(small):
    with pytest.raises(RatingsError, match=r"missing column\(s\) 'question'"):
        load_ratings(small.drop(columns="question"))


def test_lenient_needs_only_core_columns(small):
    data, _ = load_ratings(small.drop(columns=["rt_ms", "created_at", "study_id", "trial_index"]),
                           strict=False)
    assert len(data) == len(small)


def test_non_numeric_rating_names_row_and_value(small):
    bad = small.astype({"rating": object})
    bad.loc[7, "rating"] = "good"
    with pytest.raises(RatingsError, match=r"column 'rating': row 8 has value 'good'"):
        load_ratings(bad)


def test_rating_outside_scale(small):
    bad = small.copy()
    bad.loc[3, "rating"] = 6
    with pytest.raises(RatingsError, match=r"row 4 has value 6, expected an integer from 1 to 5"):
        load_ratings(bad)
    # the same value is fine on a 1-7 scale
    data, summary = load_ratings(bad, scale="1-7")
    assert summary.scale == Scale(1, 7)


def test_fractional_rating_rejected(small):
    bad = small.astype({"rating": float})
    bad.loc[0, "rating"] = 2.5
    with pytest.raises(RatingsError, match="row 1 has value 2.5"):
        load_ratings(bad)


def test_blank_identifier(small):
    bad = small.copy()
    bad.loc[5, "participant_id"] = " "
    with pytest.raises(RatingsError, match=r"column 'participant_id': row 6"):
        load_ratings(bad)


def test_bad_flag_value(small):
    bad = small.astype({"excluded": object})
    bad.loc[2, "excluded"] = "maybe"
    with pytest.raises(RatingsError, match=r"column 'excluded': row 3 has value 'maybe'"):
        load_ratings(bad)


def test_one_participant_only(small):
    one = small[small["participant_id"] == small["participant_id"].iloc[0]]
    with pytest.raises(RatingsError, match="only 1 participant"):
        load_ratings(one)


def test_all_but_one_participant_excluded(small):
    flagged = small.copy()
    keep = flagged["participant_id"].iloc[0]
    flagged["excluded"] = flagged["participant_id"] != keep
    with pytest.raises(RatingsError, match="only 1 participant left after exclusions"):
        load_ratings(flagged)


def test_method_without_ratings_for_a_question_warns(small):
    # the analysis keeps going: the comparisons that need the method become rows with a note
    bad = small[~((small["method"] == "stargan") & (small["question"] == "identity"))]
    with pytest.warns(UserWarning, match=r"question 'identity' has no ratings for method\(s\) 'stargan'"):
        frame, summary = load_ratings(bad)
    assert "stargan" in summary.methods and "stargan" in frame["method"].cat.categories


def test_single_method(small):
    with pytest.raises(RatingsError, match="only one method"):
        load_ratings(small[small["method"] == "aufx"])


def test_empty_table(small):
    with pytest.raises(RatingsError, match="no rows"):
        load_ratings(small.iloc[:0])


def test_repeated_answers_warn_and_keep_first(small):
    doubled = pd.concat([small, small.iloc[:5]], ignore_index=True)
    with pytest.warns(UserWarning, match="5 repeated answers"):
        data, summary = load_ratings(doubled)
    assert summary.dropped["repeated answers (first kept)"] == 5
    assert len(data) == len(small)


def test_attention_checks_without_expected_are_only_dropped(study):
    data, summary = load_ratings(study.drop(columns="expected"))
    assert summary.n_participants_kept == 24  # the failing participant cannot be detected
    assert "attention-check trials" in summary.dropped


def test_flags_as_text(small):
    text = small.copy()
    text["excluded"] = np.where(text["participant_id"] == "P0000", "yes", "no")
    text["simulated"] = "false"
    data, summary = load_ratings(text)
    assert summary.excluded_participants == ["P0000"]
    assert summary.simulated is False
    _, forced = load_ratings(text, simulated=True)
    assert forced.simulated is True


def test_scale_parsing():
    assert Scale.parse("1-7") == Scale(1, 7)
    assert Scale.parse("0..10").points == list(range(11))
    with pytest.raises(RatingsError, match="scale must look like"):
        Scale.parse("five")
    with pytest.raises(RatingsError, match="at least two points"):
        Scale.parse("3-3")


def test_choose_reference():
    assert choose_reference(["aufx", "stargan"]) == "aufx"
    assert choose_reference(["aufx-local", "stargan"]) == "aufx-local"
    assert choose_reference(["a", "b"], "b") == "b"
    with pytest.raises(RatingsError, match="pass --reference"):
        choose_reference(["aufx-a", "aufx-b", "c"])
    with pytest.raises(RatingsError, match="reference method 'x' not in the ratings"):
        choose_reference(["a", "b"], "x")


def test_no_warnings_on_clean_input(small):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_ratings(small)
