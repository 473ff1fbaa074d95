"""itsdangerous serializers that reuse their signers and derived HMAC keys across requests.

Every answer verifies two signed values: the session cookie and the CSRF token. A plain
``URLSafeTimedSerializer`` builds a new ``TimestampSigner`` for every ``loads`` and the
signer re-derives its HMAC key (a SHA-1 of salt and secret key) for every signature it
checks. Neither holds per-request state, so :class:`ReusingTimedSerializer` keeps one signer
per salt and :class:`KeyCachingSigner` keeps the derived key per secret key.

Why this is safe:

* The derived key is a deterministic function of the secret key, the salt, the derivation
  scheme and the digest, all fixed for the lifetime of a signer; caching it returns exactly
  the bytes a fresh derivation would, so every signature (made or checked) is unchanged and
  cookies and tokens signed before this change still verify.
* It is kept in the memory of the same process that already holds the secret key it is
  derived from, and is never logged or sent anywhere, so it exposes nothing new.
* Signatures are still compared in constant time by itsdangerous's ``HMACAlgorithm``;
  timestamps and ``max_age`` are still checked per call by ``TimestampSigner.unsign``.
* A serializer is bound to its keys: :class:`~study_server.sessions.CachedSerializerSessionInterface`
  and :mod:`study_server.csrf` build a new one when the app's keys change.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes


class KeyCachingSigner(TimestampSigner):
    """``TimestampSigner`` that derives the HMAC key of each of its secret keys only once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """The key itsdangerous would derive; cached for this signer's own secret keys only,
        so the cache stays as small as ``secret_keys``."""
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:
            derived = super().derive_key(key)
            if key in self.secret_keys:
                self._derived[key] = derived
        return derived


class ReusingTimedSerializer(URLSafeTimedSerializer):
    """``URLSafeTimedSerializer`` that builds its (stateless) signer once per salt.

    Token format, salt, key derivation and digest are whatever the constructor is given,
    exactly as for ``URLSafeTimedSerializer``; only :class:`KeyCachingSigner` is the default.
    """

    default_signer = KeyCachingSigner

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[bytes | None, TimestampSigner] = {}

    def make_signer(self, salt: str | bytes | None = None) -> TimestampSigner:
        """The signer for ``salt`` (default: the serializer's), built on first use."""
        key = None if salt is None else want_bytes(salt)
        signer = self._signers.get(key)
        if signer is None:
            signer = self._signers[key] = super().make_signer(salt)  # type: ignore[assignment]
        return signer  # type: ignore[return-value]

    @classmethod
    def like(cls, serializer: URLSafeTimedSerializer) -> ReusingTimedSerializer:
        """A reusing serializer with ``serializer``'s keys, salt, payload serializer and
        signer settings, so that it reads and writes exactly the same tokens."""
        signer = serializer.signer
        if signer is TimestampSigner:
            signer = KeyCachingSigner
        return cls(
            serializer.secret_keys,
            salt=serializer.salt,
            serializer=serializer.serializer,
            serializer_kwargs=serializer.serializer_kwargs,
            signer=signer,
            signer_kwargs=serializer.signer_kwargs,
            fallback_signers=serializer.fallback_signers,
        )
