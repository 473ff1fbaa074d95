"""Ratings export in the long format of DESIGN.md, with exclusion flags (never deletions).

One row per answered question of every main and attention-check trial (practice is left out).
A participant is excluded when they failed more attention checks than allowed, when the median
server-measured response time of their main trials is below the configured minimum, or (if
configured) when they did not finish. ``exclusion_reason`` says which rule fired.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from study_server.design import CHECK, PRACTICE
from study_server.models import Answer, Participant, Trial
from study_server.study import Study

COLUMNS: tuple[str, ...] = (
    "participant_id", "study_id", "trial_index", "stimulus_id", "item_id", "method", "question",
    "rating", "rt_ms", "created_at", "attention_check", "excluded", "exclusion_reason",
)  # fmt: skip


@dataclass(frozen=True)
class ParticipantSummary:
    """Per-participant facts the export and the dashboard share."""

    public_id: str
    platform: str
    external_pid: str | None
    list_index: int
    seed: int
    started_at: datetime
    completed_at: datetime | None
    failed_checks: int
    median_rt_ms: float | None
    excluded: bool
    reason: str


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def _load(session: Session, study: Study) -> list[tuple[Participant, Trial, Answer]]:
    rows = session.execute(
        select(Participant, Trial, Answer)
        .join(Trial, Trial.participant_id == Participant.id)
        .join(Answer, Answer.trial_id == Trial.id)
        .where(Participant.study_id == study.study_id, Trial.kind != PRACTICE)
        .order_by(Participant.id, Trial.seq, Answer.id)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def summarise(session: Session, study: Study) -> dict[int, ParticipantSummary]:
    """Exclusion decision and timing of every participant of ``study``."""
    participants = session.scalars(select(Participant).where(Participant.study_id == study.study_id)).all()
    failed: dict[int, set[int]] = defaultdict(set)
    rts: dict[int, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for participant, trial, answer in _load(session, study):
        if trial.kind == CHECK and answer.rating != trial.expected:
            failed[participant.id].add(trial.id)
        if trial.kind != CHECK and trial.id not in seen and answer.server_rt_ms is not None:
            rts[participant.id].append(answer.server_rt_ms)
        seen.add(trial.id)
    rules = study.exclusion
    out = {}
    for p in participants:
        median = statistics.median(rts[p.id]) if rts[p.id] else None
        reasons = []
        if len(failed[p.id]) > rules.max_failed_checks:
            reasons.append(f"failed {len(failed[p.id])} attention check(s)")
        if rules.min_median_rt_ms and median is not None and median < rules.min_median_rt_ms:
            reasons.append(f"median response time {median:.0f} ms < {rules.min_median_rt_ms} ms")
        if rules.exclude_incomplete and p.completed_at is None:
            reasons.append("did not finish")
        out[p.id] = ParticipantSummary(
            p.public_id, p.platform, p.external_pid, p.list_index, p.seed, p.created_at, p.completed_at,
            len(failed[p.id]), median, bool(reasons), "; ".join(reasons),
        )  # fmt: skip
    return out


def export_rows(factory: sessionmaker[Session], study: Study) -> list[dict[str, Any]]:
    """All rows of the long-format export, in participant and trial order."""
    with factory() as session:
        summary = summarise(session, study)
        rows = []
        for participant, trial, answer in _load(session, study):
            s = summary[participant.id]
            rows.append(
                {
                    "participant_id": participant.public_id,
                    "study_id": study.study_id,
                    "trial_index": trial.trial_index,
                    "stimulus_id": trial.stimulus_id,
                    "item_id": trial.item_id,
                    "method": trial.method,
                    "question": answer.question,
                    "rating": answer.rating,
                    "rt_ms": answer.rt_ms,
                    "created_at": _iso(answer.created_at),
                    "attention_check": trial.kind == CHECK,
                    "excluded": s.excluded,
                    "exclusion_reason": s.reason,
                }
            )
    return rows


def participants_table(factory: sessionmaker[Session], study: Study) -> list[dict[str, Any]]:
    """One row per participant (recruitment id, list, seed, timing, exclusion)."""
    with factory() as session:
        summary = summarise(session, study)
    return [
        {
            "participant_id": s.public_id,
            "platform": s.platform,
            "external_pid": s.external_pid,
            "list_index": s.list_index,
            "seed": s.seed,
            "started_at": _iso(s.started_at),
            "completed_at": _iso(s.completed_at),
            "failed_checks": s.failed_checks,
            "median_rt_ms": s.median_rt_ms,
            "excluded": s.excluded,
            "exclusion_reason": s.reason,
        }
        for s in summary.values()
    ]


def write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    """Long CSV; booleans as ``true``/``false``."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in row.items()})


def csv_text(rows: list[dict[str, Any]]) -> str:
    """:func:`write_csv` into a string."""
    buffer = io.StringIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


def json_text(factory: sessionmaker[Session], study: Study) -> str:
    """The JSON export: study id, columns, ratings (same rows as the CSV) and participants."""
    return json.dumps(
        {
            "study_id": study.study_id,
            "columns": list(COLUMNS),
            "ratings": export_rows(factory, study),
            "participants": participants_table(factory, study),
        },
        indent=1,
    )
