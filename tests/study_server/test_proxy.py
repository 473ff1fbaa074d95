"""Behind reverse proxies (``proxy_hops``): X-Forwarded-* trusted only when configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from study_server import admin as admin_module
from study_server.app import create_app
from study_server.config import load_config
from tests.study_server.conftest import ADMIN_PASSWORD
from tests.study_server.helpers import Walker

RATINGS = {"expression": 4, "identity": 4, "artifacts": 4}


def _app(study_dir: Path, tmp_path: Path, hops: int):  # type: ignore[no-untyped-def]
    return create_app({"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / f'p{hops}.db'}",
                       "admin_password": ADMIN_PASSWORD, "proxy_hops": hops})  # fmt: skip


@pytest.mark.parametrize("hops", [0, 1])
def test_login_throttle_is_per_forwarded_client_only_behind_a_trusted_proxy(study_dir, tmp_path, hops) -> None:  # type: ignore[no-untyped-def]
    admin_module._failures.clear()
    try:
        w = Walker(_app(study_dir, tmp_path, hops).test_client())
        w.get("/admin/login")
        first = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [w.post("/admin/login", {"password": f"wrong{i}"}, headers=first).status_code for i in range(11)]
        assert statuses[:10] == [401] * 10 and statuses[10] == 429
        other = w.post("/admin/login", {"password": "wrong"}, headers={"X-Forwarded-For": "198.51.100.9"}).status_code
        # trusted: another client behind the proxy is not locked out; untrusted: the header is ignored
        assert other == (401 if hops else 429)
    finally:
        admin_module._failures.clear()


@pytest.mark.parametrize("hops", [0, 1])
def test_redirect_keeps_the_forwarded_mount_prefix(study_dir, tmp_path, hops) -> None:  # type: ignore[no-untyped-def]
    w = Walker(_app(study_dir, tmp_path, hops).test_client())
    w.start()
    seq, _, _ = w.current()
    r = w.answer(seq, RATINGS, headers={"X-Forwarded-Prefix": "/pilot"})
    assert r.status_code == 303
    assert r.headers["Location"] == ("/pilot/trial" if hops else "/trial")


def test_https_behind_the_proxy_turns_on_the_csrf_referrer_check(study_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = Walker(_app(study_dir, tmp_path, 1).test_client())
    w.start()
    seq, _, _ = w.current()
    https = {"X-Forwarded-Proto": "https"}
    missing = w.answer(seq, RATINGS, headers=https)
    assert missing.status_code == 400 and "referrer" in missing.get_data(as_text=True).lower()
    foreign = w.answer(seq, RATINGS, headers={**https, "Referer": "https://evil.example/trial"})
    assert foreign.status_code == 400
    ok = w.answer(seq, RATINGS, headers={**https, "Referer": "https://localhost/trial"})
    assert ok.status_code == 303


def test_proxy_hops_is_validated() -> None:
    with pytest.raises(ValueError, match=r"proxy_hops must be 0\.\.5"):
        load_config(env={}, study_dir="x", proxy_hops=9)
    with pytest.raises(ValueError, match="proxy_hops must be an integer, got 'two'"):
        load_config(env={"AUFX_STUDY_DIR": "x", "AUFX_PROXY_HOPS": "two"})
    assert load_config(env={"AUFX_STUDY_DIR": "x", "AUFX_PROXY_HOPS": "2"}).proxy_hops == 2
