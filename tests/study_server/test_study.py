"""Reading and validating the study folder and its study.toml."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from study_server.study import DEFAULT_QUESTIONS, StudyError, load_study
from tests.study_server.helpers import make_study


def test_defaults_are_the_papers_three_questions(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s")
    (folder / "study.toml").unlink()
    study = load_study(folder)
    assert study.question_ids == ["expression", "identity", "artifacts"]
    assert study.questions == DEFAULT_QUESTIONS
    assert study.scale_points == 5 and study.design == "latin-square"
    assert study.methods == sorted(["aufx", "stargan", "ganimation", "cascade-efgan"])
    assert len(study.items) == 4 and len(study.stimuli) == 16
    assert study.consent_text.startswith("Consent paragraph one")


def test_custom_questions_and_seven_point_scale(tmp_path: Path) -> None:
    extra = '[scale]\npoints = 7\n[[questions]]\nid = "realism"\ntext = "How real?"\nanchors = ["a","b","c","d","e","f","g"]\n'
    study = load_study(make_study(tmp_path / "s", extra_toml=extra))
    assert study.scale_points == 7 and study.question_ids == ["realism"]
    assert study.questions[0].anchors[6] == "g"


def _rewrite_manifest(folder: Path, **changes: str) -> None:
    path = folder / "manifest.csv"
    rows = list(csv.DictReader(path.open()))
    rows[0].update(changes)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "../outside.png"}, "leaves the study folder"),
        ({"path": "/etc/passwd"}, "must be relative"),
        ({"path": "images/missing.png"}, "does not exist"),
        ({"path": "manifest.csv"}, "not a .png"),
        ({"sha256": "0" * 64}, "sha256"),
        ({"stimulus_id": "bad id!"}, "stimulus_id must match"),
        ({"method": ""}, "method must match"),
        ({"stimulus_id": "aufx__item01"}, "duplicate stimulus_id"),
        ({"source_id": "nosuchsource"}, "images/nosuchsource.png"),
    ],
)
def test_bad_manifest_rows_are_named(tmp_path: Path, change: dict[str, str], message: str) -> None:
    folder = make_study(tmp_path / "s")
    (tmp_path / "outside.png").write_bytes((folder / "images" / "aufx__item00.png").read_bytes())
    _rewrite_manifest(folder, **change)
    with pytest.raises(StudyError, match=message) as info:
        load_study(folder)
    assert "manifest.csv:2" in str(info.value) or "duplicate" in str(info.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"design": "between"}, "'design' must be one of"),
        ({"attention_checks": [0]}, "attention_checks"),
        ({"attention_checks": [99]}, "beyond the last trial"),
        ({"practice_trials": -1}, "practice_trials"),
        ({"completion_url": "javascript:alert(1)"}, "completion_url"),
        ({"completion_code": "a b"}, "completion_code"),
        ({"id": "../x"}, "'id' must match"),
        ({"min_view_ms": "fast"}, "min_view_ms"),
        ({"consent_file": "../secret.txt"}, "consent_file"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, config: dict[str, object], message: str) -> None:
    with pytest.raises(StudyError, match=message):
        load_study(make_study(tmp_path / "s", **config))


def test_latin_square_needs_every_method_for_every_item(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s")
    path = folder / "manifest.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # drop one item x method cell
    with pytest.raises(StudyError, match="needs every method for every item"):
        load_study(folder)
    (folder / "study.toml").write_text('design = "within"\n')
    assert len(load_study(folder).stimuli) == 15


def test_missing_folder_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="does not exist"):
        load_study(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudyError, match="no manifest.csv"):
        load_study(tmp_path / "empty")


def test_invalid_toml(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s")
    (folder / "study.toml").write_text("title = \n")
    with pytest.raises(StudyError, match="not valid TOML"):
        load_study(folder)
