"""Server configuration: defaults < TOML file < environment < explicit arguments.

Environment variables: ``AUFX_SERVER_CONFIG`` (path of a TOML file with the keys below),
``AUFX_STUDY_DIR``, ``AUFX_DB_URL``, ``AUFX_PRODUCTION``, ``AUFX_SECRET_KEY``,
``AUFX_ADMIN_PASSWORD_HASH``, ``AUFX_ADMIN_PASSWORD`` (development only),
``AUFX_SECURE_COOKIES``, ``AUFX_MAX_REQUEST_BYTES``, ``AUFX_SQLITE_SYNCHRONOUS`` (NORMAL or FULL),
``AUFX_PROXY_HOPS`` (reverse proxies in front of the server whose ``X-Forwarded-*`` headers are trusted).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from study_server.study import tomllib

ENV = {
    "study_dir": "AUFX_STUDY_DIR",
    "database_url": "AUFX_DB_URL",
    "production": "AUFX_PRODUCTION",
    "secret_key": "AUFX_SECRET_KEY",
    "admin_password_hash": "AUFX_ADMIN_PASSWORD_HASH",
    "admin_password": "AUFX_ADMIN_PASSWORD",
    "secure_cookies": "AUFX_SECURE_COOKIES",
    "max_request_bytes": "AUFX_MAX_REQUEST_BYTES",
    "sqlite_synchronous": "AUFX_SQLITE_SYNCHRONOUS",
    "proxy_hops": "AUFX_PROXY_HOPS",
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ServerConfig:
    """Everything the app factory needs besides the study folder's own ``study.toml``."""

    study_dir: str = ""
    database_url: str = ""  # default: sqlite:///<study_dir>/study.sqlite3
    production: bool = False
    secret_key: str = ""  # default: a random key kept in the database, shared by workers
    admin_password_hash: str = ""  # werkzeug.security.generate_password_hash(...)
    admin_password: str = ""  # plain text, refused in production mode
    secure_cookies: bool | None = None  # default: on in production mode
    max_request_bytes: int = 16 * 1024
    sqlite_synchronous: str = "NORMAL"  # FULL: survive power loss too, one fsync per answer
    proxy_hops: int = 0  # trusted reverse proxies (X-Forwarded-For/-Proto/-Host/-Prefix); 0: headers ignored

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.study_dir).resolve() / 'study.sqlite3'}"

    @property
    def cookies_secure(self) -> bool:
        return self.production if self.secure_cookies is None else self.secure_cookies

    def validate(self) -> ServerConfig:
        """Raise ``ValueError`` naming the bad setting; return self."""
        if not self.study_dir:
            raise ValueError("study_dir is required (--study DIR or AUFX_STUDY_DIR)")
        if self.production:
            if not self.admin_password_hash:
                raise ValueError("production mode needs admin_password_hash (AUFX_ADMIN_PASSWORD_HASH); there is no default password")
            if self.admin_password:
                raise ValueError("production mode refuses a plain-text admin_password; set AUFX_ADMIN_PASSWORD_HASH instead")
        if self.admin_password_hash and ":" not in self.admin_password_hash:
            raise ValueError("admin_password_hash must be a werkzeug hash like 'scrypt:32768:8:1$...'")
        if self.sqlite_synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, got {self.sqlite_synchronous!r}")
        if not 0 <= self.proxy_hops <= 5:
            raise ValueError(f"proxy_hops must be 0..5 (the reverse proxies in front of the server), got {self.proxy_hops}")
        if not 1024 <= self.max_request_bytes <= 10 * 1024 * 1024:
            raise ValueError(f"max_request_bytes must be 1024..10485760, got {self.max_request_bytes}")
        return self


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(ServerConfig)}
    kind = kinds[name]
    if "bool" in str(kind):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if kind in (int, "int"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    return str(value)


def load_config(
    file: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> ServerConfig:
    """Build a validated :class:`ServerConfig` from a file, the environment and overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    file = file or env.get("AUFX_SERVER_CONFIG")
    if file:
        path = Path(file)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"server config {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"server config {str(path)!r} is not valid TOML: {error}") from None
        for key, value in table.items():
            if key not in ENV:
                raise ValueError(f"server config {str(path)!r}: unknown key {key!r} (allowed: {', '.join(ENV)})")
            values[key] = _coerce(key, value)
    for key, variable in ENV.items():
        if variable in env:
            values[key] = _coerce(key, env[variable])
    for key, value in overrides.items():
        if key not in ENV:
            raise ValueError(f"unknown server setting {key!r}")
        if value is not None:
            values[key] = _coerce(key, value)
    return replace(ServerConfig(), **values).validate()
