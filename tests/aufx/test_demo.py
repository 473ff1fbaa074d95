"""`aufx demo`: model files resolved in one place with one-line errors, the demo spec, and (slow) the
whole quick demo on tiny random models — stimuli, SIMULATED study over HTTP, report, recovery check."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from aufx.cli import main
from aufx.demo import DEMO_SPEC, SIZES, STAGES, dump_toml, resolve_artefacts, write_demo_spec
from aufx.stimuli import load_spec
from tests.aufx.stimuli.tiny_study import make_tiny_model

#: The methods of the tiny demo (a subset of examples/demo.toml, so that CI stays quick).
TINY_METHODS = ("aufx-local-mux", "aufx-global-opt", "stargan", "ganimation")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


def tiny_template(folder: Path) -> Path:
    """examples/demo.toml with the tiny demo's methods and min_change 0 (the random analyzer sees no AU change)."""
    data = tomllib.loads(DEMO_SPEC.read_text())
    data["methods"] = [m for m in data["methods"]
                       if (f"aufx-{m['mode']}" if m["kind"] == "aufx" else m["kind"]) in TINY_METHODS]  # fmt: skip
    data["tasks"][0]["min_change"] = 0.0
    path = folder / "tiny_demo.toml"
    path.write_text(dump_toml(data))
    return path


def test_missing_model_files_are_named_with_the_command_that_makes_them(tiny, tmp_path, capsys):
    shutil.copy(tiny, tmp_path / "g.pt")  # a generator without its editor and regions beside it
    assert main(["demo", "--quick", "--out", str(tmp_path / "o"), "--model", str(tmp_path / "g.pt"),
                 "--baselines", str(tmp_path)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"global editor {tmp_path / 'g_editor.pt'} (make it with `aufx train editor --model {tmp_path / 'g.pt'}`)" in err
    assert f"region catalog {tmp_path / 'g_regions.json'} (make it with `aufx train regions" in err
    assert f"stargan weights {tmp_path / 'stargan.pt'} (make them with `aufx train stargan" in err
    assert "cascade-efgan weights" in err and "gan-local-editing" not in err  # GLE is fitted when not bundled
    assert not (tmp_path / "o" / "stimuli").exists()


def test_a_missing_generator_fails_with_one_line(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--model", str(tmp_path / "none.pt")]) == 2
    err = capsys.readouterr().err
    assert "none.pt" in err and "generator" in err and len(err.strip().splitlines()) == 1


def test_the_demo_spec_is_valid_and_sized(tiny, tmp_path):
    artefacts = resolve_artefacts(str(tiny), analyzer=str(tiny.parent / "analyzer.pt"), random_baselines=True)
    for quick, size in ((True, SIZES["quick"]), (False, SIZES["full"])):
        spec = load_spec(write_demo_spec(artefacts, tmp_path, quick))
        assert len(spec.sources.seeds) == size["items"] and spec.study["design"] == "within"
        assert {m.name for m in spec.methods} == {"aufx-local-mux", "aufx-local-opt", "aufx-global-opt", "aufx-global-linear",
                                                  "stargan", "ganimation", "cascade-efgan", "gan-local-editing"}  # fmt: skip
        assert dict(next(m for m in spec.methods if m.name == "aufx-global-opt").params)["steps"] == size["steps"]
        assert spec.model.editor == str(tiny.parent / "tiny_editor.pt")


def test_dump_toml_round_trips_the_example_spec():
    data = tomllib.loads(DEMO_SPEC.read_text())
    assert tomllib.loads(dump_toml(data)) == data


@pytest.mark.slow
def test_quick_demo_on_tiny_models_end_to_end(tiny, tmp_path, monkeypatch):
    from aufx.demo import closing_words, run_demo

    monkeypatch.setitem(SIZES, "quick", {**SIZES["quick"], "items": 3, "participants": 6})

    out = tmp_path / "out"
    ctx = run_demo(out, quick=True, model=str(tiny), spec_template=tiny_template(tmp_path),
                   artefact_options={"analyzer": str(tiny.parent / "analyzer.pt"), "random_baselines": True})  # fmt: skip
    summary = json.loads((out / "demo_summary.json").read_text())
    assert list(summary["seconds"])[:-1] == [name for name, _ in STAGES] and summary["SIMULATED"]
    ratings = pd.read_csv(out / "ratings_SIMULATED.csv")
    n, items = SIZES["quick"]["participants"], SIZES["quick"]["items"]
    main_rows = ratings[~ratings["attention_check"]]
    assert main_rows["participant_id"].nunique() == n
    assert len(main_rows) == n * items * len(TINY_METHODS) * 3
    assert ratings.groupby("participant_id")["excluded"].first().sum() <= 1  # the inattentive one, if caught
    report = (out / "report" / "report.html").read_text()
    assert "simulated data" in report and "Recovery check (SIMULATED raters)" in report
    assert summary["recovery_passed"] is True, ctx.state["recovery"].text()
    simulation = json.loads((out / "simulation.json").read_text())
    assert all(r is not None for r in simulation["reloaded_at_trial"])
    words = closing_words(ctx)
    assert f"aufx serve --study {out / 'stimuli'}" in words and "SIMULATED" in words
    assert not (out / "stimuli" / "study.sqlite3").exists()  # the stimulus folder stays clean for real raters
