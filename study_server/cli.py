"""``aufx serve`` (run a study), ``aufx export`` (ratings to CSV/JSON) and ``aufx study reconcile``
(the recruitment platform's record against the server's) sub-commands."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve``, ``export`` and ``study`` to the ``aufx`` parser."""
    serve = subparsers.add_parser("serve", help="run the rating study of a stimulus folder in the browser")
    serve.add_argument("--study", help="stimulus folder (manifest.csv, images/, study.toml)")
    serve.add_argument("--db", help="database URL (default: sqlite:///STUDY/study.sqlite3)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    serve.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (default 1)")
    serve.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    serve.add_argument("--config", help="server config TOML (keys as in study_server.config)")
    serve.add_argument("--production", action="store_true", help="require a hashed admin password, secure cookies")
    serve.add_argument("--hash-password", action="store_true", help="read a password, print its hash for AUFX_ADMIN_PASSWORD_HASH, exit")
    serve.set_defaults(handler=serve_command)

    export = subparsers.add_parser("export", help="export a study's ratings (long format CSV or JSON)")
    export.add_argument("--study", required=True, help="stimulus folder of the study")
    export.add_argument("--db", help="database URL (default: sqlite:///STUDY/study.sqlite3)")
    export.add_argument("--out", required=True, help="output file (.csv or .json)")
    export.add_argument("--format", choices=("csv", "json"), help="default: from the --out suffix")
    export.set_defaults(handler=export_command)

    study = subparsers.add_parser("study", help="tasks on a running or finished study")
    study_sub = study.add_subparsers(dest="study_command", metavar="ACTION")
    study_sub.required = True
    reconcile = study_sub.add_parser(
        "reconcile", help="compare the platform's submissions export (Prolific CSV) with the server's sessions"
    )
    reconcile.add_argument("study_dir", metavar="STUDY_DIR", help="stimulus folder of the study")
    reconcile.add_argument("--platform", required=True, metavar="FILE.csv", help="Prolific's submissions export")
    reconcile.add_argument("--db", help="database URL (default: sqlite:///STUDY_DIR/study.sqlite3)")
    reconcile.add_argument("--out", default="reconciliation.csv", help="table to write (default: reconciliation.csv)")
    reconcile.set_defaults(handler=reconcile_command)


def serve_command(args: argparse.Namespace) -> int:
    """Run the study under gunicorn (werkzeug where gunicorn cannot run)."""
    if args.hash_password:
        from werkzeug.security import generate_password_hash

        password = getpass.getpass("admin password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        if len(password) < 8:
            raise ValueError("the admin password must have at least 8 characters")
        print(generate_password_hash(password))
        return 0
    if not args.study:
        raise ValueError("--study DIR is required")
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be 1..65535, got {args.port}")
    if not 1 <= args.workers <= 64 or not 1 <= args.threads <= 256:
        raise ValueError("--workers must be 1..64 and --threads 1..256")
    from study_server.app import create_app
    from study_server.config import load_config

    config = load_config(args.config, study_dir=args.study, database_url=args.db, production=args.production or None)
    if not config.admin_password_hash and not config.admin_password:
        from dataclasses import replace

        config = replace(config, admin_password=secrets.token_urlsafe(12))
        print(f"admin password for this run: {config.admin_password}  (set AUFX_ADMIN_PASSWORD_HASH to fix one)")
    app = create_app(config)
    study = app.extensions["aufx_study"].study
    print(f"study {study.study_id!r}: {len(study.stimuli)} stimuli, design {study.design}; database {config.db_url}")
    print(f"participants: http://{args.host}:{args.port}/   admin: http://{args.host}:{args.port}/admin/")
    try:
        from study_server.gunicorn_app import run
    except ImportError:  # pragma: no cover - no gunicorn (Windows)
        app.run(host=args.host, port=args.port, threaded=True)
        return 0
    run(app, f"{args.host}:{args.port}", args.workers, args.threads)
    return 0


def export_command(args: argparse.Namespace) -> int:
    """Write the ratings export of a study database."""
    from study_server.export import export_rows, json_text, write_csv

    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise ValueError(f"--out must end in .csv or .json (or give --format), got {args.out!r}")
    study, factory = _open_database(args.study, args.db)
    if fmt == "csv":
        rows = export_rows(factory, study)
        with out.open("w", newline="", encoding="utf-8") as handle:
            write_csv(rows, handle)
        print(f"wrote {len(rows)} ratings to {out}")
    else:
        out.write_text(json_text(factory, study), encoding="utf-8")
        print(f"wrote {out}")
    return 0


def _open_database(study_dir: str, db: str | None):  # type: ignore[no-untyped-def]
    """The study and a session factory of its existing database (``ValueError`` if there is none).

    A database of an earlier version gets the columns added since (nullable; nothing stored changes)."""
    from sqlalchemy import inspect

    from study_server.config import load_config
    from study_server.db import make_engine, session_factory
    from study_server.migrate import add_missing_columns
    from study_server.models import Base
    from study_server.study import load_study

    config = load_config(study_dir=study_dir, database_url=db)
    if config.db_url.startswith("sqlite:///") and not Path(config.db_url[len("sqlite:///"):]).exists():
        raise ValueError(f"database {config.db_url!r} does not exist")
    study = load_study(study_dir)
    engine = make_engine(config.db_url)
    if "participant" not in inspect(engine).get_table_names():
        raise ValueError(f"database {config.db_url!r} holds no study (no participant table)")
    add_missing_columns(engine, Base.metadata)
    return study, session_factory(engine)


def reconcile_command(args: argparse.Namespace) -> int:
    """Write the reconciliation table and print its mismatches."""
    from study_server.reconcile import (
        MISMATCHES,
        read_platform_export,
        reconcile,
        server_records,
        summary,
        write_table,
    )

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"--out must end in .csv, got {args.out!r}")
    platform = read_platform_export(Path(args.platform))
    study, factory = _open_database(args.study_dir, args.db)
    rows = reconcile(platform, server_records(factory, study))
    with out.open("w", newline="", encoding="utf-8") as handle:
        write_table(rows, handle)
    counts = summary(rows)
    mismatched = counts["rows"] - counts["agree"]
    print(f"{len(platform)} platform submissions, {counts['rows']} participants in all: "
          f"{counts['agree']} agree, {mismatched} mismatch(es)")  # fmt: skip
    for kind, text in MISMATCHES.items():
        print(f"  {counts[kind]:4d}  {text}")
    for row in rows:
        if row.mismatch:
            print(f"  {row.participant_id}: {row.note}")
    print(f"wrote {out}")
    return 0
