"""Strict parsing of every field a client sends; each failure names the field and the value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from werkzeug.datastructures import MultiDict

from study_server.errors import RequestRejected

#: Query parameters recruitment platforms append to the study URL.
RECRUIT_PARAMS: tuple[str, ...] = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId", "hitId")
RECRUIT_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
INT_RE = re.compile(r"^[0-9]{1,9}$")
GENDERS: tuple[str, ...] = ("female", "male", "non-binary", "other", "prefer-not-to-say")
MAX_RT_MS = 3_600_000


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def check_fields(form: MultiDict[str, str], allowed: Iterable[str], required: Iterable[str] = ()) -> None:
    """Reject unknown, repeated or missing fields."""
    allowed = set(allowed)
    for key in form.keys():
        if key not in allowed:
            raise RequestRejected(400, f"unexpected field {_show(key)}")
        if len(form.getlist(key)) > 1:
            raise RequestRejected(400, f"field {key!r} was sent more than once")
    for key in required:
        if key not in form or form[key] == "":
            raise RequestRejected(400, f"field {key!r} is missing")


def parse_int(value: str, name: str, low: int, high: int) -> int:
    """A decimal integer in ``low..high`` (no sign, spaces, exponent or leading '+')."""
    if not INT_RE.match(value or ""):
        raise RequestRejected(400, f"field {name!r} must be a whole number, got {_show(value)}")
    number = int(value)
    if not low <= number <= high:
        raise RequestRejected(400, f"field {name!r} must be between {low} and {high}, got {number}")
    return number


def parse_ratings(form: MultiDict[str, str], questions: list[str], points: int) -> dict[str, int]:
    """One rating per configured question, each within the scale."""
    ratings = {}
    for qid in questions:
        field = f"q_{qid}"
        if field not in form or form[field] == "":
            raise RequestRejected(400, f"question {qid!r} was not answered (field {field!r} is missing)")
        ratings[qid] = parse_int(form[field], field, 1, points)
    return ratings


def parse_recruitment(args: Mapping[str, str]) -> dict[str, str]:
    """The recruitment ids in the study URL (other parameters are ignored)."""
    found = {}
    for name in RECRUIT_PARAMS:
        if name in args:
            value = args[name]
            if not RECRUIT_RE.match(value):
                raise RequestRejected(400, f"URL parameter {name} must be 1-64 letters, digits, '_' or '-', got {_show(value)}")
            found[name] = value
    return found


def parse_seq(text: str) -> int:
    """A trial number from the URL."""
    if not INT_RE.match(text) or len(text) > 6:
        raise RequestRejected(404, f"trial {_show(text)} does not exist")
    return int(text)
