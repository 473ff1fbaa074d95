"""Returning participants: the same platform participant in the same platform session, or a
private resume link. No Flask.

The rule (docs/study_server.md, section 4): a browser that opens the study link without a study
session of its own resumes the participant who started with the same platform participant id
(``PROLIFIC_PID`` / ``workerId``) *and* the same platform session id (``SESSION_ID`` /
``assignmentId``), in any browser. The same participant id with another or no session id is
refused (409) unless the study allows repeats, in which case it starts anew. The private link
(``/resume/<token>``, shown when the session starts) resumes its participant in any browser;
the token is the participant's server id and its HMAC under the server's key.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from study_server.db import write_session
from study_server.errors import RequestRejected
from study_server.models import Participant, utcnow
from study_server.study import Study

ALREADY_STARTED = (
    "this participant id has already started the study in another session; each participant can "
    "take part once. If it was you, continue with the private link shown when you started, or open "
    "the study again from the same session on the recruitment platform"
)


def platform_ids(recruit: dict[str, str]) -> tuple[str, str | None, str | None]:
    """``(platform, participant id, platform session id)`` from the recruitment parameters."""
    if "PROLIFIC_PID" in recruit:
        return "prolific", recruit["PROLIFIC_PID"], recruit.get("SESSION_ID")
    if "workerId" in recruit:
        return "mturk", recruit["workerId"], recruit.get("assignmentId")
    return "direct", None, None


def returning_participant(factory: sessionmaker[Session], study: Study, recruit: dict[str, str]) -> str | None:
    """The server id of the participant these recruitment ids resume; None: a new participant.

    Raises :class:`RequestRejected` (409) for a participant id that started in another session
    (unless the study allows repeats)."""
    platform, external, platform_session = platform_ids(recruit)
    if external is None:
        return None
    with factory() as session:
        rows = session.execute(
            select(Participant.public_id, Participant.external_session_id)
            .where(Participant.study_id == study.study_id, Participant.platform == platform,
                   Participant.external_pid == external)
            .order_by(Participant.id.desc())
        ).all()  # fmt: skip
    for public_id, started_session in rows:
        if platform_session and started_session == platform_session:
            return public_id
    if rows and not study.allow_repeat:
        raise RequestRejected(409, ALREADY_STARTED)
    return None


def mark_resumed(factory: sessionmaker[Session], public_id: str) -> None:
    """Record activity now and lift an abandoned mark (the participant counts for their list again)."""
    with write_session(factory) as session:
        session.execute(
            update(Participant).where(Participant.public_id == public_id).values(active_at=utcnow(), abandoned_at=None)
        )
        session.commit()


class ResumeLinks:
    """Private resume tokens: ``<server id>-<HMAC-SHA256 of it with the server's key>``, all hex
    (so no token can spell a method or file name on a page that must stay blind)."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"aufx-resume-link:" + secret_key.encode()).digest()

    def _mac(self, public_id: str) -> str:
        return hmac.new(self._key, public_id.encode(), hashlib.sha256).hexdigest()[:32]

    def token(self, public_id: str) -> str:
        """The token of ``public_id`` (the same every time)."""
        return f"{public_id}-{self._mac(public_id)}"

    def public_id(self, token: str) -> str | None:
        """The server id a token was made for, or None if it is not one of ours."""
        public_id, _, mac = token.rpartition("-")
        if not public_id or len(token) > 100 or not hmac.compare_digest(mac, self._mac(public_id)):
            return None
        return public_id
