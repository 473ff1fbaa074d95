"""Admin pages: login, dashboard with live progress, open/close the study, export links."""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from study_server.app import runtime
from study_server.db import write_session
from study_server.errors import RequestRejected
from study_server.models import StudyState, utcnow
from study_server.progress import progress
from study_server.validation import check_fields

bp = Blueprint("admin", __name__)

#: At most this many failed logins per client address in ``_WINDOW_S`` seconds.
MAX_FAILURES, _WINDOW_S = 10, 600
_failures: dict[str, deque[float]] = defaultdict(deque)
_failures_lock = threading.Lock()


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
