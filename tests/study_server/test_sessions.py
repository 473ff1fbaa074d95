"""The cached-serializer session interface reads and writes exactly Flask's signed cookies."""

from __future__ import annotations

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from study_server.sessions import CachedSerializerSessionInterface


def make_app(interface: SecureCookieSessionInterface, key: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = key
    app.session_interface = interface

    @app.get("/set")
    def set_value() -> str:
        session["pid"] = "abc123"
        return "ok"

    @app.get("/get")
    def get_value() -> str:
        return session.get("pid", "none")

    return app


def test_cookies_are_interchangeable_with_flask() -> None:
    flask_app = make_app(SecureCookieSessionInterface(), "k" * 64)
    cached_app = make_app(CachedSerializerSessionInterface(), "k" * 64)
    flask_client, cached_client = flask_app.test_client(), cached_app.test_client()
    flask_client.get("/set")
    cached_client.get("/set")
    cached_client.set_cookie("session", flask_client.get_cookie("session").value)
    assert cached_client.get("/get").get_data(as_text=True) == "abc123"
    flask_client.set_cookie("session", cached_app.test_client().get("/set").headers["Set-Cookie"].split(";")[0].split("=", 1)[1])
    assert flask_client.get("/get").get_data(as_text=True) == "abc123"


def test_a_new_key_is_used_at_once() -> None:
    interface = CachedSerializerSessionInterface()
    app = make_app(interface, "a" * 64)
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").get_data(as_text=True) == "abc123"
    app.secret_key = "b" * 64  # the cached serializer must not keep accepting the old key
    assert client.get("/get").get_data(as_text=True) == "none"
    forged = make_app(SecureCookieSessionInterface(), "c" * 64).test_client()
    forged.get("/set")
    client.set_cookie("session", forged.get_cookie("session").value)
    assert client.get("/get").get_data(as_text=True) == "none"
