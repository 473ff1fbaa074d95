"""The recruitment platform's record reconciled with the server's: who completed where.

The platform's side is Prolific's submissions export (CSV; columns ``Participant id`` and
``Status`` needed, ``Submission id``, ``Started at`` and ``Completed at`` used when present;
headers in any case, ``_`` for spaces accepted). The server's side is every participant of the
study. Each platform submission is paired with the server session of the same participant id
(the session whose ``SESSION_ID`` is the submission id first); the table has one row per
participant on either side, with both statuses and the mismatch, if any:

* ``completed_on_platform_not_server``: submitted on the platform (AWAITING REVIEW, APPROVED,
  REJECTED), not completed on the server;
* ``completed_on_server_not_platform``: completed on the server, RETURNED or TIMED-OUT on the
  platform;
* ``unknown_to_server``: a platform submission without a server session;
* ``unknown_to_platform``: a server session with a platform id missing from the export.

Sessions without a platform id (direct links, pilots) are listed without a mismatch.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from study_server.assignment import ABANDONED, COMPLETED, IN_PROGRESS, idle_cutoff
from study_server.models import Participant, Trial, utcnow
from study_server.study import Study

PLATFORM = "prolific"
#: Export header (lower case, single spaces) -> field; the first two are required.
COLUMNS: dict[str, str] = {
    "participant id": "participant_id",
    "status": "status",
    "submission id": "submission_id",
    "started at": "started_at",
    "completed at": "completed_at",
}
REQUIRED = ("Participant id", "Status")
SUBMITTED = ("AWAITING REVIEW", "APPROVED", "REJECTED")
NOT_COMPLETED = ("RETURNED", "TIMED-OUT")
OTHER_STATUSES = ("RESERVED", "ACTIVE", "SCREENED OUT")
STATUSES = (*SUBMITTED, *NOT_COMPLETED, *OTHER_STATUSES)

MISMATCHES: dict[str, str] = {
    "completed_on_platform_not_server": "completed on the platform, not on the server",
    "completed_on_server_not_platform": "completed on the server, returned or timed out on the platform",
    "unknown_to_server": "on the platform only: the server has no session for this id",
    "unknown_to_platform": "on the server only: not in the platform's export",
}
TABLE_COLUMNS: tuple[str, ...] = (
    "participant_id", "submission_id", "platform_status", "platform_started_at", "platform_completed_at",
    "server_participant_id", "server_status", "server_stage", "list_index", "server_started_at",
    "server_completed_at", "mismatch", "note",
)  # fmt: skip


class PlatformFileError(ValueError):
    """The platform export cannot be read; the message names the file, line, column and value."""


@dataclass(frozen=True)
class PlatformRecord:
    """One submission of the platform's export."""

    participant_id: str
    status: str
    submission_id: str = ""
    started_at: str = ""
    completed_at: str = ""
    line: int = 0


@dataclass(frozen=True)
class ServerRecord:
    """One participant session on the server."""

    public_id: str
    platform: str
    external_pid: str | None
    external_session_id: str | None
    status: str  # completed, in progress or abandoned
    stage: str
    list_index: int
    started_at: str
    completed_at: str


@dataclass(frozen=True)
class Row:
    """One line of the reconciliation table."""

    participant_id: str
    submission_id: str
    platform_status: str
    platform_started_at: str
    platform_completed_at: str
    server_participant_id: str
    server_status: str
    server_stage: str
    list_index: str
    server_started_at: str
    server_completed_at: str
    mismatch: str
    note: str


def _header_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", str(name).strip().lower())


def _status_key(value: str) -> str:
    return re.sub(r"[\s_-]+", " ", value.strip().upper())


_STATUS_BY_KEY = {_status_key(s): s for s in STATUSES}


def read_platform_export(source: str | Path | bytes, name: str | None = None) -> list[PlatformRecord]:
    """The submissions of a Prolific export (a path, or the file's bytes with its ``name``)."""
    label = name or str(source)
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a row longer than the header
            table = pd.read_csv(handle, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                skip_blank_lines=False, index_col=False)  # fmt: skip
    except FileNotFoundError:
        raise PlatformFileError(f"{label}: file does not exist") from None
    except pd.errors.EmptyDataError:
        raise PlatformFileError(f"{label}: the file is empty; expected Prolific's submissions export (CSV)") from None
    except UnicodeDecodeError:
        raise PlatformFileError(f"{label}: not a UTF-8 CSV file; expected Prolific's submissions export (CSV)") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
        raise PlatformFileError(f"{label}: not a readable CSV file ({str(error).strip()})") from None
    found: dict[str, str] = {}
    for column in table.columns:
        key = _header_key(column)
        if key in COLUMNS and COLUMNS[key] not in found:
            found[COLUMNS[key]] = column
    missing = [c for c in REQUIRED if COLUMNS[_header_key(c)] not in found]
    if missing:
        shown = ", ".join(repr(str(c)) for c in list(table.columns)[:12]) or "none"
        raise PlatformFileError(
            f"{label}: missing column(s) {', '.join(repr(c) for c in missing)} of Prolific's submissions "
            f"export (found: {shown})"
        )
    records = []
    for i, values in enumerate(table.itertuples(index=False, name=None), start=2):
        raw = dict(zip(table.columns, values, strict=True))
        if not any(str(v).strip() for v in values):
            continue  # a blank line (kept so that line numbers stay right)
        get = {field: str(raw[column]).strip() for field, column in found.items()}
        where = f"{label}:{i}"
        if not get["participant_id"]:
            raise PlatformFileError(f"{where}: column {found['participant_id']!r} is empty")
        status = _STATUS_BY_KEY.get(_status_key(get["status"]))
        if status is None:
            raise PlatformFileError(
                f"{where}: column {found['status']!r} has {get['status']!r}, not a Prolific status "
                f"({', '.join(STATUSES)})"
            )
        records.append(PlatformRecord(get["participant_id"], status, get.get("submission_id", ""),
                                      get.get("started_at", ""), get.get("completed_at", ""), i))  # fmt: skip
    return records


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds") + "Z"


def server_records(factory: sessionmaker[Session], study: Study, now: datetime | None = None) -> list[ServerRecord]:
    """Every participant session of ``study`` with its status (idle past the study's
    ``abandon_after_minutes`` counts as abandoned, marked or not)."""
    now = now or utcnow()
    cutoff = idle_cutoff(study, now)
    last_answer = (
        select(Trial.participant_id, func.max(Trial.answered_at).label("last"))
        .group_by(Trial.participant_id)
        .subquery()
    )
    with factory() as session:
        rows = session.execute(
            select(Participant, last_answer.c.last)
            .outerjoin(last_answer, last_answer.c.participant_id == Participant.id)
            .where(Participant.study_id == study.study_id)
            .order_by(Participant.id)
        ).all()
    records = []
    for p, last in rows:
        active = max(m for m in (p.created_at, p.active_at, last) if m is not None)
        if p.completed_at is not None:
            status = COMPLETED
        elif p.abandoned_at is not None or (cutoff is not None and active < cutoff):
            status = ABANDONED
        else:
            status = IN_PROGRESS
        records.append(ServerRecord(p.public_id, p.platform, p.external_pid, p.external_session_id, status,
                                    p.stage, p.list_index, _iso(p.created_at), _iso(p.completed_at)))  # fmt: skip
    return records


def _pair(platform: list[PlatformRecord], server: list[ServerRecord]) -> list[tuple[PlatformRecord | None, ServerRecord | None]]:
    """Pairs of one participant id: same submission/session id first, then submitted with completed."""
    left, right = list(platform), list(server)
    pairs: list[tuple[PlatformRecord | None, ServerRecord | None]] = []
    for p in list(left):
        match = next((s for s in right if p.submission_id and s.external_session_id == p.submission_id), None)
        if match is not None:
            pairs.append((p, match))
            left.remove(p)
            right.remove(match)
    left.sort(key=lambda p: p.status not in SUBMITTED)
    right.sort(key=lambda s: s.status != COMPLETED)
    while left and right:
        pairs.append((left.pop(0), right.pop(0)))
    pairs.extend((p, None) for p in left)
    pairs.extend((None, s) for s in right)
    return pairs


def _judge(p: PlatformRecord | None, s: ServerRecord | None) -> tuple[str, str]:
    """``(mismatch, note)`` of a pair."""
    if p is None:
        assert s is not None
        if s.platform != PLATFORM or not s.external_pid:
            return "", f"not recruited through Prolific (platform: {s.platform})"
        return "unknown_to_platform", MISMATCHES["unknown_to_platform"]
    if s is None:
        extra = f" ({p.status} there)"
        return "unknown_to_server", MISMATCHES["unknown_to_server"] + extra
    if p.status in SUBMITTED and s.status != COMPLETED:
        return "completed_on_platform_not_server", f"{p.status} on the platform, {s.status} on the server (stage {s.stage})"
    if s.status == COMPLETED and p.status in NOT_COMPLETED:
        return "completed_on_server_not_platform", f"completed on the server, {p.status} on the platform"
    return "", ""


def reconcile(platform: list[PlatformRecord], server: list[ServerRecord]) -> list[Row]:
    """One row per participant session on either side, sorted by participant id."""
    by_platform: dict[str, list[PlatformRecord]] = defaultdict(list)
    for p in platform:
        by_platform[p.participant_id].append(p)
    by_server: dict[str, list[ServerRecord]] = defaultdict(list)
    without_id = []
    for s in server:
        if s.platform == PLATFORM and s.external_pid:
            by_server[s.external_pid].append(s)
        else:
            without_id.append(s)
    rows = []
    for pid in sorted(set(by_platform) | set(by_server)):
        for p, s in _pair(by_platform.get(pid, []), by_server.get(pid, [])):
            rows.append(_row(pid, p, s))
    rows.extend(_row(s.external_pid or "", None, s) for s in without_id)
    return rows


def _row(pid: str, p: PlatformRecord | None, s: ServerRecord | None) -> Row:
    mismatch, note = _judge(p, s)
    return Row(
        participant_id=pid,
        submission_id=p.submission_id if p else "",
        platform_status=p.status if p else "",
        platform_started_at=p.started_at if p else "",
        platform_completed_at=p.completed_at if p else "",
        server_participant_id=s.public_id if s else "",
        server_status=s.status if s else "",
        server_stage=s.stage if s else "",
        list_index=str(s.list_index) if s else "",
        server_started_at=s.started_at if s else "",
        server_completed_at=s.completed_at if s else "",
        mismatch=mismatch,
        note=note,
    )


def summary(rows: list[Row]) -> dict[str, int]:
    """Rows per mismatch kind (every kind listed), plus ``agree`` and ``rows``."""
    counts = {kind: 0 for kind in MISMATCHES}
    for row in rows:
        if row.mismatch:
            counts[row.mismatch] += 1
    counts["agree"] = sum(1 for row in rows if not row.mismatch)
    counts["rows"] = len(rows)
    return counts


def write_table(rows: list[Row], out: TextIO) -> None:
    """The reconciliation table as CSV (``TABLE_COLUMNS``)."""
    writer = csv.DictWriter(out, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))


def table_text(rows: list[Row]) -> str:
    """:func:`write_table` into a string."""
    buffer = io.StringIO()
    write_table(rows, buffer)
    return buffer.getvalue()
