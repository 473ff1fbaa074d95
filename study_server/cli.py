"""``aufx serve`` (run a study) and ``aufx export`` (ratings to CSV/JSON) sub-commands."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and ``export`` to the ``aufx`` parser."""
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
    from study_server.config import load_config
    from study_server.db import make_engine, session_factory
    from study_server.export import export_rows, json_text, write_csv
    from study_server.study import load_study

    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise ValueError(f"--out must end in .csv or .json (or give --format), got {args.out!r}")
    config = load_config(study_dir=args.study, database_url=args.db)
    if config.db_url.startswith("sqlite:///") and not Path(config.db_url[len("sqlite:///"):]).exists():
        raise ValueError(f"database {config.db_url!r} does not exist")
    study = load_study(args.study)
    factory = session_factory(make_engine(config.db_url))
    if fmt == "csv":
        rows = export_rows(factory, study)
        with out.open("w", newline="", encoding="utf-8") as handle:
            write_csv(rows, handle)
        print(f"wrote {len(rows)} ratings to {out}")
    else:
        out.write_text(json_text(factory, study), encoding="utf-8")
        print(f"wrote {out}")
    return 0
