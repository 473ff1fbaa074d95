"""A returning participant in headless chromium: the browser is lost mid-study, the same Prolific
participant and session go on in a new browser, then through the private link in a third; another
session of the same participant is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from study_server.app import create_app
from study_server.models import Participant, Trial
from tests.study_server.browser import (
    NEXT_TRIAL_JS,
    launch,
    serving,
    stored_answers,
    wait_until_ready,
)
from tests.study_server.helpers import make_study

pytestmark = pytest.mark.browser

LINK = "?PROLIFIC_PID=5f0c1a2b3c4d5e6f7a8b9c0d&STUDY_ID=st1&SESSION_ID=sess-one"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    folder = make_study(tmp_path / "study", size=64, attention_checks=[3])
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}"})
    with serving(app) as base:
        yield base, app


def answer_trials(page: Any, n: int | None) -> list[str]:
    """Answer ``n`` trials (None: to the end); the form actions answered."""
    from playwright.sync_api import expect

    done = []
    while page.locator("#trial-form").count() and (n is None or len(done) < n):
        wait_until_ready(page)
        action = page.locator("#trial-form").get_attribute("action")
        check = page.locator("#check")
        value = int(re.search(r"answer (\d)", check.inner_text()).group(1)) if check.count() else 4
        for _ in range(3):
            page.keyboard.press(str(value))
        expect(page.locator("#submit")).to_be_enabled()
        page.keyboard.press("Enter")
        page.wait_for_function(NEXT_TRIAL_JS, arg=action)
        done.append(action)
    return done


def test_participant_resumes_in_new_browsers(live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    base, app = live
    with sync_playwright() as pw:
        browser = launch(pw)
        first = browser.new_context()  # the first browser: started, then lost
        page = first.new_page()
        page.goto(base + "/" + LINK)
        page.click("#start")
        page.click("#consent-yes")
        resume_link = page.locator("#resume-link").get_attribute("href")
        assert resume_link.startswith(base + "/resume/")
        page.fill("#age", "40")
        page.click("#continue")
        expect(page.locator("#resume-link")).to_have_attribute("href", resume_link)  # instructions show it too
        page.click("#continue")
        answered = answer_trials(page, 2)
        first.close()

        second = browser.new_context()  # same participant and session from the platform, new browser
        page = second.new_page()
        page.goto(base + "/" + LINK)
        expect(page.locator("#trial-form")).to_have_attribute("action", "/trial/2")
        answered += answer_trials(page, 1)
        second.close()

        third = browser.new_context()  # the private link
        page = third.new_page()
        page.goto(resume_link)
        expect(page.locator("#trial-form")).to_have_attribute("action", "/trial/3")
        answered += answer_trials(page, None)
        expect(page.locator("#completion-code")).to_have_text("DONE123")
        third.close()

        fourth = browser.new_context()  # the same participant in another platform session
        page = fourth.new_page()
        response = page.goto(base + "/" + LINK.replace("sess-one", "sess-two"))
        assert response.status == 409
        expect(page.locator("#error-message")).to_contain_text("already started the study in another session")
        browser.close()
    assert answered == [f"/trial/{i}" for i in range(6)]
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 1
        person = s.scalar(select(Participant))
        n_trials = s.scalar(select(func.count()).select_from(Trial))
    assert person.stage == "done" and person.age == 40 and person.external_session_id == "sess-one"
    assert stored_answers(app) == n_trials * 3
