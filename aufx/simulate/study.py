"""Run a SIMULATED study: the real study server on a free local port, simulated participants, the export.

The server is the app of :func:`study_server.create_app`, served by werkzeug's threaded WSGI server
in a background thread of this process. The participants
(:class:`~aufx.simulate.browser.SimulatedBrowser`) reach it over real HTTP on 127.0.0.1, a few at
a time. At the end, the ratings are downloaded through the admin export, as a researcher would
download them. The server's database is its own (``db_url``), so the stimulus folder stays clean
for real participants (``aufx serve --study DIR`` uses ``DIR/study.sqlite3``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aufx.simulate.browser import SessionLog, SimulatedBrowser, StimulusIndex, admin_export
from aufx.simulate.raters import RaterModel, SimulatedParticipant


@dataclass
class LiveServer:
    """A study server running in this process: its URL and the admin password of this run."""

    url: str
    admin_password: str
    db_url: str


@contextmanager
def serve_study(study_dir: str | Path, db_url: str, host: str = "127.0.0.1") -> Iterator[LiveServer]:
    """Start the study server for ``study_dir`` on a free port of ``host`` (thread); stop it on exit."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from study_server import create_app

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:  # one line per request is noise here
            pass

    password = secrets.token_urlsafe(12)
    app = create_app({"study_dir": str(study_dir), "database_url": db_url, "admin_password": password})
    server = make_server(host, 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="aufx-study-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://{host}:{server.server_port}", password, db_url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class SimulatedStudy:
    """The result of :func:`run_simulated_study`: the export (CSV text) and each participant's log."""

    export_csv: str
    logs: list[SessionLog] = field(default_factory=list)
    inattentive: list[int] = field(default_factory=list)
    url: str = ""

    def ratings(self) -> pd.DataFrame:
        import io

        return pd.read_csv(io.StringIO(self.export_csv))


def run_simulated_study(
    study_dir: str | Path,
    table: pd.DataFrame,
    model: RaterModel,
    n_participants: int,
    db_url: str,
    seed: int = 0,
    n_inattentive: int = 0,
    concurrency: int = 4,
    on_done: Callable[[int], None] | None = None,
) -> SimulatedStudy:
    """Serve the study, let ``n_participants`` SIMULATED participants take it, and return the export.

    Participant ``i`` uses the random stream ``(seed, i)`` and reloads once mid-way.
    The last ``n_inattentive`` participants answer at random, including on the attention checks.
    ``on_done(k)`` is called after each of them finishes (for a progress bar)."""
    if n_participants < 2:
        raise ValueError(f"a study needs >= 2 simulated participants, got {n_participants}")
    if not 0 <= n_inattentive < n_participants:
        raise ValueError(f"n_inattentive must be 0..{n_participants - 1}, got {n_inattentive}")
    index = StimulusIndex(study_dir)
    inattentive = list(range(n_participants - n_inattentive, n_participants))
    logs: list[SessionLog | None] = [None] * n_participants
    done = [0]
    lock = threading.Lock()

    with serve_study(study_dir, db_url) as server:

        def one(i: int) -> None:
            rng = np.random.default_rng([seed, i])
            rater = SimulatedParticipant(model, table, rng, attentive=i not in inattentive)
            browser = SimulatedBrowser(server.url, rater, index, rng)
            logs[i] = browser.run()
            with lock:
                done[0] += 1
                if on_done:
                    on_done(done[0])

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for future in [pool.submit(one, i) for i in range(n_participants)]:
                future.result()
        export = admin_export(server.url, server.admin_password)
    return SimulatedStudy(export, [log for log in logs if log is not None], inattentive, server.url)
