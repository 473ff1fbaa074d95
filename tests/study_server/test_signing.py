"""The reusing serializer makes and accepts exactly the tokens itsdangerous does, and no others."""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from study_server.signing import KeyCachingSigner, ReusingTimedSerializer

NOW = 1_800_000_000


class FixedClock(TimestampSigner):
    """An itsdangerous signer whose clock reads ``NOW``."""

    def get_timestamp(self) -> int:
        return NOW


class FixedClockCaching(KeyCachingSigner):
    def get_timestamp(self) -> int:
        return NOW


SETTINGS = [
    pytest.param({}, id="itsdangerous-defaults"),
    pytest.param({"signer_kwargs": {"key_derivation": "hmac", "digest_method": hashlib.sha1}}, id="flask-session"),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_same_tokens_as_itsdangerous(settings: dict) -> None:
    plain = URLSafeTimedSerializer("k" * 32, salt="s", signer=FixedClock, **settings)
    reusing = ReusingTimedSerializer("k" * 32, salt="s", signer=FixedClockCaching, **settings)
    for value in ("abc", {"pid": "x", "n": [1, 2]}, "y" * 500):
        assert reusing.dumps(value) == plain.dumps(value)
        assert reusing.loads(plain.dumps(value)) == value
        assert plain.loads(reusing.dumps(value)) == value


def test_like_copies_every_setting() -> None:
    plain = URLSafeTimedSerializer(["old", "new"], salt="s", signer_kwargs={"key_derivation": "hmac"})
    copy = ReusingTimedSerializer.like(plain)
    assert (copy.secret_keys, copy.salt, copy.serializer, copy.signer_kwargs) == (plain.secret_keys, plain.salt, plain.serializer, plain.signer_kwargs)
    assert copy.signer is KeyCachingSigner
    assert copy.loads(plain.dumps("v")) == plain.loads(copy.dumps("v")) == "v"


def test_other_keys_salts_and_tampering_are_rejected() -> None:
    reusing = ReusingTimedSerializer("k" * 32, salt="s")
    reusing.loads(reusing.dumps("warm"))  # the cached signer and key exist now
    for other in (URLSafeTimedSerializer("x" * 32, salt="s"), URLSafeTimedSerializer("k" * 32, salt="t")):
        with pytest.raises(BadSignature):
            reusing.loads(other.dumps("v"))
    token = reusing.dumps("v")
    # tamper with the signature's first character: its last one carries padding bits that
    # base64 ignores, so changing it left the signature valid in some runs (a flaky test)
    body, signature = token.rsplit(".", 1)
    with pytest.raises(BadSignature):
        reusing.loads(f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}")
    with pytest.raises(BadSignature):
        reusing.loads(token, salt="t")


def test_key_rotation_accepts_old_keys_and_signs_with_the_newest() -> None:
    old = URLSafeTimedSerializer("old-key", salt="s")
    rotated = ReusingTimedSerializer(["old-key", "new-key"], salt="s")
    assert rotated.loads(old.dumps("v")) == "v"
    assert URLSafeTimedSerializer("new-key", salt="s").loads(rotated.dumps("w")) == "w"
    with pytest.raises(BadSignature):
        old.loads(rotated.dumps("w"))


def test_expiry_is_still_checked_per_call() -> None:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return NOW - 100

    reusing = ReusingTimedSerializer("k" * 32, salt="s")
    token = URLSafeTimedSerializer("k" * 32, salt="s", signer=Past).dumps("v")
    reusing.loads(reusing.dumps("warm"), max_age=10)
    with pytest.raises(SignatureExpired):
        reusing.loads(token, max_age=10)
    assert reusing.loads(token) == "v"


def test_derived_key_cache_holds_only_own_keys() -> None:
    signer = KeyCachingSigner(["a", "b"], salt="s")
    plain = TimestampSigner(["a", "b"], salt="s")
    assert signer.derive_key() == plain.derive_key()
    assert signer.derive_key("a") == plain.derive_key("a")
    assert signer.derive_key("other") == plain.derive_key("other")
    assert set(signer._derived) == {b"a", b"b"}
