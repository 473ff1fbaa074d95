"""Participant state changes: start, next trial, store an answer. No Flask in here.

Every function takes a sessionmaker and commits before it returns, so what the caller
acknowledges to the browser is already on disk.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from study_server.db import study_is_open, write_session
from study_server.design import n_lists, plan_trials
from study_server.errors import RequestRejected
from study_server.models import Answer, Participant, Trial, utcnow
from study_server.study import Study

#: Stages of a participant after consent, in order.
STAGES: tuple[str, ...] = ("demographics", "instructions", "trials", "done")
#: Grace for clock granularity when checking the minimum viewing time.
MIN_VIEW_GRACE_MS = 200


def platform_of(recruit: dict[str, str]) -> tuple[str, str | None]:
    """``(platform, external participant id)`` from the recruitment parameters."""
    if "PROLIFIC_PID" in recruit:
        return "prolific", recruit["PROLIFIC_PID"]
    if "workerId" in recruit:
        return "mturk", recruit["workerId"]
    return "direct", None


def start_key(study: Study, recruit: dict[str, str]) -> str | None:
    """The unique key that stops one recruitment id starting twice (None if repeats are allowed)."""
    platform, external = platform_of(recruit)
    if study.allow_repeat or external is None:
        return None
    return f"{study.study_id}:{platform}:{external}"


def already_started(factory: sessionmaker[Session], key: str | None) -> str | None:
    """The public id of the participant who started with ``key``, if any."""
    if key is None:
        return None
    with factory() as session:
        return session.scalar(select(Participant.public_id).where(Participant.start_key == key))


def start_participant(factory: sessionmaker[Session], study: Study, recruit: dict[str, str]) -> Participant:
    """Create a consenting participant and their whole trial plan (one transaction)."""
    platform, external = platform_of(recruit)
    key = start_key(study, recruit)
    try:
        with write_session(factory) as session:
            if not study_is_open(session, study.study_id):
                raise RequestRejected(403, "this study is closed and accepts no new participants")
            counts = dict(
                session.execute(
                    select(Participant.list_index, func.count())
                    .where(Participant.study_id == study.study_id)
                    .group_by(Participant.list_index)
                ).all()
            )
            list_index = min(range(n_lists(study)), key=lambda k: (counts.get(k, 0), k))
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
        raise RequestRejected(409, "this participant id has already started the study; each participant can take part once") from None


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
            session.commit()


def current_trial(
    factory: sessionmaker[Session], public_id: str | None
) -> tuple[Participant | None, Trial | None, Trial | None, int]:
    """``(participant, trial to answer now, the one after it, number answered)``.

    Marks the current trial as shown (the start of its server-side response time).
    """
    if not public_id:
        return None, None, None, 0
    with factory() as session:
        participant = session.scalar(select(Participant).where(Participant.public_id == public_id))
        if participant is None or participant.stage != "trials":
            return participant, None, None, 0
        upcoming = session.scalars(
            select(Trial)
            .where(Trial.participant_id == participant.id, Trial.answered_at.is_(None))
            .order_by(Trial.seq)
            .limit(2)
        ).all()
    if not upcoming:
        return participant, None, None, 0
    trial = upcoming[0]
    answered = trial.seq  # trials are answered in order
    if trial.shown_at is None:
        with write_session(factory) as session:
            now = utcnow()
            result = session.execute(
                update(Trial).where(Trial.id == trial.id, Trial.shown_at.is_(None)).values(shown_at=now)
            )
            if result.rowcount == 1:
                trial.shown_at = now
            else:  # a parallel request of the same participant was first
                trial.shown_at = session.scalar(select(Trial.shown_at).where(Trial.id == trial.id))
            session.commit()
    return participant, trial, (upcoming[1] if len(upcoming) > 1 else None), answered


@dataclass(frozen=True)
class Stored:
    """The outcome of an answer: ``duplicate`` is True when it repeated a stored answer."""

    seq: int
    ratings: dict[str, int]
    duplicate: bool
    completed: bool


def _describe(ratings: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in ratings.items())


def submit_answer(
    factory: sessionmaker[Session],
    study: Study,
    public_id: str | None,
    seq: int,
    ratings: dict[str, int],
    rt_ms: int | None,
    retry: bool = True,
) -> Stored:
    """Store all answers of trial ``seq`` at once (one transaction); idempotent, in order only."""
    try:
        with write_session(factory) as session:
            # one answer of a participant at a time (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE)
            participant = session.scalar(
                select(Participant).where(Participant.public_id == (public_id or "")).with_for_update()
            )
            if participant is None:
                raise RequestRejected(403, "no study session in this browser: open the study link to start")
            trial = session.scalar(select(Trial).where(Trial.participant_id == participant.id, Trial.seq == seq))
            if trial is None:
                raise RequestRejected(404, f"trial {seq} does not belong to this participant")
            if trial.answered_at is not None:
                stored = {a.question: a.rating for a in session.scalars(select(Answer).where(Answer.trial_id == trial.id))}
                if stored == ratings:
                    return Stored(seq, stored, True, participant.completed_at is not None)
                raise RequestRejected(
                    409,
                    f"trial {seq} was already answered ({_describe(stored)}); a different answer "
                    f"({_describe(ratings)}) cannot replace it",
                )
            current, last = session.execute(
                select(
                    func.min(case((Trial.answered_at.is_(None), Trial.seq))), func.max(Trial.seq)
                ).where(Trial.participant_id == participant.id)
            ).one()
            if current != seq or trial.shown_at is None:
                raise RequestRejected(409, f"trial {seq} is not the current trial; the next trial to answer is {current}")
            now = utcnow()
            server_rt = int((now - trial.shown_at).total_seconds() * 1000)
            if study.min_view_ms and server_rt + MIN_VIEW_GRACE_MS < study.min_view_ms:
                raise RequestRejected(
                    422, f"trial {seq} was answered after {server_rt} ms, before the minimum viewing time of {study.min_view_ms} ms"
                )
            session.execute(
                insert(Answer),
                [
                    {"trial_id": trial.id, "question": question, "rating": rating,
                     "rt_ms": server_rt if rt_ms is None else rt_ms, "server_rt_ms": server_rt, "created_at": now}
                    for question, rating in ratings.items()
                ],
            )
            trial.answered_at = now
            completed = seq == last
            if completed:
                participant.completed_at = now
                participant.stage = "done"
            session.commit()
            return Stored(seq, ratings, False, completed)
    except IntegrityError:
        if not retry:
            raise
        return submit_answer(factory, study, public_id, seq, ratings, rt_ms, retry=False)
