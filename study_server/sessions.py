"""Flask's signed-cookie sessions, with the signing serializer built once instead of per request.

Flask's :class:`~flask.sessions.SecureCookieSessionInterface` builds a new
``URLSafeTimedSerializer`` on every request (its constructor test-serialises a value); the
serializer holds no per-request state, so it is kept per set of keys. It is a
:class:`~study_server.signing.ReusingTimedSerializer` with Flask's settings, which also keeps
its signer and the derived HMAC key (see :mod:`study_server.signing` for why that is safe).
Cookies, signatures, salt and expiry are exactly Flask's.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from study_server.signing import ReusingTimedSerializer


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """:class:`SecureCookieSessionInterface` that reuses its serializer while the keys stay the same."""

    def __init__(self) -> None:
        self._cached: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is None or cached[0] != keys:
            flask_serializer = super().get_signing_serializer(app)
            reusing = None if flask_serializer is None else ReusingTimedSerializer.like(flask_serializer)
            cached = self._cached = (keys, reusing)
        return cached[1]
