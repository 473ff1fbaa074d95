"""Flask-WTF's CSRF protection with a reused token serializer.

:class:`ReusingCSRFProtect` is Flask-WTF's :class:`~flask_wtf.csrf.CSRFProtect` (same
before-request hook, exemptions, methods, token lookup in form field and headers, referrer
check over HTTPS, ``g.csrf_valid``), except that the token is checked by
:func:`csrf_failure` instead of ``flask_wtf.csrf.validate_csrf``. ``validate_csrf`` builds a new
``URLSafeTimedSerializer`` per call and re-derives its HMAC key; :func:`csrf_failure` does the
same checks, in the same order, with the same messages, on a
:class:`~study_server.signing.ReusingTimedSerializer` kept per secret key:

1. no token sent: "The CSRF token is missing."
2. no raw token in the session: "The CSRF session token is missing."
3. signature older than ``WTF_CSRF_TIME_LIMIT`` (``None``: no limit): "The CSRF token has expired."
4. bad signature, format or payload: "The CSRF token is invalid."
5. signed value differs from the session's raw token (``hmac.compare_digest``):
   "The CSRF tokens do not match."

Tokens are still made by Flask-WTF's ``generate_csrf`` (salt ``"wtf-csrf-token"``, the
default itsdangerous signer settings), which the reused serializer reads with the same salt
and settings; why reusing the derived key is safe is explained in :mod:`study_server.signing`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFProtect, same_origin
from itsdangerous import BadData, SignatureExpired

from study_server.signing import ReusingTimedSerializer

#: Flask-WTF's logger, so rejected tokens are logged where they were before.
log = logging.getLogger("flask_wtf.csrf")

#: Flask-WTF's salt for CSRF tokens (``flask_wtf.csrf.generate_csrf``).
CSRF_SALT = "wtf-csrf-token"


class ReusingCSRFProtect(CSRFProtect):
    """:class:`~flask_wtf.csrf.CSRFProtect` whose token check reuses one serializer per key."""

    def __init__(self, app: object = None) -> None:
        self._serializer: tuple[object, ReusingTimedSerializer] | None = None
        super().__init__(app)

    def serializer(self, secret_key: object) -> ReusingTimedSerializer:
        """The token serializer for ``secret_key``: Flask-WTF's settings, rebuilt when the key changes."""
        cached = self._serializer
        if cached is None or cached[0] != secret_key:
            cached = self._serializer = (secret_key, ReusingTimedSerializer(secret_key, salt=CSRF_SALT))  # type: ignore[arg-type]
        return cached[1]

    def csrf_failure(self, data: str | None) -> str | None:
        """Why ``data`` is not a valid CSRF token of this session, or ``None`` if it is.

        Mirrors ``flask_wtf.csrf.validate_csrf`` with its default arguments (the settings are
        read from the app config the same way, once per call)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        config = app.config
        secret_key = _setting(config, "WTF_CSRF_SECRET_KEY", app.secret_key, "A secret key is required to use CSRF.")
        field_name = _setting(config, "WTF_CSRF_FIELD_NAME", "csrf_token", "A field name is required to use CSRF.")
        time_limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
        if not data:
            return "The CSRF token is missing."
        state = session._get_current_object()  # type: ignore[attr-defined]
        if field_name not in state:
            return "The CSRF session token is missing."
        try:
            token = self.serializer(secret_key).loads(data, max_age=time_limit)
        except SignatureExpired:
            return "The CSRF token has expired."
        except BadData:
            return "The CSRF token is invalid."
        if not hmac.compare_digest(state[field_name], token):
            return "The CSRF tokens do not match."
        return None

    def protect(self, apply_exemptions: bool = False) -> None:
        """Flask-WTF's ``CSRFProtect.protect`` with :meth:`csrf_failure` as the token check.

        The exemption lookup is skipped while nothing is exempt (its answer would be "no")."""
        req = request._get_current_object()  # type: ignore[attr-defined]
        config = current_app.config
        if apply_exemptions:
            if not req.endpoint:
                return
            if (self._exempt_views or self._exempt_blueprints) and self._is_exempt():
                return
        if req.method not in config["WTF_CSRF_METHODS"]:
            return
        failure = self.csrf_failure(self._get_csrf_token())
        if failure is not None:
            log.info(failure)
            self._error_response(failure)
        if req.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            if not req.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(req.referrer, f"https://{req.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True


def _setting(config: Mapping[str, Any], name: str, default: object, message: str) -> Any:
    """``flask_wtf.csrf._get_config`` for a required setting: ``config[name]`` or ``default``;
    ``RuntimeError(message)`` if that is ``None``."""
    value = config.get(name, default)
    if value is None:
        raise RuntimeError(message)
    return value
