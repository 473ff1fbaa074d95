"""Storing the answer of one trial: the hot path of a study (SQLAlchemy Core, prebuilt statements).

An answer that is accepted costs one transaction of four statements: a guarded ``UPDATE`` that
claims the trial (it matches only if the trial belongs to the browser's participant, is shown
long enough for the minimum viewing time, unanswered, and every earlier trial is answered) and
returns what the rest needs, one multi-row ``INSERT`` of the ratings, the ``UPDATE`` that starts
the next trial's clock (or, after the last trial, marks the participant done). On PostgreSQL the
four are one statement of data-modifying CTEs run in autocommit: one round trip to the server
instead of six (``BEGIN``, four statements, ``COMMIT``). Only when the guard matches nothing do
further reads find out why: a repeated answer (returned as stored), a conflicting one (409 with
the stored values), one sent too soon (422), a foreign or out-of-order trial.

Concurrency: on SQLite writers are serialised (``BEGIN IMMEDIATE`` and the writer lock). On
PostgreSQL the guard's row lock serialises two submissions of the same trial: the second waits
for the first to commit, then no longer matches (``answered_at`` is set) and is answered from
the stored ratings; the unique ``(trial_id, question)`` constraint backs this up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, Engine, and_, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from study_server.db import write_cursor
from study_server.errors import RequestRejected
from study_server.models import Answer, Participant, Trial, utcnow
from study_server.prepared import Prepared
from study_server.study import Study

#: Grace for clock granularity when checking the minimum viewing time.
MIN_VIEW_GRACE_MS = 200

P, T, A = Participant.__table__, Trial.__table__, Answer.__table__
_EARLIER = T.alias("earlier")

_PARTICIPANT_ID = select(P.c.id).where(P.c.public_id == bindparam("pid")).scalar_subquery()
_EARLIER_OPEN = (
    select(_EARLIER.c.id)
    .where(_EARLIER.c.participant_id == T.c.participant_id, _EARLIER.c.seq < T.c.seq, _EARLIER.c.answered_at.is_(None))
    .exists()
)
#: Claims the trial: matches only the participant's current, shown, unanswered trial.
_CLAIM = Prepared(
    update(T)
    .where(
        T.c.participant_id == _PARTICIPANT_ID,
        T.c.seq == bindparam("trial_seq"),
        T.c.answered_at.is_(None),
        T.c.shown_at.is_not(None),
        T.c.shown_at <= bindparam("shown_before"),
        ~_EARLIER_OPEN,
    )
    .values(answered_at=bindparam("now"))
    .returning(T.c.id, T.c.participant_id, T.c.shown_at)
)
_ANSWER_COLUMNS = ("trial_id", "question", "rating", "rt_ms", "server_rt_ms", "created_at")
#: Starts the next trial's clock (the browser is redirected to it at once); 0 rows after the last.
_SHOW_NEXT = Prepared(
    update(T)
    .where(T.c.participant_id == bindparam("participant"), T.c.seq == bindparam("next_seq"))
    .values(shown_at=func.coalesce(T.c.shown_at, bindparam("now")))
)
_MARK_DONE = Prepared(
    update(P).where(P.c.id == bindparam("participant")).values(completed_at=bindparam("now"), stage="done")
)

# Only when the claim matched nothing: why not?
_DIAGNOSE = Prepared(
    select(P.c.id, P.c.completed_at, T.c.id, T.c.answered_at, T.c.shown_at)
    .select_from(P.outerjoin(T, and_(T.c.participant_id == P.c.id, T.c.seq == bindparam("trial_seq"))))
    .where(P.c.public_id == bindparam("pid"))
)
_STORED = Prepared(select(A.c.question, A.c.rating).where(A.c.trial_id == bindparam("tid")).order_by(A.c.id))
_CURRENT = Prepared(
    select(func.min(case((T.c.answered_at.is_(None), T.c.seq)))).where(T.c.participant_id == bindparam("participant"))
)
_inserts: dict[int, Prepared] = {}


def _insert_answers(n: int) -> Prepared:
    """One multi-row ``INSERT`` of ``n`` ratings (one round trip on PostgreSQL too)."""
    if n not in _inserts:
        rows = [{c: bindparam(f"{c}_{i}") for c in _ANSWER_COLUMNS} for i in range(n)]
        _inserts[n] = Prepared(insert(A).values(rows))
    return _inserts[n]


@dataclass(frozen=True)
class Stored:
    """The outcome of an answer: ``duplicate`` is True when it repeated a stored answer."""

    seq: int
    ratings: dict[str, int]
    duplicate: bool
    completed: bool


def _describe(ratings: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in ratings.items())


class _Race(Exception):
    """The trial became answerable while the claim ran (PostgreSQL, out-of-order requests)."""


def submit_answer(
    factory: sessionmaker[Session],
    study: Study,
    public_id: str | None,
    seq: int,
    ratings: dict[str, int],
    rt_ms: int | None,
) -> Stored:
    """Store all ratings of trial ``seq`` (question -> rating) in one transaction; idempotent.

    Returns once the transaction is committed. Raises :class:`RequestRejected` (403 no
    participant, 404 foreign trial, 409 conflicting or out-of-order answer, 422 too fast).
    """
    engine: Engine = factory.kw["bind"]
    integrity_error = engine.dialect.loaded_dbapi.IntegrityError
    for attempt in range(2):
        try:
            with write_cursor(engine, autocommit=engine.dialect.name == "postgresql") as cursor:
                return _store(cursor, engine.dialect, study, public_id or "", seq, ratings, rt_ms)
        except (integrity_error, _Race):
            if attempt == 1:
                raise RequestRejected(409, f"trial {seq} is being answered by another request; reload the page") from None
    raise AssertionError("unreachable")


def _elapsed_ms(now: datetime, shown_at: datetime) -> int:
    """Milliseconds from ``shown_at`` to ``now`` (truncated), the server-side response time."""
    return int((now - shown_at).total_seconds() * 1000)


def _shown_before(study: Study, now: datetime) -> datetime:
    """Latest ``shown_at`` a trial may have to be answerable ``now`` (minimum viewing time)."""
    if not study.min_view_ms:
        return now + timedelta(days=1)  # no minimum: clocks of several servers need not agree
    return now - timedelta(milliseconds=max(0, study.min_view_ms - MIN_VIEW_GRACE_MS))


def _store(
    cursor: Any, dialect: Dialect, study: Study, public_id: str, seq: int, ratings: dict[str, int], rt_ms: int | None
) -> Stored:
    now = utcnow()
    if dialect.name == "postgresql":
        return _store_in_one_statement(cursor, dialect, study, public_id, seq, ratings, rt_ms, now)
    claimed = _CLAIM.run(
        cursor, dialect, {"pid": public_id, "trial_seq": seq, "now": now, "shown_before": _shown_before(study, now)}
    )
    if not claimed:
        return _not_claimed(cursor, dialect, study, public_id, seq, ratings, now)
    trial_id, participant_id, shown_at = claimed[0]
    server_rt = _elapsed_ms(now, shown_at)
    values: dict[str, Any] = {}
    for i, (question, rating) in enumerate(ratings.items()):
        values.update({f"trial_id_{i}": trial_id, f"question_{i}": question, f"rating_{i}": rating,
                       f"rt_ms_{i}": server_rt if rt_ms is None else rt_ms, f"server_rt_ms_{i}": server_rt,
                       f"created_at_{i}": now})  # fmt: skip
    _insert_answers(len(ratings)).run(cursor, dialect, values)
    params = {"participant": participant_id, "next_seq": seq + 1, "now": now}
    _SHOW_NEXT.run(cursor, dialect, params)
    completed = cursor.rowcount == 0
    if completed:
        _MARK_DONE.run(cursor, dialect, params)
    return Stored(seq, ratings, False, completed)


def _one_statement_sql(n_ratings: int) -> str:
    """PostgreSQL: claim, ratings, next trial's clock and completion in one statement (data-modifying
    CTEs), so that an answer is one round trip in autocommit instead of BEGIN, four statements
    and COMMIT. Same guard and same rows as the statements above. Parameters ``%(name)s``."""
    rows = ", ".join(f"(%(question_{i})s::varchar, %(rating_{i})s::integer)" for i in range(n_ratings))
    return f"""
WITH claimed AS (
    UPDATE trial SET answered_at = %(now)s::timestamp
    WHERE participant_id = (SELECT id FROM participant WHERE public_id = %(pid)s::varchar)
      AND seq = %(trial_seq)s::integer AND answered_at IS NULL AND shown_at IS NOT NULL
      AND shown_at <= %(shown_before)s::timestamp
      AND NOT EXISTS (SELECT 1 FROM trial AS earlier WHERE earlier.participant_id = trial.participant_id
                      AND earlier.seq < trial.seq AND earlier.answered_at IS NULL)
    RETURNING id, participant_id,
              CAST(FLOOR(EXTRACT(EPOCH FROM (%(now)s::timestamp - shown_at)) * 1000) AS INTEGER) AS server_rt
), rated AS (
    INSERT INTO answer (trial_id, question, rating, rt_ms, server_rt_ms, created_at)
    SELECT claimed.id, given.question, given.rating, COALESCE(%(rt_ms)s::integer, claimed.server_rt),
           claimed.server_rt, %(now)s::timestamp
    FROM claimed CROSS JOIN (VALUES {rows}) AS given (question, rating)
), next_shown AS (
    UPDATE trial SET shown_at = COALESCE(trial.shown_at, %(now)s::timestamp) FROM claimed
    WHERE trial.participant_id = claimed.participant_id AND trial.seq = %(trial_seq)s::integer + 1
    RETURNING trial.id
), finished AS (
    UPDATE participant SET completed_at = %(now)s::timestamp, stage = 'done' FROM claimed
    WHERE participant.id = claimed.participant_id
      AND NOT EXISTS (SELECT 1 FROM trial WHERE trial.participant_id = claimed.participant_id
                      AND trial.seq = %(trial_seq)s::integer + 1)
    RETURNING participant.id
)
SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM finished)"""


@dataclass(frozen=True)
class _ServerPrepared:
    """The one-statement answer as a server-side prepared statement (parsed and planned once per
    connection): ``prepare`` defines it, ``execute`` runs it with the values in ``names`` order."""

    prepare: str
    execute: str
    names: tuple[str, ...]


def _server_prepared(n_ratings: int) -> _ServerPrepared:
    found = _PREPARED.get(n_ratings)
    if found is None:
        body = _one_statement_sql(n_ratings)
        names = tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", body)))
        for k, name in enumerate(names, start=1):
            body = body.replace(f"%({name})s", f"${k}")
        statement = f"aufx_answer_{n_ratings}"
        found = _PREPARED[n_ratings] = _ServerPrepared(
            f"PREPARE {statement} AS {body}", f"EXECUTE {statement} ({', '.join(['%s'] * len(names))})", names
        )
    return found


_PREPARED: dict[int, _ServerPrepared] = {}


def _store_in_one_statement(
    cursor: Any, dialect: Dialect, study: Study, public_id: str, seq: int, ratings: dict[str, int],
    rt_ms: int | None, now: datetime,
) -> Stored:  # fmt: skip
    statement = _server_prepared(len(ratings))
    values: dict[str, Any] = {"pid": public_id, "trial_seq": seq, "now": now, "rt_ms": rt_ms,
                              "shown_before": _shown_before(study, now)}  # fmt: skip
    for i, (question, rating) in enumerate(ratings.items()):
        values[f"question_{i}"], values[f"rating_{i}"] = question, rating
    params = tuple(values[name] for name in statement.names)
    try:
        cursor.execute(statement.execute, params)
    except dialect.loaded_dbapi.Error as error:
        if getattr(error, "pgcode", None) != "26000":  # invalid_sql_statement_name: not prepared yet
            raise
        cursor.execute(statement.prepare)  # first answer on this connection (autocommit: no aborted transaction)
        cursor.execute(statement.execute, params)
    claimed, finished = cursor.fetchone()
    if not claimed:
        return _not_claimed(cursor, dialect, study, public_id, seq, ratings, now)
    return Stored(seq, ratings, False, bool(finished))


def _not_claimed(
    cursor: Any, dialect: Dialect, study: Study, public_id: str, seq: int, ratings: dict[str, int], now: datetime
) -> Stored:
    """A repeated answer (returned as stored), or the reason for rejecting it."""
    found = _DIAGNOSE.run(cursor, dialect, {"pid": public_id, "trial_seq": seq})
    if not found:
        raise RequestRejected(403, "no study session in this browser: open the study link to start")
    participant_id, completed_at, trial_id, answered_at, shown_at = found[0]
    if trial_id is None:
        raise RequestRejected(404, f"trial {seq} does not belong to this participant")
    if answered_at is not None:
        stored = dict(_STORED.run(cursor, dialect, {"tid": trial_id}))
        if stored == ratings:
            return Stored(seq, stored, True, completed_at is not None)
        raise RequestRejected(
            409,
            f"trial {seq} was already answered ({_describe(stored)}); a different answer "
            f"({_describe(ratings)}) cannot replace it",
        )
    current = _CURRENT.run(cursor, dialect, {"participant": participant_id})[0][0]
    if current == seq and shown_at is not None:
        shown_ms = _elapsed_ms(now, shown_at)
        if study.min_view_ms and shown_ms + MIN_VIEW_GRACE_MS < study.min_view_ms:
            raise RequestRejected(
                422, f"trial {seq} was answered after {shown_ms} ms, before the minimum viewing time of {study.min_view_ms} ms"
            )
        raise _Race  # an earlier answer was committed while the claim ran: try once more
    raise RequestRejected(409, f"trial {seq} is not the current trial; the next trial to answer is {current}")
