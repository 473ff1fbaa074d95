"""Hostile or malformed input: each kind is rejected with a 4xx and a clear message, nothing stored."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from study_server.models import Answer, Participant, Trial
from tests.study_server.helpers import Walker

QS = ("expression", "identity", "artifacts")
GOOD = {f"q_{q}": "3" for q in QS}


def snapshot(app) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    """Everything a rejected request could have changed."""
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        people = tuple(s.execute(select(Participant.public_id, Participant.stage, Participant.age, Participant.gender)).all())
        answers = tuple(s.execute(select(Answer.trial_id, Answer.question, Answer.rating)).all())
        answered = s.scalar(select(func.count()).where(Trial.answered_at.is_not(None)))
    return people, answers, answered


def answer(w: Walker, seq: int, **fields: str) -> Any:
    return w.post(f"/trial/{seq}", {**GOOD, "rt_ms": "1200", **fields})


def raw_answer(w: Walker, seq: int, data: Any, **kw: Any) -> Any:
    return w.client.post(f"/trial/{seq}", data=data, **kw)


def other_session_token(w: Walker) -> str:
    other = Walker(w.client.application.test_client())
    other.get("/")
    other.get("/consent")
    return other.token


# (id, stage the participant is in, request, expected status, words the message must contain)
Case = tuple[str, str, Callable[[Walker, int], Any], int, str]
CASES: list[Case] = [
    ("rating-zero", "trial", lambda w, s: answer(w, s, q_expression="0"), 400, "'q_expression' must be between 1 and 5"),
    ("rating-above-scale", "trial", lambda w, s: answer(w, s, q_identity="6"), 400, "'q_identity' must be between 1 and 5"),
    ("rating-text", "trial", lambda w, s: answer(w, s, q_artifacts="abc"), 400, "must be a whole number"),
    ("rating-decimal", "trial", lambda w, s: answer(w, s, q_expression="3.5"), 400, "must be a whole number"),
    ("rating-negative", "trial", lambda w, s: answer(w, s, q_expression="-1"), 400, "must be a whole number"),
    ("rating-plus-sign", "trial", lambda w, s: answer(w, s, q_expression="+3"), 400, "must be a whole number"),
    ("rating-whitespace", "trial", lambda w, s: answer(w, s, q_expression=" 3"), 400, "must be a whole number"),
    ("rating-exponent", "trial", lambda w, s: answer(w, s, q_expression="1e0"), 400, "must be a whole number"),
    ("rating-huge", "trial", lambda w, s: answer(w, s, q_expression="9" * 40), 400, "must be a whole number"),
    ("rating-nul-byte", "trial", lambda w, s: answer(w, s, q_expression="3\x00"), 400, "must be a whole number"),
    ("rating-fullwidth-digit", "trial", lambda w, s: answer(w, s, q_expression="\uff13"), 400, "must be a whole number"),
    ("rating-sql", "trial", lambda w, s: answer(w, s, q_expression="3; DROP TABLE answer"), 400, "must be a whole number"),
    ("question-missing", "trial", lambda w, s: w.post(f"/trial/{s}", {"q_expression": "3", "q_identity": "3"}), 400, "question 'artifacts' was not answered"),
    ("question-empty", "trial", lambda w, s: answer(w, s, q_identity=""), 400, "question 'identity' was not answered"),
    ("unknown-field", "trial", lambda w, s: answer(w, s, q_colour="3"), 400, "unexpected field 'q_colour'"),
    ("method-field", "trial", lambda w, s: answer(w, s, method="aufx"), 400, "unexpected field 'method'"),
    ("repeated-field", "trial", lambda w, s: raw_answer(w, s, MultiDict([("csrf_token", w.token), *GOOD.items(), ("q_expression", "5")])), 400, "sent more than once"),
    ("rt-negative", "trial", lambda w, s: answer(w, s, rt_ms="-5"), 400, "'rt_ms' must be a whole number"),
    ("rt-text", "trial", lambda w, s: answer(w, s, rt_ms="soon"), 400, "'rt_ms' must be a whole number"),
    ("rt-too-large", "trial", lambda w, s: answer(w, s, rt_ms="99999999"), 400, "'rt_ms' must be between 0 and 3600000"),
    ("csrf-missing", "trial", lambda w, s: raw_answer(w, s, GOOD), 400, "CSRF token is missing"),
    ("csrf-wrong", "trial", lambda w, s: raw_answer(w, s, {**GOOD, "csrf_token": "forged"}), 400, "CSRF token is invalid"),
    ("csrf-other-session", "trial", lambda w, s: raw_answer(w, s, {**GOOD, "csrf_token": other_session_token(w)}), 400, "CSRF"),
    ("trial-not-owned", "trial", lambda w, s: answer(w, 9999), 404, "trial 9999 does not belong to this participant"),
    ("trial-id-text", "trial", lambda w, s: w.post("/trial/abc", GOOD), 404, "trial 'abc' does not exist"),
    ("trial-id-negative", "trial", lambda w, s: w.post("/trial/-1", GOOD), 404, "trial '-1' does not exist"),
    ("trial-skip-ahead", "trial", lambda w, s: answer(w, s + 1), 409, "is not the current trial; the next trial to answer is"),
    ("body-too-large", "trial", lambda w, s: answer(w, s, pad="x" * 20000), 413, "request too large"),
    ("too-many-parts", "trial", lambda w, s: raw_answer(w, s, {f"f{i}": "1" for i in range(200)} | {"csrf_token": w.token}, content_type="multipart/form-data"), 413, "request too large"),
    ("file-upload", "trial", lambda w, s: raw_answer(w, s, {**GOOD, "csrf_token": w.token, "f": (io.BytesIO(b"x"), "a.png")}, content_type="multipart/form-data"), 400, "file uploads are not accepted"),
    ("json-body", "trial", lambda w, s: w.client.post(f"/trial/{s}", json={"q_expression": 3}, headers={"X-CSRFToken": w.token}), 400, "was not answered"),
    ("get-on-answer", "trial", lambda w, s: w.client.get(f"/trial/{s}"), 405, "method GET is not allowed"),
    ("put-on-answer", "trial", lambda w, s: w.client.put(f"/trial/{s}", data=GOOD), 405, "method PUT is not allowed"),
    ("tampered-cookie", "trial", lambda w, s: (w.client.set_cookie("study_session", "eyJwaWQiOiJ4In0.forged.sig"), answer(w, s))[1], 400, "CSRF"),
    ("no-session", "consent", lambda w, s: w.post("/trial/0", GOOD), 403, "no study session in this browser"),
    ("image-traversal", "trial", lambda w, s: w.client.get("/img/..%2F..%2Fmanifest.csv.png"), 404, "not found"),
    ("image-dotdot-path", "trial", lambda w, s: w.client.get("/img/../study.toml"), 404, "not found"),
    ("image-bad-token", "trial", lambda w, s: w.client.get("/img/ZZZ.png"), 404, "image not found"),
    ("image-unknown-token", "trial", lambda w, s: w.client.get("/img/" + "0" * 32 + ".png"), 404, "image not found"),
    ("image-stimulus-id", "trial", lambda w, s: w.client.get("/img/aufx__item00.png"), 404, "image not found"),
    ("pid-script", "fresh", lambda w, s: w.client.get("/?PROLIFIC_PID=<script>alert(1)</script>"), 400, "URL parameter PROLIFIC_PID must be"),
    ("pid-too-long", "fresh", lambda w, s: w.client.get("/?PROLIFIC_PID=" + "a" * 65), 400, "URL parameter PROLIFIC_PID must be"),
    ("session-id-space", "fresh", lambda w, s: w.client.get("/?SESSION_ID=a%20b"), 400, "URL parameter SESSION_ID must be"),
    ("worker-id-unicode", "fresh", lambda w, s: w.client.get("/?workerId=%C3%A9"), 400, "URL parameter workerId must be"),
    ("consent-other-value", "consent", lambda w, s: w.post("/consent", {"consent": "maybe"}), 400, "field 'consent' must be 'yes' or 'no'"),
    ("consent-missing", "consent", lambda w, s: w.post("/consent", {}), 400, "field 'consent' is missing"),
    ("consent-extra-field", "consent", lambda w, s: w.post("/consent", {"consent": "yes", "list_index": "2"}), 400, "unexpected field 'list_index'"),
    ("age-text", "demographics", lambda w, s: w.post("/demographics", {"age": "old"}), 400, "field 'age' must be a whole number"),
    ("age-child", "demographics", lambda w, s: w.post("/demographics", {"age": "12"}), 400, "field 'age' must be between 18 and 120"),
    ("gender-unknown", "demographics", lambda w, s: w.post("/demographics", {"gender": "<b>x</b>"}), 400, "field 'gender' must be one of"),
    ("admin-export-anonymous", "trial", lambda w, s: w.client.get("/api/export.csv"), 401, "admin login required"),
    ("admin-state-anonymous", "trial", lambda w, s: w.post("/admin/state", {"open": "no"}), 401, "admin login required"),
    ("admin-wrong-password", "fresh", lambda w, s: (w.get("/admin/login"), w.post("/admin/login", {"password": "guess"}))[1], 401, "wrong admin password"),
]


def test_at_least_thirty_kinds() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(("name", "stage", "request_fn", "status", "message"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_rejected(app, name: str, stage: str, request_fn: Callable[[Walker, int], Any], status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    seq = 0
    if stage == "trial":
        w.start()
        seq, _, _ = w.current()
    elif stage == "demographics":
        w.get("/")
        w.get("/consent")
        w.post("/consent", {"consent": "yes"})
        w.get("/demographics")
    elif stage == "consent":
        w.get("/")
        w.get("/consent")
    else:
        w.get("/")
    before = snapshot(app)
    response = request_fn(w, seq)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, (response.status_code, text[:500])
    assert message in text, text[:800]
    assert snapshot(app) == before, "a rejected request changed stored data"
    if response.mimetype == "text/html":
        assert 'id="error-message"' in text
