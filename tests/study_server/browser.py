"""What the Chromium tests share: the study server on a free local port and Debian's chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from werkzeug.serving import make_server

from study_server.models import Answer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
#: Playwright's waits (``expect``) on a loaded 2-core machine: 20 s instead of 5 s.
EXPECT_TIMEOUT_MS = 20_000
#: Waits until the trial form's action differs from ``arg`` (the next trial, or no trial any more).
NEXT_TRIAL_JS = ("a => !document.querySelector('#trial-form') || "
                 "document.querySelector('#trial-form').getAttribute('action') !== a")  # fmt: skip


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` (threaded werkzeug) on 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def launch(pw: Any) -> Any:
    """Headless Debian chromium through Playwright (``expect`` waits up to ``EXPECT_TIMEOUT_MS``)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_until_ready(page: Any) -> None:
    """Wait until the trial page's script has set the trial up (images shown, time running, keys
    answer): ``data-ready`` on the form. The server's HTML has no loading state (it must work
    without script), so waiting for the loading class to go would pass before the script ran."""
    from playwright.sync_api import expect

    expect(page.locator("#trial-form")).to_have_attribute("data-ready", "true")


def stored_answers(app: Any) -> int:
    """Rows in the answer table (one per question of each answered trial)."""
    rt = app.extensions["aufx_study"]
    with rt.db() as s:
        return int(s.scalar(select(func.count()).select_from(Answer)))
