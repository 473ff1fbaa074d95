"""The network drops as an answer is submitted (Playwright offline mode in headless chromium).

Either the request never reaches the server, or the server stores the answer and the reply is
lost. The page says what to do; the participant reloads or goes back; the answer is stored
exactly once, with the response time of the first try, and the next trial is the right one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from study_server.app import create_app
from study_server.models import Answer, Participant, Trial
from tests.study_server.browser import (
    NEXT_TRIAL_JS,
    launch,
    serving,
    stored_answers,
    wait_until_ready,
)
from tests.study_server.helpers import make_study

pytestmark = pytest.mark.browser

QS = ("expression", "identity", "artifacts")
#: (what the drop loses, how the participant goes on) on trials 1..4 of one session.
SCENARIOS = [("request", "reload"), ("request", "back"), ("reply", "reload"), ("reply", "back")]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    folder = make_study(tmp_path / "study", size=64, min_view_ms=300, attention_checks=[4], demographics=False)
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'n.db'}"})
    with serving(app) as base:
        yield base, app


def seq_of(page: Any) -> int:
    return int(re.search(r"/trial/(\d+)$", page.locator("#trial-form").get_attribute("action")).group(1))


def choose(page: Any, value: int) -> None:
    for question in QS:
        page.locator(f'input[name="q_{question}"][value="{value}"]').locator("..").click()


def stored(app: Any, seq: int) -> list[tuple[str, int, int]]:
    """``(question, rating, rt_ms)`` stored for trial ``seq``."""
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        return [tuple(r) for r in s.execute(
            select(Answer.question, Answer.rating, Answer.rt_ms).join(Trial, Trial.id == Answer.trial_id)
            .where(Trial.seq == seq).order_by(Answer.question)
        ).all()]  # fmt: skip


def test_answers_survive_a_network_drop(live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    base, app = live
    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/?PROLIFIC_PID=net1&SESSION_ID=n1")
        page.click("#start")
        page.click("#consent-yes")
        page.click("#continue")  # instructions
        for lost, then in [(None, None), *SCENARIOS]:
            wait_until_ready(page)
            seq, before = seq_of(page), stored_answers(app)
            value = 1 + seq % 5
            check = page.locator("#check")
            if check.count():
                value = int(re.search(r"answer (\d)", check.inner_text()).group(1))
            choose(page, value)
            expect(page.locator("#submit")).to_be_enabled()
            action = page.locator("#trial-form").get_attribute("action")
            if lost is None:  # trial 0: an ordinary answer
                page.click("#submit")
                page.wait_for_function(NEXT_TRIAL_JS, arg=action)
                continue
            if lost == "request":
                context.set_offline(True)
            else:  # the server stores the answer, then the connection drops before the reply arrives
                def drop_reply(route: Any) -> None:
                    route.fetch()
                    route.abort("internetdisconnected")

                page.route("**/trial/*", drop_reply)
            page.click("#submit")
            error = page.locator("#submit-error")
            expect(error).to_be_visible()
            assert "reload this page" in error.inner_text() and "connection" in error.inner_text()
            assert stored_answers(app) == before + (3 if lost == "reply" else 0)
            first_rt = page.evaluate("JSON.parse(sessionStorage.getItem('pending-answer')).rt")
            time.sleep(0.8)  # a new measurement would now be longer than the first
            if lost == "request":
                context.set_offline(False)
            else:
                page.unroute("**/trial/*")
            if then == "reload":
                page.reload()
            else:
                page.go_back()
            page.wait_for_function(NEXT_TRIAL_JS, arg=action)
            wait_until_ready(page)
            assert seq_of(page) == seq + 1, (lost, then)
            assert stored_answers(app) == before + 3, (lost, then)
            assert stored(app, seq) == [(q, value, first_rt) for q in sorted(QS)], (lost, then)
            assert page.evaluate("sessionStorage.getItem('pending-answer')") is None
        while page.locator("#trial-form").count():  # the rest as usual
            action = page.locator("#trial-form").get_attribute("action")
            check = page.locator("#check")
            wait_until_ready(page)
            choose(page, int(re.search(r"answer (\d)", check.inner_text()).group(1)) if check.count() else 3)
            expect(page.locator("#submit")).to_be_enabled()
            page.click("#submit")
            page.wait_for_function(NEXT_TRIAL_JS, arg=action)
        expect(page.locator("#completion-code")).to_have_text("DONE123")
        browser.close()
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        assert s.scalar(select(Participant.stage)) == "done"
        n_trials = len(s.scalars(select(Trial.id)).all())
    assert stored_answers(app) == n_trials * 3 and n_trials == 6


def test_a_rejected_answer_is_explained(live) -> None:  # type: ignore[no-untyped-def]
    """A reply from the server that refuses the answer (here: a stale CSRF token) is shown with what to do."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.goto(f"{base}/")
        page.click("#start")
        page.click("#consent-yes")
        page.click("#continue")
        wait_until_ready(page)
        page.evaluate("document.querySelector('input[name=csrf_token]').value = 'stale'")
        choose(page, 2)
        expect(page.locator("#submit")).to_be_enabled()
        action = page.locator("#trial-form").get_attribute("action")
        page.click("#submit")
        error = page.locator("#submit-error")
        expect(error).to_be_visible()
        assert "did not accept" in error.inner_text() and "CSRF" in error.inner_text()
        assert "Reload this page" in error.inner_text() and stored_answers(app) == 0
        page.reload()  # a fresh token; the kept answer goes out again
        page.wait_for_function(NEXT_TRIAL_JS, arg=action)
        assert stored_answers(app) == 3
        browser.close()
