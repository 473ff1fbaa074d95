"""Screenshot a trial page of a study folder in headless Debian chromium (docs/img/trial_page.png).

    python scripts/screenshot_trial.py demo_out/stimuli docs/img/trial_page.png

Serves the study (a fresh SQLite database in a temporary folder), goes through consent and the
instructions as a participant, answers ``--skip`` trials (the practice trial first) and saves the
next trial page. Needs the ``dev`` extra (Playwright) and ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path, help="study folder (e.g. the demo's stimuli/)")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--skip", type=int, default=1, help="trials to answer before the screenshot")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from study_server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"study_dir": str(args.study), "database_url": f"sqlite:///{Path(tmp) / 'shot.db'}"})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 1100})
                page.goto(f"http://127.0.0.1:{server.server_port}/?PROLIFIC_PID=docs")
                page.click("#start")
                page.click("#consent-yes")
                page.fill("#age", "30")
                page.select_option("#gender", index=1)
                page.click("#continue")
                page.click("#continue")  # instructions
                for _ in range(args.skip):
                    page.wait_for_selector("#trial-form[data-ready=true]")  # study.js has set the trial up
                    action = page.locator("#trial-form").get_attribute("action")
                    for _question in range(3):
                        page.keyboard.press("4")
                    page.wait_for_selector("#submit:enabled", timeout=30_000)
                    page.keyboard.press("Enter")
                    page.wait_for_function(
                        "a => document.querySelector('#trial-form').getAttribute('action') !== a", arg=action
                    )
                page.wait_for_selector("#trial-form[data-ready=true]")
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            server.shutdown()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
