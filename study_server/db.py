"""Database engine, schema creation (new nullable columns added by :mod:`study_server.migrate`) and shared secrets.

SQLite runs in WAL mode (``synchronous=NORMAL`` by default: an acknowledged answer survives a
crash or ``kill -9`` of the server; ``FULL`` on request also survives a power loss) with a busy
timeout; write transactions start with ``BEGIN IMMEDIATE`` so that concurrent gunicorn workers
queue for the lock instead of failing. PostgreSQL needs nothing
special: uniqueness constraints settle races.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads queue, processes use SQLite's busy wait
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from study_server.migrate import add_missing_columns
from study_server.models import Base, ServerSecret, StudyState

WRITE = {"sqlite_begin": "IMMEDIATE"}
#: Memory map of an SQLite database (bytes): the whole file for any study this server will see.
SQLITE_MMAP_BYTES = 1 << 30


def make_engine(url: str, sqlite_synchronous: str = "NORMAL") -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql://...``) with safe settings.

    SQLite's ``synchronous=NORMAL`` in WAL mode keeps every committed answer through a crash or
    ``kill -9`` of the server; ``FULL`` also through a power loss, at one fsync per answer.
    """
    if sqlite_synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, got {sqlite_synchronous!r}")
    if not url or "://" not in url:
        raise ValueError(f"database URL must look like sqlite:///path.db or postgresql://..., got {url!r}")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_setup(engine, sqlite_synchronous)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_setup(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Pages are read through a memory map: after another connection's commit, this one's page
        # cache is stale and re-read; mapped pages make that re-read copy-free.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


class WriterLock:
    """Queues SQLite writers: a thread lock, plus ``flock`` on a file beside the database so that
    gunicorn's worker processes queue too. Waiters wake as soon as the lock is free, unlike
    SQLite's own busy handler, which sleeps in steps of up to 100 ms."""

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.Lock()
        self._path = f"{database}.writer-lock" if database and database != ":memory:" else None
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int | None:
        if self._path is None or fcntl is None:
            return None
        if self._pid != os.getpid():  # after a fork: flock must not be shared with the parent
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._descriptor()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


_writer_locks: dict[str, WriterLock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(engine: Engine) -> WriterLock | None:
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url)
    with _writer_locks_guard:
        if key not in _writer_locks:
            _writer_locks[key] = WriterLock(engine.url.database)
        return _writer_locks[key]


@contextmanager
def _queued(engine: Engine) -> Iterator[None]:
    lock = _writer_lock(engine)
    if lock is None:
        yield
    else:
        with lock.hold():
            yield


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction takes the write lock at once on SQLite."""
    with _queued(factory.kw["bind"]), factory() as session:
        session.connection(execution_options=WRITE)
        yield session


@contextmanager
def write_connection(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit."""
    engine: Engine = factory.kw["bind"]
    with _queued(engine), engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            yield connection


@contextmanager
def write_cursor(engine: Engine, autocommit: bool = False) -> Iterator[Any]:
    """A DBAPI cursor in a write transaction (``BEGIN IMMEDIATE`` on SQLite) on a pooled connection;
    committed on exit, rolled back on an exception (for :mod:`study_server.prepared` statements).

    ``autocommit`` (PostgreSQL only): no transaction around the statements, each commits on its
    own; for a single statement that does all the writing, it saves the ``BEGIN`` and ``COMMIT``
    round trips. The connection goes back to the pool in its usual transactional mode.
    """
    if autocommit and engine.dialect.name != "postgresql":
        raise ValueError(f"autocommit write cursors are for PostgreSQL, not {engine.dialect.name}")
    with _queued(engine):
        connection = engine.raw_connection()
        dbapi = connection.dbapi_connection
        try:
            if autocommit:
                dbapi.autocommit = True
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            if not autocommit:
                connection.commit()
        except BaseException:
            if not autocommit:
                connection.rollback()
            raise
        finally:
            if autocommit and dbapi is not None and not dbapi.closed:
                dbapi.autocommit = False
            connection.close()  # back to the pool


def create_schema(engine: Engine, attempts: int = 5) -> None:
    """Create missing tables and columns; tolerate other workers doing the same at the same moment."""
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            add_missing_columns(engine, Base.metadata)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def shared_secret(factory: sessionmaker[Session], name: str) -> str:
    """The secret ``name``, created once and shared by every worker and restart."""
    for _ in range(5):
        with factory() as session:
            row = session.get(ServerSecret, name)
            if row is not None:
                return row.value
        try:
            with write_session(factory) as session:
                if session.get(ServerSecret, name) is None:
                    session.add(ServerSecret(name=name, value=secrets.token_hex(32)))
                session.commit()
        except IntegrityError:  # another worker won the race: read theirs
            continue
    raise RuntimeError(f"could not create the shared secret {name!r}")


def ensure_study_state(factory: sessionmaker[Session], study_id: str, is_open: bool) -> None:
    """Insert the open/closed row of a study on first start (later starts keep the admin's choice)."""
    try:
        with write_session(factory) as session:
            if session.get(StudyState, study_id) is None:
                session.add(StudyState(study_id=study_id, is_open=is_open))
            session.commit()
    except IntegrityError:
        pass


def study_is_open(session: Session, study_id: str) -> bool:
    """Whether the study accepts new participants."""
    value = session.scalar(select(StudyState.is_open).where(StudyState.study_id == study_id))
    return bool(value)
