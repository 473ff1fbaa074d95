"""The reusing CSRF check accepts and rejects exactly what Flask-WTF's does, with its messages."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from flask import Flask, g, session
from flask_wtf.csrf import CSRFProtect, generate_csrf, validate_csrf
from itsdangerous import Signer, TimestampSigner, URLSafeTimedSerializer
from wtforms import ValidationError

from study_server.csrf import CSRF_SALT, ReusingCSRFProtect
from tests.study_server.helpers import Walker

KEY = "k" * 64
RAW = "f" * 40


def token_at(timestamp: int, raw: str = RAW, key: str = KEY, salt: str = CSRF_SALT) -> str:
    """A token as Flask-WTF makes it, signed at ``timestamp``."""

    class Clock(TimestampSigner):
        def get_timestamp(self) -> int:
            return timestamp

    return URLSafeTimedSerializer(key, salt=salt, signer=Clock).dumps(raw)


def flask_wtf_verdict(data: str | None) -> str | None:
    """Flask-WTF's answer for ``data``: ``None`` (valid) or its message."""
    try:
        validate_csrf(data)
    except ValidationError as error:
        return error.args[0]
    return None


def tokens() -> dict[str, str | None]:
    """Tokens of every kind, for the session whose raw token is ``RAW``."""
    now = int(time.time())
    return {
        "valid": token_at(now),
        "none": None,
        "empty": "",
        "forged": "forged",
        "dotted-garbage": "a.b.c",
        "no-timestamp": URLSafeTimedSerializer(KEY, salt=CSRF_SALT, signer=Signer).dumps(RAW),
        "other-key": token_at(now, key="x" * 64),
        "other-salt": token_at(now, salt="other"),
        "other-session": token_at(now, raw="0" * 40),
        "old": token_at(now - 7200),
        "future": token_at(now + 7200),
        "tampered": token_at(now)[:-2] + "AA",
        "not-a-string": URLSafeTimedSerializer(KEY, salt=CSRF_SALT).dumps(12345),
    }


@pytest.mark.parametrize("time_limit", [None, 3600])
@pytest.mark.parametrize("in_session", [True, False])
@pytest.mark.parametrize("name", list(tokens()))
def test_same_verdict_as_flask_wtf(name: str, in_session: bool, time_limit: int | None) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=KEY, WTF_CSRF_TIME_LIMIT=time_limit)
    protect = ReusingCSRFProtect(app)
    data = tokens()[name]
    with app.test_request_context("/"):
        if in_session:
            session["csrf_token"] = RAW
        expected: Any
        try:
            expected = flask_wtf_verdict(data)
        except TypeError:  # hmac.compare_digest of str and int: both must raise it
            expected = TypeError
        if expected is TypeError:
            with pytest.raises(TypeError):
                protect.csrf_failure(data)
        else:
            assert protect.csrf_failure(data) == expected
            protect.csrf_failure(data)  # and again, from the cached serializer
            assert protect.csrf_failure(data) == expected


def test_verdicts_cover_every_message() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=KEY, WTF_CSRF_TIME_LIMIT=3600)
    protect = ReusingCSRFProtect(app)
    with app.test_request_context("/"):
        session["csrf_token"] = RAW
        found = {protect.csrf_failure(t) for name, t in tokens().items() if name != "not-a-string"}
    assert found == {None, "The CSRF token is missing.", "The CSRF token is invalid.", "The CSRF token has expired.", "The CSRF tokens do not match."}


def test_a_new_secret_key_is_used_at_once() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=KEY, WTF_CSRF_TIME_LIMIT=None)
    protect = ReusingCSRFProtect(app)
    with app.test_request_context("/"):
        token = generate_csrf()
        assert protect.csrf_failure(token) is None
        app.secret_key = "n" * 64
        assert protect.csrf_failure(token) == "The CSRF token is invalid."
        app.config["WTF_CSRF_SECRET_KEY"] = KEY
        assert protect.csrf_failure(token) is None


def make_app(protect: CSRFProtect, **config: Any) -> Flask:
    """An app with a form page and a POST view, an exempt POST view and a CSRF error page."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=KEY, WTF_CSRF_TIME_LIMIT=None, **config)
    protect.init_app(app)

    @app.get("/form")
    def form() -> str:
        return generate_csrf()

    @app.post("/post")
    def post() -> str:
        return f"ok {g.get('csrf_valid')}"

    @app.post("/exempt")
    @protect.exempt
    def exempt() -> str:
        return "exempt"

    return app


@pytest.mark.parametrize("secure", [False, True])
def test_protect_behaves_like_flask_wtf(secure: bool) -> None:
    """Status and body of the same requests to a Flask-WTF app and a reusing one."""
    results = []
    for protect in (CSRFProtect(), ReusingCSRFProtect()):
        client = make_app(protect).test_client()
        base = "https://localhost" if secure else "http://localhost"
        token = client.get(f"{base}/form").get_data(as_text=True)
        seen = []
        for data, headers in [
            ({"csrf_token": token}, {}),
            ({}, {"X-CSRFToken": token}),
            ({"prefix-csrf_token": token}, {}),
            ({"csrf_token": token}, {"Referer": f"{base}/form"}),
            ({"csrf_token": token}, {"Referer": "https://evil.example/"}),
            ({}, {}),
            ({"csrf_token": "forged"}, {}),
        ]:
            response = client.post(f"{base}/post", data=data, headers=headers)
            seen.append((response.status_code, re.sub(r"\s+", " ", response.get_data(as_text=True))))
        seen.append((client.post(f"{base}/exempt").status_code, ""))
        seen.append((client.get(f"{base}/form").status_code, ""))
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][0][0] == (400 if secure else 200)  # over HTTPS a referrer is required


def test_study_app_uses_the_reusing_check(app) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(app.extensions["csrf"], ReusingCSRFProtect)


def post_answer(w: Walker, token: str | None) -> tuple[int, str]:
    data = {"q_expression": "3", "q_identity": "3", "q_artifacts": "3"} | ({"csrf_token": token} if token is not None else {})
    response = w.client.post("/trial/0", data=data)
    return response.status_code, html.unescape(response.get_data(as_text=True))


def test_answers_with_bad_tokens_are_rejected_with_flask_wtf_messages(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.start()
    w.current()
    other = Walker(app.test_client())
    other.get("/")
    other.get("/consent")
    cases = {
        None: "The CSRF token is missing.",
        "forged": "The CSRF token is invalid.",
        token_at(0, key=app.secret_key): "The CSRF tokens do not match.",
        other.token: "The CSRF tokens do not match.",
        w.token[:-2] + ("AA" if not w.token.endswith("AA") else "BB"): "The CSRF token is invalid.",
    }
    for token, message in cases.items():
        status, text = post_answer(w, token)
        assert status == 400
        assert f"form rejected: {message} Reload the page and try again." in text
    app.config["WTF_CSRF_TIME_LIMIT"] = 60
    status, text = post_answer(w, token_at(0, raw="x", key=app.secret_key))
    assert status == 400 and "The CSRF token has expired." in text
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    assert post_answer(w, w.token)[0] == 303
