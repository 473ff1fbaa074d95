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
