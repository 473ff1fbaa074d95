"""Admin pages: login, dashboard with live progress, open/close the study, export links, and the
reconciliation with the recruitment platform's export (the one file upload the server takes)."""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from study_server.app import runtime
from study_server.db import write_session
from study_server.errors import RequestRejected
from study_server.models import StudyState, utcnow
from study_server.progress import progress
from study_server.reconcile import (
    MISMATCHES,
    PlatformFileError,
    read_platform_export,
    reconcile,
    server_records,
    summary,
    table_text,
)
from study_server.validation import check_fields

bp = Blueprint("admin", __name__)

#: At most this many failed logins per client address in ``_WINDOW_S`` seconds.
MAX_FAILURES, _WINDOW_S = 10, 600
_failures: dict[str, deque[float]] = defaultdict(deque)
_failures_lock = threading.Lock()
#: The largest platform export an admin may upload (bytes); other requests keep the server's limit.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
UPLOAD_ENDPOINT = "admin.reconcile_upload"


def _allow_upload() -> None:
    """Before every other hook (CSRF reads the form): a logged-in admin's upload of the platform
    export may be larger than the server's request limit, and may carry a file; anyone else's is
    refused before its body is read."""
    if request.method != "POST" or request.endpoint != UPLOAD_ENDPOINT:
        return
    if not is_admin():
        raise RequestRejected(401, "admin login required")
    # werkzeug's multipart decoder also buffers file data up to the form memory limit
    request.max_content_length = request.max_form_memory_size = MAX_UPLOAD_BYTES
    g.upload_allowed = True


@bp.record_once
def _install_upload_hook(state) -> None:  # type: ignore[no-untyped-def]
    app: Flask = state.app
    app.before_request_funcs.setdefault(None, []).insert(0, _allow_upload)


def is_admin() -> bool:
    """Whether this browser session has logged in as admin."""
    return session.get("admin") is True


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Reject (401) requests without an admin session."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            raise RequestRejected(401, "admin login required")
        return view(*args, **kwargs)

    return wrapped


def _throttled(address: str) -> bool:
    now = time.monotonic()
    with _failures_lock:
        recent = _failures[address]
        while recent and now - recent[0] > _WINDOW_S:
            recent.popleft()
        return len(recent) >= MAX_FAILURES


def _record_failure(address: str) -> None:
    with _failures_lock:
        _failures[address].append(time.monotonic())


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """Password login (the hash comes from the server config; there is no default)."""
    rt = runtime()
    if request.method == "GET":
        return render_template("admin/login.html", enabled=bool(rt.admin_hash))
    if not rt.admin_hash:
        raise RequestRejected(403, "admin login is disabled: set AUFX_ADMIN_PASSWORD_HASH")
    address = request.remote_addr or "?"
    if _throttled(address):
        raise RequestRejected(429, f"too many failed logins; wait {_WINDOW_S // 60} minutes")
    check_fields(request.form, {"csrf_token", "password"}, {"password"})
    if not check_password_hash(rt.admin_hash, request.form["password"][:256]):
        _record_failure(address)
        raise RequestRejected(401, "wrong admin password")
    session["admin"] = True
    return redirect(url_for("admin.dashboard"), code=303)


@bp.post("/logout")
def logout() -> Response:
    """End the admin session."""
    check_fields(request.form, {"csrf_token"})
    session.pop("admin", None)
    return redirect(url_for("admin.login"), code=303)


@bp.get("/")
@admin_required
def dashboard() -> str:
    """Progress overview; the page refreshes its numbers from ``/api/progress``."""
    rt = runtime()
    return render_template("admin/dashboard.html", study=rt.study, p=progress(rt.db, rt.study))


@bp.post("/state")
@admin_required
def set_state() -> Response:
    """Open or close the study to new participants (those who started can finish)."""
    check_fields(request.form, {"csrf_token", "open"}, {"open"})
    value = request.form["open"]
    if value not in ("yes", "no"):
        raise RequestRejected(400, f"field 'open' must be 'yes' or 'no', got {value[:20]!r}")
    rt = runtime()
    with write_session(rt.db) as db:
        row = db.get(StudyState, rt.study.study_id)
        assert row is not None
        row.is_open = value == "yes"
        row.updated_at = utcnow()
        db.commit()
    return redirect(url_for("admin.dashboard"), code=303)


@bp.post("/reconcile")
@admin_required
def reconcile_upload() -> Response | str:
    """The platform's submissions export against the server's sessions, as a page or a CSV table."""
    check_fields(request.form, {"csrf_token", "format"})
    files = request.files.getlist("platform")
    if set(request.files) != {"platform"} or len(files) != 1:
        raise RequestRejected(400, "field 'platform' must be one file: Prolific's submissions export (CSV)")
    fmt = request.form.get("format", "html")
    if fmt not in ("html", "csv"):
        raise RequestRejected(400, f"field 'format' must be 'html' or 'csv', got {fmt[:20]!r}")
    name = (files[0].filename or "upload")[:120]
    try:
        platform = read_platform_export(files[0].read(), name)
    except PlatformFileError as error:
        raise RequestRejected(400, str(error)) from None
    rt = runtime()
    rows = reconcile(platform, server_records(rt.db, rt.study))
    if fmt == "csv":
        response = Response(table_text(rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{rt.study.study_id}-reconciliation.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response
    rows.sort(key=lambda row: (not row.mismatch, row.mismatch, row.participant_id))
    return render_template("admin/reconcile.html", study=rt.study, rows=rows, counts=summary(rows),
                           kinds=MISMATCHES, source=name, n_platform=len(platform))  # fmt: skip
