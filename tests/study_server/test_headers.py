"""Security headers set in one step leave the same headers as setting them one by one."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from study_server.app import HSTS, NO_STORE, SECURITY_HEADERS, HeaderSet

ITEMS = (*SECURITY_HEADERS, HSTS, NO_STORE)


def one_by_one(headers: Headers) -> Headers:
    for name, value in ITEMS:
        headers[name] = value
    return headers


@pytest.mark.parametrize(
    "existing",
    [
        [],
        [("Content-Type", "text/html; charset=utf-8"), ("Location", "/trial")],
        [("cache-control", "private"), ("Vary", "Cookie")],
        [("X-Frame-Options", "SAMEORIGIN"), ("Set-Cookie", "a=b"), ("x-frame-options", "ALLOW")],
    ],
)
def test_same_headers_as_setting_each(existing: list[tuple[str, str]]) -> None:
    fast = Headers(existing)
    HeaderSet(ITEMS).apply(fast)
    assert fast.to_wsgi_list() == one_by_one(Headers(existing)).to_wsgi_list()


def test_values_are_checked_once() -> None:
    with pytest.raises(ValueError):
        HeaderSet((("X-Test", "a\nInjected: yes"),))


def test_every_response_carries_each_header_once(client) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/"), client.post("/trial/0"), client.get("/api/nothing")):
        for name, value in SECURITY_HEADERS:
            assert response.headers.getlist(name) == [value]
    assert client.get("/").headers.getlist("Cache-Control") == ["no-store"]


ACCEPTS = [
    "",
    "application/json",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/html, application/json;q=0.5",
    "application/json;q=0.1, text/html",
    "application/json, text/html",
    "Application/JSON",
    "*/*",
    "application/jsonx",
]


@pytest.mark.parametrize("accept", ACCEPTS)
def test_answer_format_follows_the_best_accepted_type(app, accept: str) -> None:  # type: ignore[no-untyped-def]
    """JSON exactly when werkzeug's ``accept_mimetypes.best`` is application/json, as before."""
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    from tests.study_server.helpers import Walker

    w = Walker(app.test_client())
    w.start()
    seq = w.current()[0]
    response = w.post(f"/trial/{seq}", {"q_expression": "3", "q_identity": "3", "q_artifacts": "3"}, headers={"Accept": accept} if accept else {})
    wants_json = parse_accept_header(accept or None, MIMEAccept).best == "application/json"
    assert (response.status_code, response.is_json) == ((200, True) if wants_json else (303, False))
    if not wants_json:
        assert response.headers["Location"] == "/trial"


def test_redirect_after_an_answer_follows_the_script_root(app) -> None:  # type: ignore[no-untyped-def]
    from tests.study_server.helpers import Walker

    w = Walker(app.test_client())
    w.start()
    seq = w.current()[0]
    data = {"csrf_token": w.token, "q_expression": "3", "q_identity": "3", "q_artifacts": "3"}
    for root in ("", "/study", ""):
        response = w.client.post(f"/trial/{seq}", data=data, environ_overrides={"SCRIPT_NAME": root})
        assert (response.status_code, response.headers["Location"]) == (303, f"{root}/trial")
