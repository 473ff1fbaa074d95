"""``aufx serve`` / ``aufx export`` and gunicorn: a kill -9 mid-session loses nothing acknowledged."""

from __future__ import annotations

import csv
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from aufx.cli import main as aufx_main
from tests.study_server.helpers import CHECK_RE, CSRF_RE, TRIAL_RE, Walker

ROOT = Path(__file__).resolve().parents[2]
QS = ("expression", "identity", "artifacts")


def test_export_cli_csv_and_json(app, study_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.start()
    w.finish()
    db = f"sqlite:///{tmp_path / 'ratings.db'}"
    out = tmp_path / "ratings.csv"
    assert aufx_main(["export", "--study", str(study_dir), "--db", db, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 15 and rows[0]["participant_id"]
    out_json = tmp_path / "r.data"
    assert aufx_main(["export", "--study", str(study_dir), "--db", db, "--out", str(out_json), "--format", "json"]) == 0
    assert len(json.loads(out_json.read_text())["ratings"]) == 15


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--study", "{study}", "--db", "sqlite:///{tmp}/none.db", "--out", "{tmp}/x.csv"], "does not exist"),
        (["export", "--study", "{study}", "--out", "{tmp}/x.xlsx"], "--out must end in .csv or .json"),
        (["export", "--study", "{tmp}/nowhere", "--db", "sqlite:///{tmp}/ratings.db", "--out", "{tmp}/x.csv"], "does not exist"),
        (["export", "--study", "{study}", "--db", "mysql", "--out", "{tmp}/x.csv"], "database URL must look like"),
        (["serve", "--study", "{study}", "--port", "70000"], "--port must be 1..65535"),
        (["serve"], "--study DIR is required"),
        (["serve", "--study", "{tmp}/nowhere"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line(argv: list[str], message: str, app, study_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = [a.format(study=study_dir, tmp=tmp_path) for a in argv]
    assert aufx_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("aufx: error: ") and message in err and err.count("\n") == 1


def test_hash_password(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import io

    from werkzeug.security import check_password_hash

    monkeypatch.setattr(sys, "stdin", io.StringIO("a long secret\n"))
    assert aufx_main(["serve", "--hash-password"]) == 0
    assert check_password_hash(capsys.readouterr().out.strip(), "a long secret")


def test_server_package_does_not_import_torch() -> None:
    probe = (
        "import sys; import study_server.app, study_server.cli, study_server.participant, "
        "study_server.admin, study_server.api, study_server.export; "
        "print('torch' in sys.modules, sorted(m for m in sys.modules if m.startswith('aufx') and m != 'aufx.aus'))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("False []", "False ['aufx']")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise AssertionError("server did not start")


class HttpParticipant:
    """A participant over real HTTP with a cookie jar (redirects followed like a browser)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = ""
        self.html = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as r:
            self.html = r.read().decode()
        m = CSRF_RE.search(self.html)
        self.token = m.group(1) if m else self.token
        return self.html

    def post(self, path: str, data: dict[str, str]) -> str:
        body = urllib.parse.urlencode({"csrf_token": self.token, **data}).encode()
        with self.opener.open(self.base + path, data=body, timeout=10) as r:
            self.html = r.read().decode()
        m = CSRF_RE.search(self.html)
        self.token = m.group(1) if m else self.token
        return self.html

    def answer_current(self) -> int:
        seq = int(TRIAL_RE.search(self.html).group(1))
        check = CHECK_RE.search(self.html)
        value = check.group(1) if check else "4"
        self.post(f"/trial/{seq}", {f"q_{q}": value for q in QS} | {"rt_ms": "900"})
        return seq


def start_gunicorn(study_dir: Path, db: str, port: int) -> subprocess.Popen:  # type: ignore[type-arg]
    env = {**os.environ, "AUFX_STUDY_DIR": str(study_dir), "AUFX_DB_URL": db, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}", "study_server.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, text=True,
    )


@pytest.mark.slow
def test_gunicorn_kill_minus_nine_loses_nothing_acknowledged(study_dir: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    port = free_port()
    server = start_gunicorn(study_dir, db, port)
    try:
        wait_up(port, server)
        p = HttpParticipant(port)
        p.get("/?PROLIFIC_PID=crash1")
        p.get("/consent")
        p.post("/consent", {"consent": "yes"})
        p.post("/demographics", {"age": "44"})
        p.post("/instructions", {})
        acknowledged = [p.answer_current() for _ in range(3)]  # each returned the next trial page
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        server = start_gunicorn(study_dir, db, port)
        wait_up(port, server)
        html = p.get("/trial")  # same browser cookie after the crash
        assert int(TRIAL_RE.search(html).group(1)) == acknowledged[-1] + 1
        while "/trial/" in p.html:
            p.answer_current()
        assert "DONE123" in p.html
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    out = tmp_path / "r.csv"
    assert aufx_main(["export", "--study", str(study_dir), "--db", db, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5 * 3 and {r["rating"] for r in rows if r["attention_check"] == "false"} == {"4"}


@pytest.mark.slow
def test_aufx_serve_runs_and_answers(study_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from aufx.cli import main; sys.exit(main())", "serve", "--study", str(study_dir),
         "--db", f"sqlite:///{tmp_path / 's.db'}", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        wait_up(port, proc)
        p = HttpParticipant(port)
        assert "Face ratings" in p.get("/")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert re.search(r"admin password for this run: \S{12,}", out)
