"""Blinded image serving: opaque tokens in, clean PNG bytes out.

Every stimulus and reference image gets a token ``HMAC(secret, kind:id)``; the token is the only
name a participant ever sees. Served bytes are re-encoded from the pixels alone, so no text
chunk, EXIF, ICC profile or original file name from the stimulus file reaches the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import threading
from pathlib import Path

from PIL import Image

from study_server.study import Study

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def image_token(secret: str, kind: str, key: str) -> str:
    """The opaque token of image ``key`` (``kind`` is ``s`` for stimuli, ``r`` for references)."""
    return hmac.new(secret.encode(), f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()[:32]


def clean_png(path: Path) -> bytes:
    """PNG bytes holding only the pixels of ``path`` (all metadata dropped)."""
    with Image.open(path) as source:
        source.load()
        mode = "RGBA" if source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info else "RGB"
        pixels = source.convert(mode)
    bare = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    bare.save(out, format="PNG", optimize=False)
    return out.getvalue()


class ImageStore:
    """Maps tokens to image files of one study and caches their cleaned bytes."""

    def __init__(self, study: Study, secret: str) -> None:
        self._secret = secret
        self._paths: dict[str, Path] = {}
        self.stimulus_tokens: dict[str, str] = {}
        self.reference_tokens: dict[str, str] = {}
        for sid, stimulus in study.stimuli.items():
            token = image_token(secret, "s", sid)
            self.stimulus_tokens[sid] = token
            self._paths[token] = stimulus.path
        for rid, path in study.references.items():
            token = image_token(secret, "r", rid)
            self.reference_tokens[rid] = token
            self._paths[token] = path
        self._cache: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[bytes, str] | None:
        """``(png_bytes, etag)`` of ``token``, or ``None`` if it names no image of this study."""
        if not TOKEN_RE.match(token) or token not in self._paths:
            return None
        cached = self._cache.get(token)
        if cached is None:
            data = clean_png(self._paths[token])
            cached = (data, hashlib.sha256(data).hexdigest()[:32])
            with self._lock:
                self._cache[token] = cached
        return cached
