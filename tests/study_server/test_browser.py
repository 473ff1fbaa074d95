"""A whole participant session in headless Debian chromium (Playwright), with a reload mid-way."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from study_server.app import create_app
from study_server.models import Answer, Participant
from tests.study_server.browser import (
    NEXT_TRIAL_JS,
    launch,
    serving,
    stored_answers,
    wait_until_ready,
)
from tests.study_server.helpers import SECRET_MARKERS, make_study

pytestmark = pytest.mark.browser

#: Set to a path (e.g. docs/img/trial_page.png) to keep the screenshot of a trial page.
SCREENSHOT_ENV = "AUFX_TRIAL_SCREENSHOT"


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[tuple[str, object]]:
    folder = make_study(tmp_path / "study", size=160, min_view_ms=300, attention_checks=[3],
                        completion_url="https://example.org/complete?cc={code}")
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'b.db'}"})
    with serving(app) as base:
        yield base, app


def test_participant_session_in_chromium(live_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    seen_html: list[str] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1000, "height": 1100})
        page.on("response", lambda r: seen_html.append(r.url + "\n" + str(r.headers)))
        page.goto(f"{base}/?PROLIFIC_PID=chrome1&STUDY_ID=st1&SESSION_ID=se1")
        page.click("#start")
        expect(page.locator("h1")).to_have_text("Informed consent")
        page.click("#consent-yes")
        page.fill("#age", "31")
        page.select_option("#gender", "non-binary")
        page.click("#continue")
        page.click("#continue")  # instructions

        answered = 0
        reloaded = False
        while "/trial" in page.url:
            form = page.locator("#trial-form")
            wait_until_ready(page)
            action = form.get_attribute("action")
            seen_html.append(page.content())
            check = page.locator("#check")
            value = int(re.search(r"answer (\d)", check.inner_text()).group(1)) if check.count() else 4
            if answered == 1 and os.environ.get(SCREENSHOT_ENV):
                page.screenshot(path=os.environ[SCREENSHOT_ENV], full_page=True)
            if answered == 2 and not reloaded:
                page.keyboard.press("2")  # half-answered, then the tab reloads
                page.reload()
                reloaded = True
                expect(page.locator("#trial-form")).to_have_attribute("action", action)  # same trial again
                assert stored_answers(app) == answered * 3
                continue
            if answered % 2 == 0:
                for _ in range(3):  # keyboard: one number per question, then Enter
                    page.keyboard.press(str(value))
                expect(page.locator("#submit")).to_be_enabled()
                page.keyboard.press("Enter")
            else:  # tap/click on the labelled anchors
                for question in ("expression", "identity", "artifacts"):
                    page.locator(f'input[name="q_{question}"][value="{value}"]').locator("..").click()
                page.click("#submit")
            page.wait_for_function(NEXT_TRIAL_JS, arg=action)
            answered += 1
            assert stored_answers(app) == answered * 3
        expect(page.locator("#completion-code")).to_have_text("DONE123")
        assert page.locator("#completion-link").get_attribute("href") == "https://example.org/complete?cc=DONE123"
        seen_html.append(page.content())
        browser.close()
    assert reloaded and answered == 6  # 1 practice + 4 items + 1 attention check
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        person = s.scalar(select(Participant))
        ratings = s.execute(select(Answer.rating, Answer.rt_ms)).all()
    assert person.external_pid == "chrome1" and person.age == 31 and person.completed_at is not None
    assert all(rt_ms >= 250 for _, rt_ms in ratings)  # measured in the page, after the minimum viewing time
    blob = "\n".join(seen_html).lower()
    assert not [m for m in SECRET_MARKERS if m.lower() in blob]
