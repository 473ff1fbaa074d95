"""Participant state changes: start, advance, next trial (answers: :mod:`study_server.answers`). No Flask.

Every function takes a sessionmaker and commits before it returns, so what the caller
acknowledges to the browser is already on disk.
"""

from __future__ import annotations

import secrets
from types import SimpleNamespace

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from study_server.assignment import assign_list
from study_server.db import study_is_open, write_connection, write_session
from study_server.design import plan_trials
from study_server.errors import RequestRejected
from study_server.models import Participant, Trial, utcnow
from study_server.returning import ALREADY_STARTED, platform_ids
from study_server.study import Study

#: Stages of a participant after consent, in order.
STAGES: tuple[str, ...] = ("demographics", "instructions", "trials", "done")


def platform_of(recruit: dict[str, str]) -> tuple[str, str | None]:
    """``(platform, external participant id)`` from the recruitment parameters."""
    platform, external, _ = platform_ids(recruit)
    return platform, external


def start_key(study: Study, recruit: dict[str, str]) -> str | None:
    """The unique key that stops one recruitment id starting twice (None if repeats are allowed)."""
    platform, external = platform_of(recruit)
    if study.allow_repeat or external is None:
        return None
    return f"{study.study_id}:{platform}:{external}"


def start_participant(factory: sessionmaker[Session], study: Study, recruit: dict[str, str]) -> Participant:
    """Create a consenting participant and their whole trial plan (one transaction)."""
    platform, external = platform_of(recruit)
    key = start_key(study, recruit)
    try:
        with write_session(factory) as session:
            if not study_is_open(session, study.study_id):
                raise RequestRejected(403, "this study is closed and accepts no new participants")
            now = utcnow()
            list_index = assign_list(session, study, now)
            seed = secrets.randbits(62)
            participant = Participant(
                public_id=secrets.token_hex(8),
                study_id=study.study_id,
                platform=platform,
                external_pid=external,
                external_study_id=recruit.get("STUDY_ID") or recruit.get("hitId"),
                external_session_id=recruit.get("SESSION_ID") or recruit.get("assignmentId"),
                start_key=key,
                seed=seed,
                list_index=list_index,
                stage="demographics" if study.demographics else "instructions",
                created_at=now,
                active_at=now,
            )
            session.add(participant)
            session.flush()
            for planned in plan_trials(study, list_index, seed):
                stimulus = study.stimuli[planned.stimulus_id]
                session.add(
                    Trial(
                        participant_id=participant.id,
                        seq=planned.seq,
                        trial_index=planned.trial_index,
                        kind=planned.kind,
                        stimulus_id=stimulus.stimulus_id,
                        item_id=stimulus.item_id,
                        method=stimulus.method,
                        expected=planned.expected,
                    )
                )
            session.commit()
            return participant
    except IntegrityError:
        raise RequestRejected(409, ALREADY_STARTED) from None


def get_participant(factory: sessionmaker[Session], public_id: str | None) -> Participant | None:
    """The participant of a browser session, or None."""
    if not public_id:
        return None
    with factory() as session:
        return session.scalar(select(Participant).where(Participant.public_id == public_id))


def advance(factory: sessionmaker[Session], participant: Participant, from_stage: str, **fields: object) -> None:
    """Move ``participant`` past ``from_stage`` (storing ``fields``); repeated calls are no-ops."""
    with write_session(factory) as session:
        row = session.get(Participant, participant.id)
        assert row is not None
        if row.stage == from_stage:
            for name, value in fields.items():
                setattr(row, name, value)
            row.stage = STAGES[STAGES.index(from_stage) + 1]
            row.active_at = utcnow()
            if row.stage == "trials":  # the first trial page follows at once
                session.execute(
                    update(Trial).where(Trial.participant_id == row.id, Trial.seq == 0).values(shown_at=utcnow())
                )
            session.commit()


P, T = Participant.__table__, Trial.__table__

# Hot-path statements, built once (bound parameters) so that a request only executes them.
_NEXT_TRIALS = (
    select(P.c.id.label("participant_id"), P.c.stage, T.c.id, T.c.seq, T.c.trial_index, T.c.kind,
           T.c.stimulus_id, T.c.expected, T.c.shown_at)
    .select_from(P.outerjoin(T, (T.c.participant_id == P.c.id) & T.c.answered_at.is_(None)))
    .where(P.c.public_id == bindparam("pid"))
    .order_by(T.c.seq)
    .limit(2)
)  # fmt: skip
_MARK_SHOWN = update(T).where(T.c.id == bindparam("tid"), T.c.shown_at.is_(None)).values(shown_at=bindparam("now"))
_SHOWN_AT = select(T.c.shown_at).where(T.c.id == bindparam("tid"))


def current_trial(
    factory: sessionmaker[Session], public_id: str | None
) -> tuple[SimpleNamespace | None, SimpleNamespace | None, SimpleNamespace | None]:
    """``(participant, trial to answer now, the one after it)`` as rows (SQLAlchemy Core: hot path).

    The participant row has ``stage``. A trial counts as shown (the start of its server-side
    response time) from when the previous answer or the instructions were stored, since the
    browser is redirected to it at once; only where that is missing is it marked here. Trials
    are answered in order, so ``seq`` counts those answered.
    """
    if not public_id:
        return None, None, None
    engine = factory.kw["bind"]
    with engine.connect() as conn:
        rows = conn.execute(_NEXT_TRIALS, {"pid": public_id}).all()
        conn.rollback()
    if not rows:
        return None, None, None
    first = SimpleNamespace(**rows[0]._asdict())
    if first.stage != "trials" or first.id is None:  # not at the trials yet, or all answered
        return first, None, None
    trial = first
    if trial.shown_at is None:
        with write_connection(factory) as conn:
            now = utcnow()
            if conn.execute(_MARK_SHOWN, {"tid": trial.id, "now": now}).rowcount != 1:
                now = conn.execute(_SHOWN_AT, {"tid": trial.id}).scalar_one()  # a parallel request was first
        trial.shown_at = now
    return first, trial, (SimpleNamespace(**rows[1]._asdict()) if len(rows) > 1 else None)
