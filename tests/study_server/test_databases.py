"""The same flow on SQLite (WAL) and a real PostgreSQL server; concurrent resubmissions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from study_server.app import create_app
from study_server.models import Answer, Participant
from tests.study_server.helpers import KINDS, Walker, database_url

QS = ("expression", "identity", "artifacts")


@pytest.mark.parametrize("kind", KINDS)
def test_full_session_and_restart(kind: str, study_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = database_url(kind, tmp_path, request)
    app = create_app({"study_dir": str(study_dir), "database_url": url})
    w = Walker(app.test_client(), "?PROLIFIC_PID=db1")
    w.start()
    seq, _, _ = w.current()
    w.answer(seq, dict.fromkeys(QS, 5))
    restarted = create_app({"study_dir": str(study_dir), "database_url": url})
    w2 = Walker(restarted.test_client())
    w2.client.set_cookie("study_session", w.client.get_cookie("study_session").value)
    assert w2.current()[0] == seq + 1
    w2.finish()
    rt = restarted.extensions["aufx_study"]
    with rt.db() as s:
        assert s.scalar(select(Participant.stage)) == "done"
        assert s.scalar(select(func.count()).select_from(Answer)) == 6 * 3


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_resubmissions_store_one_answer(kind: str, study_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = database_url(kind, tmp_path, request)
    app = create_app({"study_dir": str(study_dir), "database_url": url})
    w = Walker(app.test_client())
    w.start()
    seq, _, _ = w.current()
    cookie = w.client.get_cookie("study_session").value
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(value: int) -> None:
        client = app.test_client()
        client.set_cookie("study_session", cookie)
        data = {"csrf_token": w.token, **{f"q_{q}": str(value) for q in QS}}
        response = client.post(f"/trial/{seq}", data=data)
        status = response.status_code
        if status not in (303, 409):
            print(status, response.get_data(as_text=True)[-600:])
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(3 if i < 6 else 1,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        stored = s.execute(select(Answer.question, Answer.rating)).all()
    assert len(stored) == 3 and len({r for _, r in stored}) == 1
    winner = stored[0][1]
    assert statuses.count(303) == (6 if winner == 3 else 2)
    assert statuses.count(409) == 8 - statuses.count(303)


def test_sqlite_writers_queue_across_processes(tmp_path: Path) -> None:
    """The flock-based writer lock admits one writer at a time, also across processes."""
    import multiprocessing
    import time

    from study_server.db import WriterLock

    database = str(tmp_path / "w.db")
    marker = tmp_path / "inside"
    context = multiprocessing.get_context("fork")
    overlaps = context.Value("i", 0)

    def writer() -> None:
        lock = WriterLock(database)
        for _ in range(20):
            with lock.hold():
                if marker.exists():
                    overlaps.value += 1
                marker.touch()
                time.sleep(0.002)
                marker.unlink()

    processes = [context.Process(target=writer) for _ in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
    assert all(p.exitcode == 0 for p in processes)
    assert overlaps.value == 0
