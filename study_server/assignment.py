"""Counterbalancing with abandoned sessions: which list the next participant gets.

A participant is *completed*, *in progress*, or *abandoned*: not completed and idle (no stage
change, resume, answer or presence ping) for the study's ``abandon_after_minutes``. Every
participant page pings the server once a minute while it is open (:func:`record_presence`), so
idle means that no page of the study is open, not that the participant is slow. Abandoned sessions are
marked (``participant.abandoned_at``) each time a list is chosen and each time the admin looks;
one that becomes active again (an answer or a resume after the mark) is unmarked at the next
pass. A list is *taken* by its completed and in-progress participants; the next participant gets
the list taken least often (ties: fewer completed, then the lower index), so the list of an
abandoned session goes to the next participant and the design stays balanced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from study_server.db import write_session
from study_server.design import n_lists
from study_server.models import Participant, Trial
from study_server.study import Study

P, T = Participant.__table__, Trial.__table__
COMPLETED, IN_PROGRESS, ABANDONED = "completed", "in progress", "abandoned"
#: A presence ping writes only when the last recorded activity is older than this.
PRESENCE_RESOLUTION = timedelta(seconds=30)


@dataclass(frozen=True)
class ListCount:
    """Participants of one counterbalancing list by state."""

    list_index: int
    completed: int = 0
    in_progress: int = 0
    abandoned: int = 0

    @property
    def taken(self) -> int:
        """Completed and in-progress participants (abandoned ones free their place)."""
        return self.completed + self.in_progress


def idle_cutoff(study: Study, now: datetime) -> datetime | None:
    """Sessions without activity since this moment are abandoned (None: never)."""
    if not study.abandon_after_minutes:
        return None
    return now - timedelta(minutes=study.abandon_after_minutes)


def _active_since(moment: object):  # type: ignore[no-untyped-def]
    """SQL condition: the participant row ``P`` has had activity at or after ``moment`` (a column or value)."""
    answered = exists().where(T.c.participant_id == P.c.id, T.c.answered_at >= moment)
    return or_(func.coalesce(P.c.active_at, P.c.created_at) >= moment, answered)


def mark_abandoned(session: Session, study: Study, now: datetime) -> int:
    """Mark idle sessions abandoned and unmark those active again; the number newly marked.

    Runs in the caller's (write) transaction, so a list chosen right after sees the marks."""
    revived = update(P).where(
        P.c.study_id == study.study_id,
        P.c.abandoned_at.is_not(None),
        or_(P.c.completed_at.is_not(None), _active_since(P.c.abandoned_at)),
    ).values(abandoned_at=None)
    session.execute(revived)
    cutoff = idle_cutoff(study, now)
    if cutoff is None:
        return 0
    idle = update(P).where(
        P.c.study_id == study.study_id,
        P.c.completed_at.is_(None),
        P.c.abandoned_at.is_(None),
        ~_active_since(cutoff),
    ).values(abandoned_at=now)
    return int(session.execute(idle).rowcount or 0)


def state_column():  # type: ignore[no-untyped-def]
    """SQL expression: ``completed``, ``abandoned`` or ``in progress`` of the participant row ``P``."""
    return case(
        (P.c.completed_at.is_not(None), COMPLETED),
        (P.c.abandoned_at.is_not(None), ABANDONED),
        else_=IN_PROGRESS,
    )


def list_counts(session: Session, study: Study) -> list[ListCount]:
    """Every list of the design with its participants by state (as last marked)."""
    state = state_column()
    rows = session.execute(
        select(P.c.list_index, state, func.count())
        .where(P.c.study_id == study.study_id)
        .group_by(P.c.list_index, state)
    ).all()
    found: dict[int, dict[str, int]] = {k: {} for k in range(n_lists(study))}
    for list_index, name, count in rows:
        found.setdefault(list_index, {})[name] = int(count)
    return [
        ListCount(k, v.get(COMPLETED, 0), v.get(IN_PROGRESS, 0), v.get(ABANDONED, 0)) for k, v in sorted(found.items())
    ]


def choose_list(study: Study, counts: list[ListCount]) -> int:
    """The list for the next participant: taken least often, then fewer completed, then lowest index."""
    valid = [c for c in counts if 0 <= c.list_index < n_lists(study)]
    by_index = {c.list_index: c for c in valid}
    candidates = [by_index.get(k, ListCount(k)) for k in range(n_lists(study))]
    return min(candidates, key=lambda c: (c.taken, c.completed, c.list_index)).list_index


def assign_list(session: Session, study: Study, now: datetime) -> int:
    """Mark abandoned sessions, then choose the next participant's list (in one write transaction)."""
    mark_abandoned(session, study, now)
    return choose_list(study, list_counts(session, study))



def record_presence(factory: sessionmaker[Session], public_id: str, now: datetime) -> bool:
    """A page of ``public_id`` is open: record activity (at most one write per ``PRESENCE_RESOLUTION``).

    Returns whether it wrote. Completed participants are left alone."""
    with factory() as session:
        row = session.execute(
            select(P.c.completed_at, func.coalesce(P.c.active_at, P.c.created_at)).where(P.c.public_id == public_id)
        ).first()
    if row is None or row[0] is not None or row[1] > now - PRESENCE_RESOLUTION:
        return False
    with write_session(factory) as session:
        session.execute(update(P).where(P.c.public_id == public_id).values(active_at=now))
        session.commit()
    return True
