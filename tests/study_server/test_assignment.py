"""Abandoned sessions free their counterbalancing list for the next participant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from study_server import clock
from study_server.app import create_app
from study_server.assignment import ListCount, choose_list
from study_server.models import Participant
from study_server.study import StudyError, load_study
from tests.study_server.conftest import ADMIN_PASSWORD
from tests.study_server.helpers import KINDS, Walker, database_url, make_study

QS = ("expression", "identity", "artifacts")


class Clock:
    """Simulated server time that tests move forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0)

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def sim_clock() -> Iterator[Clock]:
    c = Clock()
    with clock.simulated(lambda: c.now):
        yield c


def make_app(tmp_path: Path, url: str = "", **config: object):  # type: ignore[no-untyped-def]
    folder = make_study(tmp_path / "s", demographics=False, **config)
    return create_app({"study_dir": str(folder), "database_url": url or f"sqlite:///{tmp_path / 'a.db'}",
                       "admin_password": ADMIN_PASSWORD})  # fmt: skip


def states(app) -> dict[str, tuple[int, bool]]:  # type: ignore[no-untyped-def]
    """external id -> (list, marked abandoned)."""
    with app.extensions["aufx_study"].db() as s:
        rows = s.execute(select(Participant.external_pid, Participant.list_index, Participant.abandoned_at)).all()
    return {pid: (k, at is not None) for pid, k, at in rows}


@pytest.mark.parametrize("kind", KINDS)
def test_an_idle_session_gives_its_list_to_the_next_participant(
    kind: str, tmp_path: Path, sim_clock: Clock, request: pytest.FixtureRequest
) -> None:
    app = make_app(tmp_path, database_url(kind, tmp_path, request), abandon_after_minutes=30)
    walkers = {}
    for i in range(4):
        walkers[i] = Walker(app.test_client(), f"?PROLIFIC_PID=p{i}")
        walkers[i].start(demographics=False)
    assert {pid: k for pid, (k, _) in states(app).items()} == {"p0": 0, "p1": 1, "p2": 2, "p3": 3}
    sim_clock.advance(20)
    for i in (0, 2, 3):  # everyone but p1 answers a trial
        seq, _, _ = walkers[i].current()
        walkers[i].answer(seq, dict.fromkeys(QS, 3))
    sim_clock.advance(15)  # p1 idle 35 min, the others 15
    Walker(app.test_client(), "?PROLIFIC_PID=p4").start(demographics=False)
    found = states(app)
    assert found["p4"] == (1, False) and found["p1"] == (1, True)
    assert not any(marked for pid, (_, marked) in found.items() if pid != "p1")
    Walker(app.test_client(), "?PROLIFIC_PID=p5").start(demographics=False)
    assert states(app)["p5"][0] == 0  # all four lists taken once again: back to the lowest


def test_without_a_timeout_nothing_is_abandoned(tmp_path: Path, sim_clock: Clock) -> None:
    app = make_app(tmp_path, abandon_after_minutes=0)
    for i in range(4):
        Walker(app.test_client(), f"?PROLIFIC_PID=p{i}").start(demographics=False)
    sim_clock.advance(60 * 24 * 30)
    Walker(app.test_client(), "?PROLIFIC_PID=late").start(demographics=False)
    assert states(app)["late"] == (0, False)
    assert not any(marked for _, marked in states(app).values())


def test_an_abandoned_participant_who_comes_back_counts_again(tmp_path: Path, sim_clock: Clock) -> None:
    app = make_app(tmp_path, abandon_after_minutes=30)
    gone = Walker(app.test_client(), "?PROLIFIC_PID=gone")
    gone.start(demographics=False)
    sim_clock.advance(45)
    Walker(app.test_client(), "?PROLIFIC_PID=next").start(demographics=False)
    assert states(app)["gone"] == (0, True) and states(app)["next"] == (0, False)
    sim_clock.advance(1)
    seq, _, _ = gone.current()  # the old tab is still open: the answer is taken
    assert gone.answer(seq, dict.fromkeys(QS, 4)).status_code == 303
    Walker(app.test_client(), "?PROLIFIC_PID=third").start(demographics=False)
    assert states(app)["gone"] == (0, False)  # unmarked: list 0 is taken twice now
    assert states(app)["third"] == (1, False)
    gone.finish()
    sim_clock.advance(600)
    Walker(app.test_client(), "?PROLIFIC_PID=fourth").start(demographics=False)
    assert states(app)["gone"] == (0, False)  # a completed session is never abandoned


def test_admin_sees_assignments_per_list(tmp_path: Path, sim_clock: Clock) -> None:
    app = make_app(tmp_path, abandon_after_minutes=30)
    done = Walker(app.test_client(), "?PROLIFIC_PID=done")
    done.start(demographics=False)
    done.finish()
    Walker(app.test_client(), "?PROLIFIC_PID=idle").start(demographics=False)
    sim_clock.advance(31)
    Walker(app.test_client(), "?PROLIFIC_PID=busy").start(demographics=False)  # marks "idle", takes list 1
    a = Walker(app.test_client())
    a.get("/admin/login")
    a.post("/admin/login", {"password": ADMIN_PASSWORD})
    html = a.get("/admin/").get_data(as_text=True)
    assert "Assignments per list" in html and 'id="lists-body"' in html
    lists = a.client.get("/api/progress").get_json()["lists"]
    assert lists == [
        {"list": 0, "completed": 1, "in_progress": 0, "abandoned": 0, "taken": 1},
        {"list": 1, "completed": 0, "in_progress": 1, "abandoned": 1, "taken": 1},
        {"list": 2, "completed": 0, "in_progress": 0, "abandoned": 0, "taken": 0},
        {"list": 3, "completed": 0, "in_progress": 0, "abandoned": 0, "taken": 0},
    ]
    assert '<td>1</td><td>0</td><td>1</td><td>1</td><td>1</td>' in html.replace("\n", "")


def test_choose_list_prefers_fewest_taken_then_fewest_completed(tmp_path: Path) -> None:
    study = load_study(make_study(tmp_path / "s"))
    counts = [ListCount(0, 3, 2, 0), ListCount(1, 5, 0, 4), ListCount(2, 2, 3, 1), ListCount(3, 5, 1, 0)]
    assert choose_list(study, counts) == 2  # 5, 5, 5, 6 taken; of the fives, list 2 has the fewest completed
    assert choose_list(study, counts[:2]) == 2  # a list nobody has taken yet comes first
    assert choose_list(study, [*counts, ListCount(7, 0, 0, 0)]) == 2  # a list the design no longer has is ignored


@pytest.mark.parametrize("value", [-1, 10081, "an hour", True])
def test_abandon_after_minutes_is_checked(tmp_path: Path, value: object) -> None:
    folder = make_study(tmp_path / "s", abandon_after_minutes=value)
    with pytest.raises(StudyError, match="abandon_after_minutes"):
        load_study(folder)


def test_an_open_page_is_not_abandoned(tmp_path: Path, sim_clock: Clock) -> None:
    app = make_app(tmp_path, abandon_after_minutes=10)
    present, gone = Walker(app.test_client(), "?PROLIFIC_PID=present"), Walker(app.test_client(), "?PROLIFIC_PID=gone")
    present.start(demographics=False)
    gone.start(demographics=False)
    rt = app.extensions["aufx_study"]
    writes = []
    for _ in range(40):  # 40 minutes on one trial page, pinging once a minute (twice in this minute)
        sim_clock.advance(1)
        assert present.client.get("/alive").status_code == 204
        present.client.get("/alive")
        with rt.db() as s:
            writes.append(s.scalar(select(Participant.active_at).where(Participant.external_pid == "present")))
    assert writes == [writes[0] + timedelta(minutes=i) for i in range(40)]  # one write a minute, not two
    Walker(app.test_client(), "?PROLIFIC_PID=third").start(demographics=False)
    found = states(app)
    assert found["present"] == (0, False) and found["gone"] == (1, True) and found["third"] == (1, False)
    assert app.test_client().get("/alive").status_code == 204  # a browser without a session: nothing to do


def test_a_completed_participant_is_not_touched_by_pings(tmp_path: Path, sim_clock: Clock) -> None:
    app = make_app(tmp_path)
    w = Walker(app.test_client())
    w.start(demographics=False)
    w.finish()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        before = s.scalar(select(Participant.active_at))
    sim_clock.advance(5)
    assert w.client.get("/alive").status_code == 204
    with rt.db() as s:
        assert s.scalar(select(Participant.active_at)) == before
