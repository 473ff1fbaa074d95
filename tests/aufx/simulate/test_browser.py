"""SIMULATED participants take a real study server over HTTP; the export holds exactly their answers."""

import collections
import csv

import numpy as np
import pandas as pd
import pytest

from aufx.simulate.browser import BrowserError, SimulatedBrowser, StimulusIndex, pixel_key
from aufx.simulate.raters import RaterModel, SimulatedParticipant, means_from_effects
from aufx.simulate.study import run_simulated_study, serve_study
from tests.study_server.helpers import METHODS, make_study


def _table(folder):
    with (folder / "manifest.csv").open() as handle:
        stimuli = pd.DataFrame(list(csv.DictReader(handle)))
    effects = {m: {"expression": 1.0 - i, "identity": 0.0, "artifacts": 0.5} for i, m in enumerate(METHODS)}
    return means_from_effects(stimuli, effects)


def test_pixels_identify_a_stimulus_whatever_its_png_encoding(tmp_path):
    folder = make_study(tmp_path / "study", n_items=2, size=32)
    index = StimulusIndex(folder)
    from PIL import Image

    path = folder / "images" / "stargan__item01.png"
    Image.open(path).save(tmp_path / "plain.png", compress_level=1)  # no metadata, other encoding
    assert pixel_key((tmp_path / "plain.png").read_bytes()) == pixel_key(path.read_bytes())
    assert index.identify((tmp_path / "plain.png").read_bytes()) == "stargan__item01"
    with pytest.raises(BrowserError, match="matches no stimulus"):
        Image.new("RGB", (32, 32), (1, 2, 3)).save(tmp_path / "other.png")
        index.identify((tmp_path / "other.png").read_bytes())


def test_simulated_participants_complete_the_study_and_the_export_holds_their_answers(tmp_path):
    folder = make_study(tmp_path / "study", n_items=4, size=16, design="within", attention_checks=[3, 9],
                        demographics=True)  # fmt: skip
    table = _table(folder)
    study = run_simulated_study(folder, table, RaterModel(), 5, f"sqlite:///{tmp_path / 'sim.sqlite3'}",
                                seed=1, n_inattentive=1, concurrency=2)  # fmt: skip
    assert not (folder / "study.sqlite3").exists()  # the simulation has its own database
    assert len(study.logs) == 5 and all(log.completion_code == "DONE123" for log in study.logs)
    assert all(log.reloaded_at is not None for log in study.logs)
    ratings = study.ratings()
    main = ratings[~ratings["attention_check"]]
    assert main["participant_id"].nunique() == 5 and len(main) == 5 * 16 * 3
    logged = collections.Counter(
        (a["stimulus_id"], q, a[q]) for log in study.logs for a in log.answers if not a["check"] and a["seq"] >= 1
        for q in ("expression", "identity", "artifacts"))  # fmt: skip
    exported = collections.Counter(zip(main["stimulus_id"], main["question"], main["rating"], strict=True))
    assert logged == exported  # pixels identified the server's stimulus on every trial
    checks = ratings[ratings["attention_check"]]
    per_participant = checks.groupby("participant_id")["excluded"].first()
    assert per_participant.sum() <= 1 and len(per_participant) == 5
    by_method = main[main["question"] == "expression"].groupby("method")["rating"].mean()
    assert by_method["aufx"] > by_method["ganimation"] > by_method["cascade-efgan"]


def test_a_closed_study_stops_the_browser_with_a_clear_error(tmp_path):
    folder = make_study(tmp_path / "study", n_items=2, size=16, open=False)
    rater = SimulatedParticipant(RaterModel(), _table(folder), np.random.default_rng(0))
    with serve_study(folder, f"sqlite:///{tmp_path / 'sim.sqlite3'}") as server:
        with pytest.raises(BrowserError, match="HTTP 403|no Start link"):
            SimulatedBrowser(server.url, rater, StimulusIndex(folder), np.random.default_rng(0)).run()
