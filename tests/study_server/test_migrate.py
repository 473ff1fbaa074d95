"""A study database made before ``active_at`` / ``abandoned_at`` existed still opens, resumes and loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from study_server.app import create_app
from study_server.migrate import add_missing_columns, missing_columns
from study_server.models import Answer, Base, Participant
from tests.study_server.helpers import KINDS, Walker, database_url

QS = ("expression", "identity", "artifacts")
NEW_COLUMNS = ("active_at", "abandoned_at")


def make_old(url: str) -> None:
    """Turn a current database into one of the earlier schema (the new columns dropped)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for column in NEW_COLUMNS:
            connection.exec_driver_sql(f"ALTER TABLE participant DROP COLUMN {column}")
    assert {c.name for c in missing_columns(engine, Base.metadata)} == set(NEW_COLUMNS)
    engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_old_database_opens_and_the_session_goes_on(kind: str, study_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = database_url(kind, tmp_path, request)
    config = {"study_dir": str(study_dir), "database_url": url}
    old = Walker(create_app(config).test_client(), "?PROLIFIC_PID=old1&SESSION_ID=s1")
    old.start()
    seq, _, _ = old.current()
    assert old.answer(seq, dict.fromkeys(QS, 2)).status_code == 303
    make_old(url)

    app = create_app(config)  # adds the columns; nothing stored changes
    engine = sa.create_engine(url)
    assert missing_columns(engine, Base.metadata) == []
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        person = s.scalar(select(Participant))
        assert (person.external_pid, person.active_at, person.abandoned_at) == ("old1", None, None)
        assert s.scalar(select(func.count()).select_from(Answer)) == 3
    resumed = Walker(app.test_client())
    resumed.client.set_cookie("study_session", old.client.get_cookie("study_session").value)
    assert resumed.current()[0] == seq + 1
    resumed.finish()
    Walker(app.test_client(), "?PROLIFIC_PID=new1").start()  # assignment reads the old row's NULLs
    with rt.db() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 6 * 3
        assert sorted(s.scalars(select(Participant.list_index)).all()) == [0, 1]
    engine.dispose()


def test_adding_columns_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    make_old(url)
    engine = sa.create_engine(url)
    assert sorted(add_missing_columns(engine, Base.metadata)) == ["participant.abandoned_at", "participant.active_at"]
    assert add_missing_columns(engine, Base.metadata) == []


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'req.db'}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    sa.Table("thing", meta, sa.Column("id", sa.Integer, primary_key=True))
    meta.create_all(engine)
    newer = sa.MetaData()
    sa.Table("thing", newer, sa.Column("id", sa.Integer, primary_key=True), sa.Column("size", sa.Integer, nullable=False))
    with pytest.raises(ValueError, match=r"column thing\.size is missing and cannot be added automatically"):
        add_missing_columns(engine, newer)


def test_export_of_an_old_database(study_dir: Path, tmp_path: Path) -> None:
    from aufx.cli import main as aufx_main

    url = f"sqlite:///{tmp_path / 'old.db'}"
    w = Walker(create_app({"study_dir": str(study_dir), "database_url": url}).test_client())
    w.start()
    w.finish()
    make_old(url)
    out = tmp_path / "ratings.csv"
    assert aufx_main(["export", "--study", str(study_dir), "--db", url, "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 5 * 3  # header + 4 items and a check, 3 questions each
