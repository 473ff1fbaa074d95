"""Load benchmark of the study server (loopback only, bounded to a few minutes).

For SQLite and for PostgreSQL (a throw-away server started here), under the same gunicorn
set-up (``-w 2 -k gthread --threads 8 --preload``):

1. Durability under load: N simulated participants (default 200) run whole sessions at once
   (information, consent, instructions, practice, trials with an attention check, debrief),
   each pausing a random think time before every answer. Mid-run the server is killed with
   ``kill -9`` (whole process group) and restarted; clients retry until it is back, as a
   browser's user would. Afterwards every answer that was acknowledged (HTTP 303) is looked up
   in the database: ``lost`` counts those missing or different.
2. Latency of answer submission (``POST /trial/<n>``): p50 / p99 over the whole run.
3. Throughput: closed loop, no think time, C client threads for a fixed time, study server
   requests (trial page + answer, as participants send them) vs ``POST /bare`` of a bare Flask
   app on the same gunicorn set-up; the ratio is study/bare requests per second.

Run: ``.venv/bin/python benchmarks/bench_server.py`` (``--quick`` for a smoke run). Writes its
table into ``benchmarks/RESULTS.md`` under "## Study server" unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from loadgen import RawClient, closed_loop  # noqa: E402
from results_md import replace_section  # noqa: E402

from study_server.pgtemp import TempPostgres  # noqa: E402

GUNICORN_OPTIONS = ["--preload", "--keep-alive", "20", "--timeout", "60", "--log-level", "warning"]


def gunicorn_setup(workers: int, threads: int) -> list[str]:
    """The gunicorn options shared by the study server and the bare app."""
    return ["-w", str(workers), "-k", "gthread", "--threads", str(threads), *GUNICORN_OPTIONS]
QS = ("expression", "identity", "artifacts")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TRIAL_RE = re.compile(r'action="/trial/(\d+)"')
CHECK_RE = re.compile(r"please answer (\d+) to every question")
METHODS = ("m_a", "m_b", "m_c", "m_d")
N_ITEMS = 5
ANSWERS_PER_PARTICIPANT = 1 + N_ITEMS + 1  # practice + one per item + one attention check
TP_ITEMS = 25  # throughput study: within design, so a participant rates 1 + 25 x 4 trials
TP_TRIALS = 1 + TP_ITEMS * len(METHODS)  # 101


def make_study(folder: Path, n_items: int, study_id: str = "bench", design: str = "latin-square", checks: str = "[5]") -> Path:
    """A study folder with ``n_items`` x 4 methods of 64 px images."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for i in range(n_items):
        for ref in (f"src{i}", f"tgt{i}"):
            Image.new("RGB", (64, 64), (i * 7 % 255, 90, 120)).save(folder / "images" / f"{ref}.png")
        for j, method in enumerate(METHODS):
            sid = f"s{i}_{j}"
            path = folder / "images" / f"{sid}.png"
            Image.new("RGB", (64, 64), (i * 7 % 255, j * 50, 200)).save(path)
            rows.append([sid, f"item{i}", f"src{i}", f"tgt{i}", "transfer", method, "", f"images/{sid}.png",
                         hashlib.sha256(path.read_bytes()).hexdigest()])
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["stimulus_id", "item_id", "source_id", "target_id", "task", "method", "parameters", "path", "sha256"])
        writer.writerows(rows)
    (folder / "study.toml").write_text(
        f'id = "{study_id}"\ndesign = "{design}"\ndemographics = false\npractice_trials = 1\n'
        f'attention_checks = {checks}\ncompletion_code = "BENCH"\n'
    )
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A gunicorn process group that can be killed with SIGKILL and started again."""

    def __init__(self, app: str, env: dict[str, str], port: int, gunicorn: list[str], pythonpath: str = "") -> None:
        self.command = [sys.executable, "-m", "gunicorn", *gunicorn, "-b", f"127.0.0.1:{port}", app]
        if pythonpath:
            self.command[3:3] = ["--pythonpath", pythonpath]
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, probe: str) -> float:
        began = time.monotonic()
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while time.monotonic() - began < 60:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", probe)
                if c.getresponse().status < 500:
                    return time.monotonic() - began
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {' '.join(self.command)}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass
class Shared:
    """What all simulated participants report."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[tuple[str, int, int]] = field(default_factory=list)  # (pid, seq, rating)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    retries: int = 0
    completed: int = 0
    errors: list[str] = field(default_factory=list)


class Client:
    """One participant over a keep-alive HTTP/1.1 connection with a session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.cookie = ""

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str, str]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body or None, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", text


def with_retry(shared: Shared, call, deadline: float):  # type: ignore[no-untyped-def]
    """Call until it gets an HTTP answer (the server may be down for a restart)."""
    while True:
        try:
            return call()
        except (OSError, http.client.HTTPException):
            with shared.lock:
                shared.retries += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2 + random.random() * 0.3)


def participant(i: int, port: int, shared: Shared, think: tuple[float, float], deadline: float) -> None:
    """A whole session; every acknowledged answer is recorded."""
    pid = f"bench{i:04d}"
    c = Client(port)
    rng = random.Random(i)
    try:
        with_retry(shared, lambda: c.request("GET", f"/?PROLIFIC_PID={pid}&STUDY_ID=b&SESSION_ID=s{i}"), deadline)
        status, _, html = with_retry(shared, lambda: c.request("GET", "/consent"), deadline)
        token = CSRF_RE.search(html).group(1) if status == 200 else ""
        for path, body in (("/consent", f"consent=yes&csrf_token={token}"), ("/instructions", f"csrf_token={token}")):
            status, location, _ = with_retry(shared, lambda p=path, b=body: c.request("POST", p, b), deadline)
            if status != 303:  # a retried POST whose first attempt went through: the server redirects onwards
                pass
        while True:
            status, location, html = with_retry(shared, lambda: c.request("GET", "/trial"), deadline)
            if status == 303 and location.endswith("/done"):
                break
            if status != 200:
                raise RuntimeError(f"GET /trial -> {status} {html[:200]}")
            seq = int(TRIAL_RE.search(html).group(1))
            check = CHECK_RE.search(html)
            rating = int(check.group(1)) if check else rng.randint(1, 5)
            time.sleep(rng.uniform(*think))
            body = "&".join(f"q_{q}={rating}" for q in QS) + f"&rt_ms={rng.randint(800, 4000)}&csrf_token={token}"

            def post(seq: int = seq, body: str = body) -> tuple[int, str, str, float, float]:
                began = time.monotonic()
                result = c.request("POST", f"/trial/{seq}", body)
                return (*result, began, time.monotonic() - began)

            status, _, text, began, elapsed = with_retry(shared, post, deadline)
            if status != 303:
                raise RuntimeError(f"POST /trial/{seq} -> {status} {text[:300]}")
            with shared.lock:
                shared.acked.append((pid, seq, rating))
                shared.latencies.append((began, elapsed))
        with_retry(shared, lambda: c.request("GET", "/done"), deadline)
        with shared.lock:
            shared.completed += 1
    except Exception as error:  # noqa: BLE001 - reported in the results
        with shared.lock:
            shared.errors.append(f"{pid}: {error!r}"[:300])


def check_lost(db_url: str, acked: list[tuple[str, int, int]]) -> int:
    """Acknowledged answers missing from (or different in) the database."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    query = sa.text(
        "SELECT p.external_pid, t.seq, a.question, a.rating FROM answer a JOIN trial t ON a.trial_id = t.id "
        "JOIN participant p ON t.participant_id = p.id"
    )
    with engine.connect() as connection:
        stored: dict[tuple[str, int], dict[str, int]] = {}
        for pid, seq, question, rating in connection.execute(query):
            stored.setdefault((pid, seq), {})[question] = rating
    engine.dispose()
    return sum(1 for pid, seq, rating in acked if stored.get((pid, seq)) != dict.fromkeys(QS, rating))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_run(server: Server, db_url: str, n: int, think: tuple[float, float], kill_at: float, per: int) -> dict[str, float]:
    """Phase 1 and 2: concurrent sessions with a kill -9 when ``kill_at`` of answers are in."""
    shared = Shared()
    deadline = time.monotonic() + 600
    threads = [threading.Thread(target=participant, args=(i, server.port, shared, think, deadline), daemon=True) for i in range(n)]
    began = time.monotonic()
    for t in threads:
        t.start()
    expected = n * per  # only used to time the kill
    restart_s = float("nan")
    killed_at = back_at = float("inf")
    while any(t.is_alive() for t in threads):
        with shared.lock:
            done = len(shared.acked)
        if restart_s != restart_s and done >= kill_at * expected:
            killed_at = time.monotonic()
            server.kill9()
            restart_s = server.start("/api/health")
            back_at = time.monotonic()
        time.sleep(0.05)
    wall = time.monotonic() - began
    lat = [x * 1000 for _, x in shared.latencies]
    # steady state: answers sent outside the outage (kill .. restart + 5 s warm-up)
    steady = [x * 1000 for t, x in shared.latencies if t + x < killed_at or t > back_at + 5]
    return {
        "participants": n,
        "completed": shared.completed,
        "acked": len(shared.acked),
        "lost": check_lost(db_url, shared.acked),
        "p50_ms": statistics.median(lat) if lat else float("nan"),
        "p99_ms": percentile(lat, 0.99) if lat else float("nan"),
        "steady_p50_ms": statistics.median(steady) if steady else float("nan"),
        "steady_p99_ms": percentile(steady, 0.99) if steady else float("nan"),
        "retries": shared.retries,
        "errors": len(shared.errors),
        "first_error": shared.errors[0] if shared.errors else "",
        "restart_s": restart_s,
        "wall_s": wall,
    }


def start_session(c: RawClient, pid: str) -> str:
    """Study link, consent, instructions: a participant at their first trial; returns the CSRF token."""
    c.request("GET", f"/?PROLIFIC_PID={pid}")
    status, _, html = c.request("GET", "/consent")
    found = CSRF_RE.search(html)
    if status != 200 or found is None:
        raise RuntimeError(f"GET /consent -> {status} {html[:200]}")
    token = found.group(1)
    c.request("POST", "/consent", f"consent=yes&csrf_token={token}")
    c.request("POST", "/instructions", f"csrf_token={token}")
    return token


def answer_body(rating: int | str, token: str) -> str:
    return "&".join(f"q_{q}={rating}" for q in QS) + f"&rt_ms=1000&csrf_token={token}"


def prepared_sessions(port: int, k: int, n: int) -> list[RawClient]:
    """``n`` participants of client ``k``, each at their first trial (untimed set-up)."""
    sessions = []
    for j in range(n):
        c = RawClient(port)
        c.token = start_session(c, f"tp{k}x{j}x{random.getrandbits(40)}")  # type: ignore[attr-defined]
        sessions.append(c)
    return sessions


def answers_only(port: int, sessions: int):  # type: ignore[no-untyped-def]
    """Client set-up: ``sessions`` participants; then POST every trial of each in turn, no page GETs."""

    def prepare(k: int):  # type: ignore[no-untyped-def]
        prepared = prepared_sessions(port, k, sessions)

        def steps():  # type: ignore[no-untyped-def]
            for c in prepared:
                body = answer_body(3, c.token)  # type: ignore[attr-defined]
                for seq in range(TP_TRIALS):
                    status, _, text = c.request("POST", f"/trial/{seq}", body)
                    if status != 303:
                        raise RuntimeError(f"POST /trial/{seq} -> {status} {text[:200]}")
                    yield 1

        return steps()

    return prepare


def participant_mix(port: int, sessions: int):  # type: ignore[no-untyped-def]
    """Client set-up: ``sessions`` participants; then per trial what a browser sends: GET /trial, POST."""

    def prepare(k: int):  # type: ignore[no-untyped-def]
        prepared = prepared_sessions(port, k, sessions)

        def steps():  # type: ignore[no-untyped-def]
            for c in prepared:
                while True:
                    status, _, html = c.request("GET", "/trial")
                    if status != 200:
                        break
                    seq = int(TRIAL_RE.search(html).group(1))
                    check = CHECK_RE.search(html)
                    c.request("POST", f"/trial/{seq}", answer_body(check.group(1) if check else 3, c.token))  # type: ignore[attr-defined]
                    yield 2

        return steps()

    return prepare


def bare_route(port: int):  # type: ignore[no-untyped-def]
    def prepare(k: int):  # type: ignore[no-untyped-def]
        c = RawClient(port)

        def steps():  # type: ignore[no-untyped-def]
            while True:
                c.request("POST", "/bare", "x=1")
                yield 1

        return steps()

    return prepare


def postmaster_pid(pg: TempPostgres) -> int:
    return int((pg.data / "postmaster.pid").read_text().split()[0])


def run_database(kind: str, args: argparse.Namespace, work: Path) -> dict[str, float]:
    study = make_study(work / f"study-{kind}", n_items=N_ITEMS)
    tp_study = make_study(work / f"tp-{kind}", n_items=TP_ITEMS, study_id="bench-tp", design="within", checks="[]")
    pg = None
    if kind == "sqlite":
        db_url = f"sqlite:///{work / 'bench.sqlite3'}"
    else:
        pg = TempPostgres().start()
        db_url = pg.url
    env = {"AUFX_DB_URL": db_url, "AUFX_ADMIN_PASSWORD": "bench-only-password"}
    server = Server("study_server.wsgi:app", {**env, "AUFX_STUDY_DIR": str(study)}, free_port(), args.gunicorn)
    tp_server = Server("study_server.wsgi:app", {**env, "AUFX_STUDY_DIR": str(tp_study)}, free_port(), args.gunicorn)
    bare = Server("bench_server_bare:app", {}, free_port(), args.gunicorn, pythonpath=str(ROOT / "benchmarks"))
    try:
        result: dict[str, float] = {}
        if not args.throughput_only:
            server.start("/api/health")
            result = load_run(server, db_url, args.participants, (args.think_min, args.think_max), 0.4, ANSWERS_PER_PARTICIPANT)
            server.stop()
        tp_server.start("/api/health")
        bare.start("/bare")
        database_pids = [postmaster_pid(pg)] if pg is not None else []
        rounds: dict[str, list[dict[str, Any]]] = {"mix": [], "answers": [], "bare": []}
        sessions = 1  # participants set up per client before the clock: grown to what a round needs
        # Round 0 is a warm-up that is not counted: it sizes ``sessions`` so that the counted rounds
        # need no participant set-up inside their timed window.
        for round_no in range(args.rounds + 1):  # interleaved, so that all see the same machine load
            for name, prepare, pids in (
                ("mix", participant_mix(tp_server.port, sessions), [tp_server.pid, *database_pids]),
                ("answers", answers_only(tp_server.port, sessions), [tp_server.pid, *database_pids]),
                ("bare", bare_route(bare.port), [bare.pid]),
            ):
                rounds[name].append(closed_loop(prepare, args.threads, args.seconds, pids))
            most = max(rounds["answers"][-1]["most_per_client"], rounds["mix"][-1]["most_per_client"] // 2)
            sessions = max(sessions, math.ceil(1.5 * most / TP_TRIALS))
            if round_no == 0:
                rounds = {name: [] for name in rounds}
        med = {name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "server_cpu_ms", "client_cpu_ms")}
               for name, runs in rounds.items()}  # fmt: skip
        result.update(
            study_rps=med["mix"]["rps"],
            answer_rps=med["answers"]["rps"],
            bare_rps=med["bare"]["rps"],
            ratio=statistics.median([m["rps"] / b["rps"] for m, b in zip(rounds["mix"], rounds["bare"], strict=True)]),
            answer_ratio=statistics.median([a["rps"] / b["rps"] for a, b in zip(rounds["answers"], rounds["bare"], strict=True)]),
            answer_server_cpu_ms=med["answers"]["server_cpu_ms"],
            bare_server_cpu_ms=med["bare"]["server_cpu_ms"],
            answer_client_cpu_ms=med["answers"]["client_cpu_ms"],
            bare_client_cpu_ms=med["bare"]["client_cpu_ms"],
            in_window_setups=sum(r["refills"] for runs in rounds.values() for r in runs),
            throughput_errors=sum(r["errors"] for runs in rounds.values() for r in runs),
            throughput_first_error=next((r["first_error"] for runs in rounds.values() for r in runs if r["errors"]), ""),
        )
        return result
    finally:
        server.stop()
        tp_server.stop()
        bare.stop()
        if pg is not None:
            pg.stop()


def cpu_per_request(work: Path) -> dict[str, float]:
    """CPU ms per request in process (Flask test client, SQLite, no HTTP): trial page, answer, bare route."""
    from flask import Flask

    from study_server.app import create_app

    study = make_study(work / "study-cpu", n_items=40)
    app = create_app({"study_dir": str(study), "database_url": f"sqlite:///{work / 'cpu.sqlite3'}"})
    client = app.test_client()
    client.get("/?PROLIFIC_PID=cpu1")
    token = CSRF_RE.search(client.get("/consent").get_data(as_text=True)).group(1)
    client.post("/consent", data={"consent": "yes", "csrf_token": token})
    client.post("/instructions", data={"csrf_token": token})
    page = answer = 0.0
    n = 0
    while True:
        t0 = time.process_time()
        response = client.get("/trial")
        t1 = time.process_time()
        if response.status_code != 200:
            break
        seq = int(TRIAL_RE.search(response.get_data(as_text=True)).group(1))
        client.post(f"/trial/{seq}", data={"csrf_token": token, **{f"q_{q}": "3" for q in QS}, "rt_ms": "900"})
        t2 = time.process_time()
        page, answer, n = page + t1 - t0, answer + t2 - t1, n + 1
    bare = Flask("bare")
    bare.add_url_rule("/bare", "bare", lambda: "ok", methods=["POST"])
    bare_client = bare.test_client()
    t0 = time.process_time()
    for _ in range(500):
        bare_client.post("/bare", data={"x": "1"})
    bare_ms = (time.process_time() - t0) / 500 * 1000
    return {"page_cpu_ms": page / n * 1000, "answer_cpu_ms": answer / n * 1000, "bare_cpu_ms": bare_ms}


def write_results(results: dict[str, dict[str, Any]], args: argparse.Namespace, cpu: dict[str, float], load: str) -> str:
    lines = [
        "## Study server",
        "",
        f"`benchmarks/bench_server.py` (participants={args.participants}, think time {args.think_min}-{args.think_max} s "
        f"before each answer; throughput: {args.threads} closed-loop clients, median of {args.rounds} interleaved "
        f"{args.seconds:.0f} s rounds of participant mix, answers and bare route, after one uncounted warm-up round), "
        f"gunicorn `{' '.join(args.gunicorn[:6])}` for the study server and the bare app alike, client and servers on one "
        f"machine over loopback ({platform.machine()}, {os.cpu_count()} CPU cores), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Machine load: {load}. "
        "The server was killed with `kill -9` (whole process group) when 40% of the answers were in and "
        "restarted; clients retried until it was back.",
        "",
        "| database | participants completed | answers acknowledged | acknowledged answers lost (goal 0) | answer p50 / p99 ms, whole run | answer p50 / p99 ms outside the outage (goal p99 < 100) | restart s | client retries | participant mix req/s | answers/s | bare Flask req/s | ratio mix / bare | **ratio answers / bare (goal ≥ 0.33)** | server CPU ms per answer / per bare request (ratio) | client CPU ms per answer / per bare request |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['completed']}/{r['participants']} | {r['acked']} | {r['lost']} | {r['p50_ms']:.0f} / {r['p99_ms']:.0f} | "
            f"{r['steady_p50_ms']:.0f} / {r['steady_p99_ms']:.0f} | "
            f"{r['restart_s']:.1f} | {r['retries']} | {r['study_rps']:.0f} | {r['answer_rps']:.0f} | {r['bare_rps']:.0f} | "
            f"{r['ratio']:.2f} | **{r['answer_ratio']:.2f}** | "
            f"{r['answer_server_cpu_ms']:.2f} / {r['bare_server_cpu_ms']:.2f} ({r['bare_server_cpu_ms'] / r['answer_server_cpu_ms']:.2f}) | "
            f"{r['answer_client_cpu_ms']:.2f} / {r['bare_client_cpu_ms']:.2f} |"
        )
    missed = [
        f"{kind}: {what}"
        for kind, r in results.items()
        for what, bad in (
            (f"{r['lost']} acknowledged answers lost", r["lost"] > 0),
            (f"p99 {r['steady_p99_ms']:.0f} ms outside the outage", r["steady_p99_ms"] >= 100),
            (f"answers/bare ratio {r['answer_ratio']:.2f}", r["answer_ratio"] < 1 / 3),
        )
        if bad
    ]
    lines += ["", "Goals missed in this run: " + "; ".join(missed) + "." if missed else "All goals met in this run."]
    problems = [f"{kind}: {r['throughput_errors']} throughput client errors ({r['throughput_first_error']})"
                for kind, r in results.items() if r["throughput_errors"]]  # fmt: skip
    if problems:
        lines += ["", "Errors: " + "; ".join(problems) + "."]
    lines += [
        "",
        "Throughput runs on a second study (within design, 101 trials per participant) served by the same gunicorn "
        "set-up. Each client first sets up its participants (study link, consent, instructions) and only then "
        "does the clock start, so *answers/s* counts answer submissions (`POST /trial/<n>`: validation, CSRF, "
        "one transaction storing the three ratings, 303 to the next trial) and nothing else; the participant mix "
        "adds the trial page `GET /trial` before each answer, as a browser does. "
        f"Set-ups that had to run inside a timed window: {sum(r['in_window_setups'] for r in results.values()):.0f}. "
        "The bare route is `POST /bare` returning a constant. The load generator (`benchmarks/loadgen.py`) writes "
        "prebuilt requests to keep-alive sockets and parses only status, `Location`, `Set-Cookie` and the body, "
        "so its CPU per request (last column) is small next to the server's; the server CPU column (gunicorn "
        "master and workers, plus PostgreSQL's processes for the study server on PostgreSQL) compares the cost "
        "per request independently of the client. Latency is the client-side time of the answer POST; "
        "'outside the outage' leaves out answers sent between the kill and 5 s after the restart.",
        "",
        f"CPU time per request in process (Flask test client, SQLite, no HTTP, same run): trial page "
        f"{cpu['page_cpu_ms']:.2f} ms, answer {cpu['answer_cpu_ms']:.2f} ms, bare route {cpu['bare_cpu_ms']:.2f} ms.",
        "",
    ]
    return "\n".join(lines)


def update_results_md(section: str) -> None:
    replace_section(ROOT / "benchmarks" / "RESULTS.md", "## Study server", section)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--think-min", type=float, default=5.0)
    parser.add_argument("--think-max", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=16, help="closed-loop clients for the throughput ratio")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved study/bare throughput rounds")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="20 participants, 3 s throughput runs")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    parser.add_argument("--load-note", default="", help="what else ran on the machine, for RESULTS.md")
    parser.add_argument("--throughput-only", action="store_true", help="skip the kill -9 load run (writes nothing)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (study and bare server alike)")
    parser.add_argument("--worker-threads", type=int, default=8, help="gunicorn gthread threads per worker")
    args = parser.parse_args()
    args.gunicorn = gunicorn_setup(args.workers, args.worker_threads)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (servers, PostgreSQL)
    if args.quick:
        args.participants, args.seconds, args.rounds, args.think_min, args.think_max = 20, 2.0, 1, 0.2, 0.5
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="aufx-bench-") as tmp:
        for kind in kinds:
            results[kind] = run_database(kind, args, Path(tmp))
            print(kind, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in results[kind].items()}, flush=True)
        if args.throughput_only:
            return 0
        cpu = cpu_per_request(Path(tmp))
    print("cpu", cpu)
    load = (f"load average {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (1 min) on "
            f"{os.cpu_count()} cores" + (f"; {args.load_note}" if args.load_note else ""))
    section = write_results(results, args, cpu, load)
    print(section)
    if not args.no_write and not args.quick:
        update_results_md(section)
    return 0 if all(r["lost"] == 0 and r["errors"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
