"""The answer hot path (study_server.answers) on SQLite and PostgreSQL, without Flask.

Claim, idempotent repeat, conflict, order, ownership, minimum viewing time (rolled back), the
last trial, and durability of acknowledged answers when the process is killed with SIGKILL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from study_server.answers import submit_answer
from study_server.app import create_app
from study_server.errors import RequestRejected
from study_server.flow import advance, start_participant
from study_server.models import Answer, Participant, Trial
from tests.study_server.helpers import KINDS, database_url, make_study

QS = ("expression", "identity", "artifacts")


def ratings(value: int) -> dict[str, int]:
    return dict.fromkeys(QS, value)


def runtime_of(kind: str, tmp_path: Path, request: pytest.FixtureRequest, **config: object):  # type: ignore[no-untyped-def]
    folder = make_study(tmp_path / "study", demographics=False, **config)
    app = create_app({"study_dir": str(folder), "database_url": database_url(kind, tmp_path, request)})
    return app.extensions["aufx_study"]


def at_trials(rt) -> str:  # type: ignore[no-untyped-def]
    """A new participant at their first trial; their public id."""
    participant = start_participant(rt.db, rt.study, {})
    advance(rt.db, participant, "instructions")
    return participant.public_id


def stored(rt, public_id: str) -> dict[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    with rt.db() as s:
        rows = s.execute(
            select(Trial.seq, Answer.question, Answer.rating)
            .join(Answer, Answer.trial_id == Trial.id)
            .join(Participant, Participant.id == Trial.participant_id)
            .where(Participant.public_id == public_id)
        ).all()
    result: dict[int, dict[str, int]] = {}
    for seq, question, rating in rows:
        result.setdefault(seq, {})[question] = rating
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_claim_repeat_conflict_and_last_trial(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rt = runtime_of(kind, tmp_path, request)
    pid = at_trials(rt)
    first = submit_answer(rt.db, rt.study, pid, 0, ratings(2), 1200)
    assert (first.duplicate, first.completed, first.ratings) == (False, False, ratings(2))
    again = submit_answer(rt.db, rt.study, pid, 0, ratings(2), 999)
    assert again.duplicate and again.ratings == ratings(2)
    with pytest.raises(RequestRejected) as conflict:
        submit_answer(rt.db, rt.study, pid, 0, {"expression": 2, "identity": 2, "artifacts": 5}, 1200)
    assert conflict.value.status == 409
    assert "already answered (expression=2, identity=2, artifacts=2)" in conflict.value.message
    assert "artifacts=5" in conflict.value.message
    n_trials = rt.study.practice_trials + rt.study.n_main_trials()
    outcomes = [submit_answer(rt.db, rt.study, pid, seq, ratings(3), None) for seq in range(1, n_trials)]
    assert [o.completed for o in outcomes] == [False] * (n_trials - 2) + [True]
    assert submit_answer(rt.db, rt.study, pid, n_trials - 1, ratings(3), None).completed  # repeat after the end
    answers = stored(rt, pid)
    assert answers[0] == ratings(2) and len(answers) == n_trials
    with rt.db() as s:
        participant = s.scalar(select(Participant).where(Participant.public_id == pid))
        assert participant.stage == "done" and participant.completed_at is not None
        rts = s.execute(select(Answer.rt_ms, Answer.server_rt_ms).join(Trial).where(Trial.seq == 0)).all()
    assert {r for r, _ in rts} == {1200} and all(s_rt is not None and s_rt >= 0 for _, s_rt in rts)


@pytest.mark.parametrize("kind", KINDS)
def test_rejections_store_nothing(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rt = runtime_of(kind, tmp_path, request)
    pid, other = at_trials(rt), at_trials(rt)
    cases = [
        (pid, 1, 409, "trial 1 is not the current trial; the next trial to answer is 0"),
        (pid, 999, 404, "trial 999 does not belong to this participant"),
        ("0123456789abcdef", 0, 403, "no study session"),
        (None, 0, 403, "no study session"),
    ]
    for public_id, seq, status, message in cases:
        with pytest.raises(RequestRejected) as rejected:
            submit_answer(rt.db, rt.study, public_id, seq, ratings(3), 1000)
        assert rejected.value.status == status and message in rejected.value.message
    assert stored(rt, pid) == {} and stored(rt, other) == {}
    submit_answer(rt.db, rt.study, other, 0, ratings(1), 1000)  # another participant's answers are theirs
    assert stored(rt, pid) == {} and stored(rt, other) == {0: ratings(1)}


@pytest.mark.parametrize("kind", KINDS)
def test_too_fast_answer_is_rolled_back_and_can_be_sent_later(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rt = runtime_of(kind, tmp_path, request, min_view_ms=600)
    pid = at_trials(rt)
    with pytest.raises(RequestRejected) as too_fast:
        submit_answer(rt.db, rt.study, pid, 0, ratings(4), 100)
    assert too_fast.value.status == 422 and "minimum viewing time of 600 ms" in too_fast.value.message
    with rt.db() as s:
        assert s.scalar(select(Trial.answered_at).join(Participant).where(Participant.public_id == pid, Trial.seq == 0)) is None
    time.sleep(0.5)  # 600 ms less the 200 ms grace
    assert not submit_answer(rt.db, rt.study, pid, 0, ratings(4), 700).duplicate
    assert stored(rt, pid) == {0: ratings(4)}


def _answer_until_killed(study_dir: str, db_url: str, pid: str, log: str) -> None:
    """Child process: answer trials in order, appending each acknowledged seq to ``log``."""
    app = create_app({"study_dir": study_dir, "database_url": db_url})
    rt = app.extensions["aufx_study"]
    with open(log, "a") as handle:
        for seq in range(rt.study.practice_trials + rt.study.n_main_trials()):
            submit_answer(rt.db, rt.study, pid, seq, ratings(seq % 5 + 1), 1000)
            handle.write(f"{seq}\n")
            handle.flush()
            time.sleep(0.05)
    time.sleep(60)  # wait to be killed


def test_acknowledged_answers_survive_sigkill(tmp_path: Path) -> None:
    """SQLite in WAL with synchronous=NORMAL: every answer that returned is on disk after a SIGKILL."""
    folder = make_study(tmp_path / "study", n_items=8, demographics=False, attention_checks=[])
    db_url = f"sqlite:///{tmp_path / 'k.db'}"
    rt = create_app({"study_dir": str(folder), "database_url": db_url}).extensions["aufx_study"]
    pid = at_trials(rt)
    log = tmp_path / "acked.txt"
    log.touch()
    child = multiprocessing.get_context("spawn").Process(target=_answer_until_killed, args=(str(folder), db_url, pid, str(log)))
    child.start()
    deadline = time.monotonic() + 60
    while len(log.read_text().split()) < 4 and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    acked = [int(x) for x in log.read_text().split()]
    assert len(acked) >= 4, "the child did not answer in time"
    after = create_app({"study_dir": str(folder), "database_url": db_url}).extensions["aufx_study"]
    answers = stored(after, pid)
    assert all(answers.get(seq) == ratings(seq % 5 + 1) for seq in acked)
    with after.db() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 3 * len(answers)
