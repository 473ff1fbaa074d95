"""Where an answer's CPU goes: the study server's ``POST /trial/<n>`` called in process.

Calls the WSGI apps directly (no HTTP, no test client), SQLite: the answer route of a
participant who answers every trial in turn, and the bare Flask route of bench_server_bare.
Prints the CPU ms per request (minimum over interleaved batches, robust to other jobs on the
machine), then the same with parts of the request stubbed out (the database transaction,
then also CSRF validation), and with ``--profile`` a cProfile of the answers.

Run: ``.venv/bin/python benchmarks/profile_server.py [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_server import CSRF_RE, QS, make_study  # noqa: E402
from bench_server_bare import app as bare_app  # noqa: E402

from study_server import participant as participant_views  # noqa: E402
from study_server.answers import Stored  # noqa: E402
from study_server.app import create_app  # noqa: E402

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def environ(method: str, path: str, body: bytes, cookie: str = "") -> dict[str, Any]:
    """A WSGI environ as gunicorn builds it for a form POST on loopback."""
    env = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip
    if cookie:
        env["HTTP_COOKIE"] = cookie
    return env


def call(app: WSGIApp, env: dict[str, Any]) -> str:
    """Run one request; its status line."""
    status: list[str] = []
    for _ in app(env, lambda s, h, exc=None: status.append(s)):
        pass
    return status[0]


class Participant:
    """A participant at their first trial; ``answer(n)`` posts their next ``n`` trials."""

    def __init__(self, app: Any, name: str) -> None:
        client = app.test_client()
        client.get(f"/?PROLIFIC_PID={name}")
        token = CSRF_RE.search(client.get("/consent").get_data(as_text=True)).group(1)
        client.post("/consent", data={"consent": "yes", "csrf_token": token})
        client.post("/instructions", data={"csrf_token": token})
        self.app = app
        self.cookie = "study_session=" + client.get_cookie("study_session").value
        self.body = ("&".join(f"q_{q}=3" for q in QS) + f"&rt_ms=1000&csrf_token={token}").encode()
        self.seq = 0

    def answer(self, n: int) -> None:
        for _ in range(n):
            status = call(self.app, environ("POST", f"/trial/{self.seq}", self.body, self.cookie))
            if not status.startswith("303"):
                raise RuntimeError(f"POST /trial/{self.seq} -> {status}")
            self.seq += 1


def bare(n: int) -> None:
    for _ in range(n):
        call(bare_app, environ("POST", "/bare", b"x=1"))


def cpu_ms(run: Callable[[int], None], batches: int, size: int) -> float:
    """Minimum CPU ms per request over ``batches`` batches of ``size`` requests."""
    best = float("inf")
    for _ in range(batches):
        began = time.process_time()
        run(size)
        best = min(best, (time.process_time() - began) / size)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of 150 answers")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (cumulative, tottime, ...)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aufx-profile-") as tmp:
        study = make_study(Path(tmp) / "study", n_items=200, design="within", checks="[]")
        app = create_app({"study_dir": str(study), "database_url": f"sqlite:///{Path(tmp) / 'p.sqlite3'}"})
        people = [Participant(app, f"p{i}") for i in range(5)]
        people[0].answer(20)  # warm up
        bare(200)
        size = 20
        if args.batches * size > 800:
            parser.error("--batches: at most 40 (a participant of the profiling study has 801 trials)")
        rows = [("answer", cpu_ms(people[1].answer, args.batches, size)), ("bare Flask route", cpu_ms(bare, args.batches, size))]
        real = participant_views.submit_answer
        participant_views.submit_answer = lambda db, study, pid, seq, ratings, rt_ms: Stored(seq, ratings, False, False)
        try:
            rows.append(("answer, database stubbed", cpu_ms(people[2].answer, args.batches, size)))
            app.config["WTF_CSRF_CHECK_DEFAULT"] = False
            rows.append(("answer, database and CSRF stubbed", cpu_ms(people[3].answer, args.batches, size)))
        finally:
            participant_views.submit_answer = real
            app.config["WTF_CSRF_CHECK_DEFAULT"] = True
        for label, ms in rows:
            print(f"{label:36s} {ms:6.3f} ms CPU per request")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(people[4].answer, 150)
            pstats.Stats(profile).sort_stats(args.sort).print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
