"""Prepared statements: compiled once per dialect, values stored exactly as SQLAlchemy stores them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, create_engine, insert, select, update
from sqlalchemy.dialects import postgresql

from study_server.db import create_schema, make_engine, write_cursor
from study_server.models import ServerSecret, StudyState
from study_server.prepared import Prepared

S = StudyState.__table__
WHEN = datetime(2026, 1, 2, 3, 4, 5)  # no microseconds: the case where formats could differ


def test_round_trip_matches_sqlalchemy_storage(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    create_schema(engine)
    insert_state = Prepared(insert(S).values(study_id=bindparam("sid"), is_open=bindparam("open"), updated_at=bindparam("at")))
    with write_cursor(engine) as cursor:
        insert_state.run(cursor, engine.dialect, {"sid": "raw", "open": True, "at": WHEN})
    with engine.begin() as conn:
        conn.execute(insert(S).values(study_id="core", is_open=True, updated_at=WHEN))
        text_of = dict(conn.exec_driver_sql("SELECT study_id, updated_at FROM study_state").all())
        assert text_of["raw"] == text_of["core"]  # the same text on disk as Core writes
        assert conn.execute(select(S.c.updated_at).where(S.c.study_id == "raw")).scalar_one() == WHEN
    read = Prepared(select(S.c.is_open, S.c.updated_at).where(S.c.study_id == bindparam("sid")))
    with write_cursor(engine) as cursor:
        assert read.run(cursor, engine.dialect, {"sid": "raw"}) == [(True, WHEN)]
        assert read.run(cursor, engine.dialect, {"sid": "missing"}) == []


def test_literal_values_and_rollback(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(ServerSecret.__table__).values(name="k", value="old"))
    T = ServerSecret.__table__
    change = Prepared(update(T).where(T.c.name == bindparam("key")).values(value="new"))  # "new" is in the statement
    with pytest.raises(RuntimeError), write_cursor(engine) as cursor:
        change.run(cursor, engine.dialect, {"key": "k"})
        raise RuntimeError("abort")
    with engine.connect() as conn:
        assert conn.execute(select(T.c.value)).scalar_one() == "old"  # rolled back
    with write_cursor(engine) as cursor:
        change.run(cursor, engine.dialect, {"key": "k"})
        assert cursor.rowcount == 1
    with engine.connect() as conn:
        assert conn.execute(select(T.c.value)).scalar_one() == "new"


def test_parameter_styles_per_dialect() -> None:
    statement = Prepared(update(S).where(S.c.study_id == bindparam("sid")).values(updated_at=bindparam("at")))
    sqlite = statement.compiled(create_engine("sqlite://").dialect)
    assert "?" in sqlite.sql and sqlite.parameters({"sid": "x", "at": WHEN}) == ("2026-01-02 03:04:05.000000", "x")
    pg = statement.compiled(postgresql.psycopg2.dialect())
    assert "%(sid)s" in pg.sql and pg.parameters({"sid": "x", "at": WHEN}) == {"sid": "x", "at": WHEN}
    with pytest.raises(KeyError):
        sqlite.parameters({"sid": "x"})  # a missing value is an error, never NULL


def test_autocommit_write_cursor_is_refused_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(ValueError, match="autocommit write cursors are for PostgreSQL, not sqlite"):
        with write_cursor(engine, autocommit=True):
            pass
