"""Returning participants: the same platform participant and session resume in any browser;
another session is refused; the private link resumes too."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from study_server import clock
from study_server.app import create_app
from study_server.models import Answer, Participant
from tests.study_server.helpers import Walker, make_study

QS = ("expression", "identity", "artifacts")
LINK_RE = re.compile(r'id="resume-link">(http://localhost/resume/[^<]+)</a>')


def counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with app.extensions["aufx_study"].db() as s:
        return (s.scalar(select(func.count()).select_from(Participant)),
                s.scalar(select(func.count()).select_from(Answer)))  # fmt: skip


def answer_some(w: Walker, n: int) -> int:
    """Answer ``n`` trials; the seq of the next one."""
    for _ in range(n):
        seq, expected, _ = w.current()
        assert w.answer(seq, dict.fromkeys(QS, expected or 3)).status_code == 303
    return w.current()[0]


@pytest.mark.parametrize(
    ("first", "again"),
    [("?PROLIFIC_PID=pp1&STUDY_ID=st&SESSION_ID=se1", "?SESSION_ID=se1&PROLIFIC_PID=pp1&STUDY_ID=st"),
     ("?workerId=W9&assignmentId=A9&hitId=H9", "?workerId=W9&assignmentId=A9&hitId=H9")],
)  # fmt: skip
def test_same_participant_and_session_resume_in_another_browser(app, first: str, again: str) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client(), first)
    w.start()
    next_seq = answer_some(w, 2)
    other = Walker(app.test_client())  # another browser: no cookie
    r = other.get("/" + again)
    assert r.status_code == 303 and r.headers["Location"].endswith("/trial")
    assert other.current()[0] == next_seq
    other.finish()
    assert counts(app) == (1, 6 * 3)
    assert w.client.get("/trial").headers["Location"].endswith("/done")  # the first browser sees it finished


@pytest.mark.parametrize(
    "again", ["?PROLIFIC_PID=pp1&SESSION_ID=other", "?PROLIFIC_PID=pp1", "?PROLIFIC_PID=pp1&SESSION_ID="]
)
def test_same_participant_in_another_session_is_refused(app, again: str) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client(), "?PROLIFIC_PID=pp1&SESSION_ID=se1")
    w.start()
    answer_some(w, 1)
    r = app.test_client().get("/" + again)
    if again.endswith("SESSION_ID="):
        assert r.status_code == 400 and "SESSION_ID" in r.get_data(as_text=True)
    else:
        assert r.status_code == 409 and "already started the study in another session" in r.get_data(as_text=True)
    assert counts(app) == (1, 3)


def test_a_session_without_platform_session_id_cannot_be_resumed_by_the_id_alone(app) -> None:  # type: ignore[no-untyped-def]
    Walker(app.test_client(), "?PROLIFIC_PID=nosession").start()
    assert app.test_client().get("/?PROLIFIC_PID=nosession").status_code == 409


def test_stage_before_the_trials_is_resumed_too(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client(), "?PROLIFIC_PID=early&SESSION_ID=e1")
    w.get("/" + w.query)
    w.get("/consent")
    w.post("/consent", {"consent": "yes"})
    r = app.test_client().get("/?PROLIFIC_PID=early&SESSION_ID=e1")
    assert r.status_code == 303 and r.headers["Location"].endswith("/demographics")


def test_private_link_shown_at_the_start_resumes_in_any_browser(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())  # no platform ids at all
    w.get("/")
    w.get("/consent")
    w.post("/consent", {"consent": "yes"})
    demographics = w.get("/demographics").get_data(as_text=True)
    link = LINK_RE.search(demographics).group(1)
    w.post("/demographics", {})
    assert LINK_RE.search(w.get("/instructions").get_data(as_text=True)).group(1) == link  # the same link again
    w.post("/instructions")
    next_seq = answer_some(w, 3)
    other = Walker(app.test_client())
    r = other.get(link.removeprefix("http://localhost"))
    assert r.status_code == 303 and r.headers["Location"].endswith("/trial")
    assert other.current()[0] == next_seq
    assert counts(app) == (1, 9)


def test_bad_or_foreign_resume_links_are_refused(app) -> None:  # type: ignore[no-untyped-def]
    first = Walker(app.test_client())
    first.start()
    link = LINK_RE.search(first.pages[-2][1].get_data(as_text=True)).group(1).removeprefix("http://localhost")
    token = link.rsplit("/", 1)[1]
    for bad in (token[:-2], token + "x", "x" * 300, "abc.def"):
        r = app.test_client().get(f"/resume/{bad}")
        assert r.status_code == 404 and "resume link is not valid" in r.get_data(as_text=True)
    second = Walker(app.test_client())
    second.start()
    r = second.client.get(link)  # a browser taking part as someone else
    assert r.status_code == 409 and "under another participant id" in r.get_data(as_text=True)
    assert first.client.get(link).headers["Location"].endswith("/trial")  # its own link: harmless


def test_resume_links_do_not_cross_studies(study_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    one = create_app({"study_dir": str(study_dir), "database_url": url})
    w = Walker(one.test_client())
    w.start()
    link = LINK_RE.search(w.pages[-2][1].get_data(as_text=True)).group(1).removeprefix("http://localhost")
    other_study = make_study(tmp_path / "other", id="other-study")
    two = create_app({"study_dir": str(other_study), "database_url": url})  # same database, same key
    assert two.test_client().get(link).status_code == 404


def test_allow_repeat_resumes_the_same_session_and_starts_a_new_one(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", allow_repeat=True)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    w = Walker(app.test_client(), "?PROLIFIC_PID=rep&SESSION_ID=one")
    w.start()
    answer_some(w, 1)
    assert app.test_client().get("/?PROLIFIC_PID=rep&SESSION_ID=one").headers["Location"].endswith("/trial")
    assert counts(app) == (1, 3)
    Walker(app.test_client(), "?PROLIFIC_PID=rep&SESSION_ID=two").start()
    assert counts(app) == (2, 3)


def test_resuming_lifts_the_abandoned_mark(tmp_path: Path) -> None:
    now = [datetime(2026, 2, 1, 12, 0)]
    folder = make_study(tmp_path / "s", abandon_after_minutes=30)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    with clock.simulated(lambda: now[0]):
        Walker(app.test_client(), "?PROLIFIC_PID=slow&SESSION_ID=s1").start()
        now[0] += timedelta(minutes=40)
        Walker(app.test_client(), "?PROLIFIC_PID=other").start()  # marks "slow" abandoned, takes its list
        rt = app.extensions["aufx_study"]
        with rt.db() as s:
            marked = s.scalar(select(Participant.abandoned_at).where(Participant.external_pid == "slow"))
        assert marked == now[0]
        now[0] += timedelta(minutes=5)
        back = app.test_client()
        assert back.get("/?PROLIFIC_PID=slow&SESSION_ID=s1").headers["Location"].endswith("/trial")
        with rt.db() as s:
            row = s.scalar(select(Participant).where(Participant.external_pid == "slow"))
        assert row.abandoned_at is None and row.active_at == now[0]
