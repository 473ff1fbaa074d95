"""Live progress of a study for the admin dashboard."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from study_server.assignment import list_counts, mark_abandoned
from study_server.db import study_is_open, write_session
from study_server.design import MAIN
from study_server.export import summarise
from study_server.models import Answer, Participant, Trial, utcnow
from study_server.study import Study


def progress(factory: sessionmaker[Session], study: Study) -> dict[str, Any]:
    """Counts, ratings per method and question, median duration, exclusions, list balance.

    Idle sessions are marked abandoned first, so that the lists show what the next assignment sees."""
    with write_session(factory) as session:
        mark_abandoned(session, study, utcnow())
        session.commit()
    with factory() as session:
        lists = list_counts(session, study)
        summary = summarise(session, study)
        per_cell = session.execute(
            select(Trial.method, Answer.question, func.count(), func.avg(Answer.rating))
            .join(Answer, Answer.trial_id == Trial.id)
            .join(Participant, Participant.id == Trial.participant_id)
            .where(Participant.study_id == study.study_id, Trial.kind == MAIN)
            .group_by(Trial.method, Answer.question)
            .order_by(Trial.method, Answer.question)
        ).all()
        is_open = study_is_open(session, study.study_id)
    durations = [
        (s.completed_at - s.started_at).total_seconds() for s in summary.values() if s.completed_at is not None
    ]
    started: dict[int, int] = {}
    for s in summary.values():
        started[s.list_index] = started.get(s.list_index, 0) + 1
    return {
        "study_id": study.study_id,
        "open": is_open,
        "started": len(summary),
        "completed": len(durations),
        "excluded": sum(s.excluded for s in summary.values()),
        "median_duration_s": statistics.median(durations) if durations else None,
        "participants_per_list": {str(k): v for k, v in sorted(started.items())},
        "lists": [
            {"list": c.list_index, "completed": c.completed, "in_progress": c.in_progress,
             "abandoned": c.abandoned, "taken": c.taken}
            for c in lists
        ],  # fmt: skip
        "ratings": [
            {"method": m, "question": q, "n": int(n), "mean": round(float(mean), 3)} for m, q, n, mean in per_cell
        ],
    }
