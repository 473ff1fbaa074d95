"""The Flask app factory: config, database, blueprints, security headers and error pages."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import generate_password_hash

from study_server.config import ServerConfig, _coerce, load_config
from study_server.csrf import ReusingCSRFProtect
from study_server.db import (
    create_schema,
    ensure_study_state,
    make_engine,
    session_factory,
    shared_secret,
)
from study_server.errors import RequestRejected
from study_server.images import ImageStore
from study_server.returning import ResumeLinks
from study_server.sessions import CachedSerializerSessionInterface
from study_server.study import Study, load_study

log = logging.getLogger("study_server")

CSP = (
    "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

Header = tuple[str, str]

#: Headers on every response, in this order.
SECURITY_HEADERS: tuple[Header, ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS: Header = ("Strict-Transport-Security", "max-age=31536000")
NO_STORE: Header = ("Cache-Control", "no-store")


@dataclass
class Runtime:
    """What the views need: the study, the settings, the database and the images."""

    study: Study
    config: ServerConfig
    db: sessionmaker[Session]
    images: ImageStore
    admin_hash: str
    links: ResumeLinks
    questions_html: Markup = Markup("")


def runtime() -> Runtime:
    """The :class:`Runtime` of the current app."""
    return current_app.extensions["aufx_study"]


def runtime_of(app: Flask) -> Runtime:
    """The :class:`Runtime` of ``app`` (outside a request)."""
    return app.extensions["aufx_study"]


@dataclass(frozen=True)
class HeaderSet:
    """Response headers set together after every request (the security headers).

    werkzeug's ``Headers.__setitem__`` scans and validates the whole header list once per
    name. :meth:`apply` has the same effect in one step when none of the names is set yet
    (the usual case: no view sets them): it appends the pairs, which leaves the same list,
    and the per-value check (no line breaks) was already done once here, on constants."""

    items: tuple[Header, ...]
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        Headers(list(self.items))  # werkzeug's value check, once
        object.__setattr__(self, "names", frozenset(name.lower() for name, _ in self.items))

    def apply(self, headers: Headers) -> None:
        """``headers[name] = value`` for each item, in order (appended at once if none is set;
        set one by one, replacing, if one is, or if werkzeug stops keeping a plain list)."""
        stored = getattr(headers, "_list", None)
        if type(stored) is list and self.names.isdisjoint([key.lower() for key, _ in stored]):
            stored.extend(self.items)
            return
        for name, value in self.items:
            headers[name] = value


def _as_config(config: ServerConfig | Mapping[str, Any] | None) -> ServerConfig:
    if config is None:
        return load_config()
    if isinstance(config, ServerConfig):
        return config.validate()
    known = {f.name for f in fields(ServerConfig)}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown server setting {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(known))})")
    values = {k: _coerce(k, v) for k, v in config.items() if v is not None}
    return replace(ServerConfig(), **values).validate()


def create_app(config: ServerConfig | Mapping[str, Any] | None = None) -> Flask:
    """Build the study server for ``config`` (a :class:`ServerConfig`, a dict, or the environment)."""
    cfg = _as_config(config)
    study = load_study(cfg.study_dir)
    engine = make_engine(cfg.db_url, cfg.sqlite_synchronous)
    create_schema(engine)
    factory = session_factory(engine)
    secret = cfg.secret_key or shared_secret(factory, "session_key")
    ensure_study_state(factory, study.study_id, study.open_on_start)
    engine.dispose()  # no connection crosses a gunicorn fork

    admin_hash = cfg.admin_password_hash
    if not admin_hash and cfg.admin_password:
        admin_hash = generate_password_hash(cfg.admin_password)

    app = Flask(__name__)
    app.session_interface = CachedSerializerSessionInterface()
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="study_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.cookies_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=cfg.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=cfg.max_request_bytes,
        MAX_FORM_PARTS=64,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["aufx_study"] = Runtime(
        study, cfg, factory, ImageStore(study, secret), admin_hash, ResumeLinks(secret)
    )
    ReusingCSRFProtect(app)

    from study_server.admin import bp as admin_bp
    from study_server.api import bp as api_bp
    from study_server.participant import bp as participant_bp

    app.register_blueprint(participant_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api")
    _install_hooks(app)
    if cfg.proxy_hops:
        # Behind nginx/Caddy: client address (admin login throttling), scheme (CSRF referrer check
        # over HTTPS), host and mount prefix come from the proxies' X-Forwarded-* headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.proxy_hops, x_proto=cfg.proxy_hops,  # type: ignore[method-assign]
                                x_host=cfg.proxy_hops, x_prefix=cfg.proxy_hops)  # fmt: skip
    with app.app_context():
        app.extensions["aufx_study"].questions_html = Markup(render_template("_questions.html", study=study))
    return app


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str):  # type: ignore[no-untyped-def]
    """The rejection page (or JSON) for ``status`` with ``message``."""
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def _permanent_session() -> None:
        if not session.permanent:
            session.permanent = True
        if request.method == "POST" and not g.get("upload_allowed") and request.files:
            raise RequestRejected(400, "file uploads are not accepted")

    always = (*SECURITY_HEADERS, HSTS) if runtime_of(app).config.cookies_secure else SECURITY_HEADERS
    for_other, for_html = HeaderSet(always), HeaderSet((*always, NO_STORE))

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        (for_html if response.mimetype == "text/html" else for_other).apply(response.headers)
        return response

    @app.errorhandler(RequestRejected)
    def _rejected(error: RequestRejected):  # type: ignore[no-untyped-def]
        return error_response(error.status, error.message)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return error_response(400, f"form rejected: {error.description} Reload the page and try again.")

    @app.errorhandler(413)
    def _too_large(_error: HTTPException):  # type: ignore[no-untyped-def]
        limit = runtime().config.max_request_bytes
        return error_response(413, f"request too large: the limit is {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        messages = {
            404: "page not found",
            405: f"method {request.method} is not allowed here",
        }
        return error_response(error.code or 500, messages.get(error.code or 0, error.description or error.name))
