"""The participant flow over HTTP: pages in order, answers stored, resume, recruitment ids."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from study_server.app import create_app
from study_server.models import Answer, Participant, Trial
from tests.study_server.helpers import Walker, make_study

QS = ("expression", "identity", "artifacts")


def counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        return s.scalar(select(func.count()).select_from(Participant)), s.scalar(select(func.count()).select_from(Answer))


def test_whole_session_in_order(app, client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client, "?PROLIFIC_PID=p1&STUDY_ID=s1&SESSION_ID=x1")
    w.start()
    seq, expected, html = w.current()
    assert seq == 0 and expected is None and "Practice" in html
    assert "Source face" in html and "Target expression" in html and "Edited image" in html
    for q in QS:
        assert f'name="q_{q}" value="5"' in html
    assert "Completely" in html and "No artifacts" in html  # labelled anchors
    assert html.count('rel="preload" as="image"') == 3  # the next trial's three images
    w.finish()
    done = w.get("/done").get_data(as_text=True)
    assert "DONE123" in done
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        p = s.scalar(select(Participant))
        assert (p.platform, p.external_pid, p.external_study_id, p.external_session_id) == ("prolific", "p1", "s1", "x1")
        assert p.completed_at is not None and p.stage == "done" and p.age == 30 and p.gender == "female"
        assert p.seed > 0
        n_trials = s.scalar(select(func.count()).select_from(Trial))
    assert counts(app) == (1, n_trials * 3)
    # a finished participant lands on the debrief again
    assert client.get("/").headers["Location"].endswith("/done")


def test_progress_bar_counts_main_trials(client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.start()
    seq, _, _ = w.current()
    w.answer(seq, dict.fromkeys(QS, 3))
    _, _, html = w.current()
    assert '<progress value="0" max="5">' in html and "1 / 5" in html
    assert "practice is over" in html


def test_reload_resumes_at_next_unanswered_trial(client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.start()
    first, _, _ = w.current()
    assert w.current()[0] == first  # reload shows the same trial
    w.answer(first, dict.fromkeys(QS, 2))
    assert w.current()[0] == first + 1
    assert client.get("/").headers["Location"].endswith("/trial")  # the study link resumes too
    assert client.get("/consent").headers["Location"].endswith("/trial")
    assert client.get("/instructions").headers["Location"].endswith("/trial")


def test_identical_resubmission_returns_stored_answer(app, client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.start()
    seq, _, _ = w.current()
    ratings = dict.fromkeys(QS, 4)
    assert w.answer(seq, ratings).status_code == 303
    before = counts(app)
    again = w.answer(seq, ratings, headers={"Accept": "application/json"})
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "trial": seq, "ratings": ratings, "completed": False}
    assert counts(app) == before


def test_conflicting_resubmission_is_rejected(app, client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.start()
    seq, _, _ = w.current()
    w.answer(seq, dict.fromkeys(QS, 4))
    before = counts(app)
    r = w.answer(seq, {"expression": 1, "identity": 4, "artifacts": 4})
    assert r.status_code == 409
    assert "already answered" in r.get_data(as_text=True) and "cannot replace it" in r.get_data(as_text=True)
    assert counts(app) == before


def test_answers_survive_a_restart_and_the_session_resumes(study_dir: Path, tmp_path: Path) -> None:
    config = {"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / 'r.db'}"}
    app1 = create_app(config)
    client = app1.test_client()
    w = Walker(client)
    w.start()
    answered = []
    for _ in range(3):
        seq, expected, _ = w.current()
        w.answer(seq, dict.fromkeys(QS, expected or 3))
        answered.append(seq)
    app2 = create_app(config)  # a new process would see the same database and signing key
    client2 = app2.test_client()
    cookie = client.get_cookie("study_session")
    client2.set_cookie("study_session", cookie.value)
    w2 = Walker(client2)
    seq, _, _ = w2.current()
    assert seq == answered[-1] + 1
    assert counts(app2)[1] == 9


def test_one_prolific_id_cannot_start_twice(app) -> None:  # type: ignore[no-untyped-def]
    Walker(app.test_client(), "?PROLIFIC_PID=same").start()
    other = app.test_client()
    r = other.get("/?PROLIFIC_PID=same")
    assert r.status_code == 409 and "already started" in r.get_data(as_text=True)
    # ... nor by racing past the information page
    other.get("/?PROLIFIC_PID=fresh")
    w = Walker(other)
    w.get("/consent")
    with other.session_transaction() as s:
        s["recruit"] = {"PROLIFIC_PID": "same"}
    r = w.post("/consent", {"consent": "yes"})
    assert r.status_code == 409 and "already started" in r.get_data(as_text=True)
    assert counts(app)[0] == 1


def test_allow_repeat_lets_an_id_start_again(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", allow_repeat=True)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    Walker(app.test_client(), "?PROLIFIC_PID=same").start()
    Walker(app.test_client(), "?PROLIFIC_PID=same").start()
    assert counts(app)[0] == 2


def test_mturk_ids_and_preview(app) -> None:  # type: ignore[no-untyped-def]
    preview = app.test_client().get("/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=h1")
    assert preview.status_code == 200 and "preview" in preview.get_data(as_text=True)
    assert 'id="start"' not in preview.get_data(as_text=True)
    Walker(app.test_client(), "?workerId=W1&assignmentId=A1&hitId=H1").start()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        p = s.scalar(select(Participant))
    assert (p.platform, p.external_pid, p.external_session_id, p.external_study_id) == ("mturk", "W1", "A1", "H1")


def test_completion_redirect_link(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", completion_url="https://app.prolific.com/submissions/complete?cc={code}", demographics=False)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    w = Walker(app.test_client(), "?PROLIFIC_PID=abc")
    w.start(demographics=False)
    w.finish()
    html = w.get("/done").get_data(as_text=True)
    assert 'data-redirect="https://app.prolific.com/submissions/complete?cc=DONE123"' in html


def test_declining_consent_stores_nothing(app, client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.get("/")
    w.get("/consent")
    r = w.post("/consent", {"consent": "no"})
    assert r.status_code == 200 and "no data were recorded" in r.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_demographics_are_optional(app, client) -> None:  # type: ignore[no-untyped-def]
    w = Walker(client)
    w.get("/")
    w.get("/consent")
    w.post("/consent", {"consent": "yes"})
    w.get("/demographics")
    assert w.post("/demographics", {}).status_code == 303
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        p = s.scalar(select(Participant))
    assert p.age is None and p.gender is None and p.stage == "instructions"


def test_closed_study_takes_no_new_participants_but_lets_started_ones_finish(app) -> None:  # type: ignore[no-untyped-def]
    from study_server.db import write_session
    from study_server.models import StudyState

    started = Walker(app.test_client())
    started.start()
    rt = app.extensions["aufx_study"]
    with write_session(rt.db) as s:
        s.get(StudyState, "pilot").is_open = False
        s.commit()
    r = app.test_client().get("/")
    assert r.status_code == 403 and "closed" in r.get_data(as_text=True)
    late = Walker(app.test_client())
    late.client.get("/")
    late.get("/consent")
    assert late.post("/consent", {"consent": "yes"}).status_code == 403
    started.finish()
    assert counts(app)[0] == 1


def test_minimum_viewing_time_is_enforced_by_the_server(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", min_view_ms=60_000, demographics=False)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    w = Walker(app.test_client())
    w.start(demographics=False)
    seq, _, html = w.current()
    assert 'data-min-view="60000"' in html
    r = w.answer(seq, dict.fromkeys(QS, 3))
    assert r.status_code == 422 and "minimum viewing time of 60000 ms" in r.get_data(as_text=True)
    assert counts(app)[1] == 0


def test_within_design_session_rates_every_stimulus(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", n_items=2, design="within", attention_checks=[], practice_trials=0)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    w = Walker(app.test_client())
    w.start()
    w.finish()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        rated = sorted(s.scalars(select(Trial.stimulus_id)).all())
    assert rated == sorted(rt.study.stimuli) and counts(app)[1] == 8 * 3


def test_latin_square_lists_rotate_across_participants(app) -> None:  # type: ignore[no-untyped-def]
    for _ in range(8):
        Walker(app.test_client()).start()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        lists = sorted(s.scalars(select(Participant.list_index)).all())
    assert lists == [0, 0, 1, 1, 2, 2, 3, 3]
