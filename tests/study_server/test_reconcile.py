"""The platform's export reconciled with the server: planted mismatches found exactly, clear errors
for other files, the CLI and the admin page."""

from __future__ import annotations

import csv
import io
import random
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aufx.cli import main as aufx_main
from study_server.db import write_session
from study_server.models import Participant
from study_server.reconcile import (
    MISMATCHES,
    TABLE_COLUMNS,
    PlatformFileError,
    PlatformRecord,
    ServerRecord,
    read_platform_export,
    reconcile,
    server_records,
    summary,
)
from tests.study_server.conftest import ADMIN_PASSWORD
from tests.study_server.helpers import Walker

#: Columns of Prolific's submissions export (the reconciliation reads the first five).
EXPORT_HEADER = ["Submission id", "Participant id", "Status", "Custom study tncs accepted at", "Started at",
                 "Completed at", "Reviewed at", "Archived at", "Time taken", "Completion code", "Total approvals"]  # fmt: skip
KINDS = tuple(MISMATCHES)


def hexid(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def plant(rng: random.Random, n: int = 200, per_kind: int = 5) -> tuple[list[list[str]], list[dict], set[tuple[str, str]]]:
    """A simulated study: export rows, server sessions, and the planted (participant id, mismatch) pairs."""
    kinds = [k for k in KINDS for _ in range(per_kind)] + [""] * (n - per_kind * len(KINDS))
    rng.shuffle(kinds)
    start = datetime(2026, 3, 2, 10, 0)
    export, server, planted = [], [], set()
    for i, kind in enumerate(kinds):
        pid, submission = hexid(rng), hexid(rng)
        began = start + timedelta(minutes=3 * i)
        if kind == "completed_on_platform_not_server":
            platform, state = rng.choice(["APPROVED", "AWAITING REVIEW"]), rng.choice(["in progress", "abandoned"])
        elif kind == "completed_on_server_not_platform":
            platform, state = rng.choice(["RETURNED", "TIMED-OUT"]), "completed"
        elif kind == "unknown_to_server":
            platform, state = rng.choice(["APPROVED", "AWAITING REVIEW", "RETURNED"]), None
        elif kind == "unknown_to_platform":
            platform, state = None, rng.choice(["completed", "in progress", "abandoned"])
        else:
            platform, state = rng.choice([
                ("APPROVED", "completed"), ("AWAITING REVIEW", "completed"), ("REJECTED", "completed"),
                ("RETURNED", "abandoned"), ("TIMED-OUT", "in progress"), ("ACTIVE", "in progress"),
                ("RETURNED", "in progress"), ("SCREENED OUT", "abandoned"),
            ])  # fmt: skip
        if kind:
            planted.add((pid, kind))
        done = began + timedelta(minutes=rng.randint(6, 20))
        if platform is not None:
            submitted = platform in ("APPROVED", "AWAITING REVIEW", "REJECTED")
            export.append([submission, pid, platform, began.isoformat() + "Z", began.isoformat() + "Z",
                           done.isoformat() + "Z" if submitted else "", "", "", "610" if submitted else "",
                           "DONE123" if submitted else "", str(rng.randint(0, 900))])  # fmt: skip
        if state is not None:
            server.append({"pid": pid, "session": submission, "state": state, "began": began, "done": done})
    return export, server, planted


def export_csv(rows: list[list[str]], header: list[str] = EXPORT_HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def store_sessions(app, sessions: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Server sessions as the flow leaves them (completed, in progress, marked abandoned), plus a direct pilot."""
    rt = app.extensions["aufx_study"]
    with write_session(rt.db) as s:
        for k, one in enumerate([*sessions, {"pid": None, "session": None, "state": "completed",
                                             "began": datetime(2026, 3, 1), "done": datetime(2026, 3, 1, 0, 9)}]):  # fmt: skip
            state = one["state"]
            s.add(Participant(
                public_id=secrets.token_hex(8), study_id=rt.study.study_id,
                platform="prolific" if one["pid"] else "direct", external_pid=one["pid"],
                external_study_id="st" if one["pid"] else None, external_session_id=one["session"],
                start_key=f"{rt.study.study_id}:prolific:{one['pid']}" if one["pid"] else None,
                seed=k, list_index=k % 4, stage="done" if state == "completed" else "trials",
                created_at=one["began"], active_at=one["began"],
                completed_at=one["done"] if state == "completed" else None,
                abandoned_at=one["began"] + timedelta(hours=1) if state == "abandoned" else None,
            ))  # fmt: skip
        s.commit()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_mismatches_are_reported_exactly(app, seed: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export, sessions, planted = plant(random.Random(seed))
    store_sessions(app, sessions)
    rt = app.extensions["aufx_study"]
    records = read_platform_export(export_csv(export).encode(), "export.csv")
    rows = reconcile(records, server_records(rt.db, rt.study, now=datetime(2026, 3, 3)))
    assert {(r.participant_id, r.mismatch) for r in rows if r.mismatch} == planted
    counts = summary(rows)
    assert [counts[k] for k in KINDS] == [5, 5, 5, 5] and counts["rows"] == 201  # 200 + the direct pilot
    assert len({r.participant_id for r in rows if r.participant_id}) == 200
    direct = [r for r in rows if not r.participant_id]
    assert len(direct) == 1 and direct[0].mismatch == "" and "not recruited through Prolific" in direct[0].note


def test_statuses_and_headers_are_read_in_any_case(tmp_path: Path) -> None:
    text = ("participant_id,STATUS,submission ID,started_at,Completed At,Extra\n"
            "a1,approved,s1,2026-01-01T10:00:00Z,2026-01-01T10:09:00Z,x\n"
            "a2,Timed_Out,s2,,,\n\n"
            "a3, awaiting review ,s3,,,\n")  # fmt: skip
    path = tmp_path / "prolific_export.csv"
    path.write_text(text, encoding="utf-8-sig")  # Excel's byte-order mark
    records = read_platform_export(path)
    assert [(r.participant_id, r.status, r.submission_id, r.line) for r in records] == [
        ("a1", "APPROVED", "s1", 2), ("a2", "TIMED-OUT", "s2", 3), ("a3", "AWAITING REVIEW", "s3", 5)]  # fmt: skip
    assert records[0].completed_at == "2026-01-01T10:09:00Z"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; expected Prolific's submissions export"),
        (b"workerId,AssignmentStatus\nW1,Approved\n", "missing column(s) 'Participant id', 'Status' of Prolific's submissions export (found: 'workerId', 'AssignmentStatus')"),
        (b"Participant id,Time taken\np1,300\n", "missing column(s) 'Status'"),
        (b"Participant id,Status\np1,APPROVED\np2,PAID\n", "x.csv:3: column 'Status' has 'PAID', not a Prolific status"),
        (b"Participant id,Status\n,APPROVED\n", "x.csv:2: column 'Participant id' is empty"),
        (b"Participant id,Status\n\xff\xfe\x00p\x001\n", "not a UTF-8 CSV file"),
        (b"Participant id,Status\np1,APPROVED,x\n", "not a readable CSV file"),
        (b"Participant id,Status\np1,APPROVED\np2,APPROVED,x,y\n", "not a readable CSV file"),
    ],
)
def test_other_files_get_a_clear_error(content: bytes, message: str) -> None:
    with pytest.raises(PlatformFileError) as caught:
        read_platform_export(content, "x.csv")
    assert message in str(caught.value) and str(caught.value).startswith("x.csv")


def record(pid: str, status: str, submission: str = "") -> PlatformRecord:
    return PlatformRecord(pid, status, submission)


def session(pid: str, status: str, session_id: str = "", platform: str = "prolific") -> ServerRecord:
    return ServerRecord(f"srv-{pid}-{session_id}", platform, pid, session_id, status, "trials", 0, "", "")


def test_pairs_match_sessions_by_submission_id_first() -> None:
    rows = reconcile(
        [record("p", "RETURNED", "one"), record("p", "APPROVED", "two")],
        [session("p", "completed", "two"), session("p", "abandoned", "one")],
    )
    assert [(r.submission_id, r.server_participant_id, r.mismatch) for r in rows] == [
        ("one", "srv-p-one", ""), ("two", "srv-p-two", "")]  # fmt: skip
    rows = reconcile([record("q", "APPROVED")], [session("q", "in progress"), session("q", "completed")])
    assert [(r.server_status, r.mismatch) for r in rows] == [("completed", ""), ("in progress", "unknown_to_platform")]


def test_reconcile_cli(app, study_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    export, sessions, planted = plant(random.Random(7), n=40, per_kind=2)
    store_sessions(app, sessions)
    platform = tmp_path / "prolific.csv"
    platform.write_text(export_csv(export))
    out = tmp_path / "table.csv"
    db = f"sqlite:///{tmp_path / 'ratings.db'}"
    argv = ["study", "reconcile", str(study_dir), "--platform", str(platform), "--db", db, "--out", str(out)]
    assert aufx_main(argv) == 0
    printed = capsys.readouterr().out
    assert "8 mismatch(es)" in printed and f"wrote {out}" in printed
    for pid, _ in planted:
        assert pid in printed
    with out.open() as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == TABLE_COLUMNS and len(table) == 41
    assert {(r["participant_id"], r["mismatch"]) for r in table if r["mismatch"]} == planted


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--platform", "{tmp}/absent.csv"], "absent.csv: file does not exist"),
        (["--platform", "{tmp}/mturk.csv"], "missing column(s) 'Participant id', 'Status'"),
        (["--platform", "{tmp}/prolific.csv", "--out", "{tmp}/t.xlsx"], "--out must end in .csv"),
        (["--platform", "{tmp}/prolific.csv", "--db", "sqlite:///{tmp}/none.db"], "does not exist"),
        (["--platform", "{tmp}/prolific.csv", "--db", "sqlite:///{tmp}/empty.db"], "holds no study (no participant table)"),
    ],
)
def test_reconcile_cli_errors_are_one_line(argv: list[str], message: str, app, study_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mturk.csv").write_text("workerId,AssignmentStatus\nW1,Approved\n")
    (tmp_path / "prolific.csv").write_text("Participant id,Status\np1,APPROVED\n")
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE other (x INTEGER)").connection.close()
    full = ["study", "reconcile", str(study_dir), "--db", f"sqlite:///{tmp_path / 'ratings.db'}",
            "--out", str(tmp_path / "t.csv")] + [a.format(tmp=tmp_path) for a in argv]  # fmt: skip
    assert aufx_main(full) == 2
    err = capsys.readouterr().err
    assert err.startswith("aufx: error: ") and message in err and err.count("\n") == 1


def admin_walker(app) -> Walker:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.get("/admin/login")
    assert w.post("/admin/login", {"password": ADMIN_PASSWORD}).status_code == 303
    w.get("/admin/")
    return w


def upload(w: Walker, content: bytes, fmt: str = "html", name: str = "prolific_export.csv"):  # type: ignore[no-untyped-def]
    data = {"csrf_token": w.token, "format": fmt, "platform": (io.BytesIO(content), name)}
    return w.client.post("/admin/reconcile", data=data, content_type="multipart/form-data")


def test_admin_page_reconciles_an_uploaded_export(app) -> None:  # type: ignore[no-untyped-def]
    export, sessions, planted = plant(random.Random(3))
    store_sessions(app, sessions)
    content = export_csv(export).encode()
    assert len(content) > 16 * 1024  # larger than any other request the server takes
    a = admin_walker(app)
    assert 'id="reconcile-form"' in a.pages[-1][1].get_data(as_text=True)
    page = upload(a, content)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[-500:]
    for kind in KINDS:
        assert f'data-kind="{kind}">5<' in html
    assert html.count('class="mismatch"') == 20 and all(pid in html for pid, _ in planted)
    table = upload(a, content, fmt="csv")
    assert table.status_code == 200 and table.mimetype == "text/csv"
    assert "reconciliation.csv" in table.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    assert {(r["participant_id"], r["mismatch"]) for r in rows if r["mismatch"]} == planted
    bad = upload(a, b"workerId,Status\nW1,Approved\n", name="mturk.csv")
    assert bad.status_code == 400 and "mturk.csv: missing column(s) &#39;Participant id&#39;" in bad.get_data(as_text=True)


def test_only_an_admin_may_upload(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.get("/")
    small = upload(w, b"Participant id,Status\np1,APPROVED\n")
    assert small.status_code == 401 and "admin login required" in small.get_data(as_text=True)
    large = upload(w, b"Participant id,Status\n" + b"p1,APPROVED\n" * 3000)
    assert large.status_code == 401  # refused before its body is read
    elsewhere = w.client.post("/consent", data={"csrf_token": w.token, "consent": "yes",
                                                "f": (io.BytesIO(b"x" * 40_000), "a.csv")})  # fmt: skip
    assert elsewhere.status_code == 413  # the server's limit stays everywhere else
    a = admin_walker(app)
    data = {"csrf_token": a.token, "other": (io.BytesIO(b"x"), "a.csv")}
    assert a.client.post("/admin/reconcile", data=data, content_type="multipart/form-data").status_code == 400
