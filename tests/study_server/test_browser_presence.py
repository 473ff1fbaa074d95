"""An open study page pings the server once a minute in chromium (the page clock is fast-forwarded)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from study_server import clock
from study_server.app import create_app
from study_server.models import Participant
from tests.study_server.browser import launch, serving
from tests.study_server.helpers import make_study

pytestmark = pytest.mark.browser


def test_open_page_reports_presence(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    folder = make_study(tmp_path / "study", demographics=False)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'p.db'}"})
    rt = app.extensions["aufx_study"]
    now = [datetime(2026, 6, 1, 12, 0)]  # the server's clock moves with the page's
    with clock.simulated(lambda: now[0]), serving(app) as base, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        pings: list[str] = []
        page.on("request", lambda r: pings.append(r.url) if r.url.endswith("/alive") else None)
        page.goto(f"{base}/")
        page.clock.install()
        page.click("#start")
        page.click("#consent-yes")  # the instructions page, open for a while
        page.wait_for_load_state("load")  # its script (the minute timer) has run: on a busy machine click returns before
        with rt.db() as s:
            started = s.scalar(select(Participant.active_at))
        now[0] += timedelta(seconds=30)
        page.clock.fast_forward(30_000)
        assert pings == []
        now[0] += timedelta(seconds=31)
        with page.expect_request("**/alive"):
            page.clock.fast_forward(31_000)
        browser.close()
    assert pings == [f"{base}/alive"]
    with rt.db() as s:
        assert s.scalar(select(Participant.active_at)) == started + timedelta(seconds=61)
