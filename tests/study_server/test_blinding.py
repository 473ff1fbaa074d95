"""Blinding: no method, parameter, stimulus id or file name in anything a participant receives."""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.study_server.helpers import SECRET_MARKERS, Walker

QS = ("expression", "identity", "artifacts")
IMG_RE = re.compile(r'(?:src|href)="(/img/[^"]+)"')


def leaks(blob: bytes | str) -> list[str]:
    text = blob.decode("latin-1") if isinstance(blob, bytes) else blob
    return [m for m in SECRET_MARKERS if m.lower() in text.lower()]


def check_response(url: str, response) -> None:  # type: ignore[no-untyped-def]
    assert not leaks(url), f"URL {url} leaks {leaks(url)}"
    for name, value in response.headers.items():
        assert not leaks(f"{name}: {value}"), f"header {name} of {url} leaks {leaks(value)}"
    body = response.get_data()
    assert not leaks(body), f"{url} leaks {leaks(body)}"


def test_every_participant_page_image_and_header_is_blinded(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client(), "?PROLIFIC_PID=blind1")
    w.start()
    images: set[str] = set()
    while True:
        r = w.client.get("/trial")
        if r.status_code == 303:
            break
        seq, expected, html = w.current()
        images.update(IMG_RE.findall(html))
        w.answer(seq, dict.fromkeys(QS, expected or 2))
    w.get("/done")
    # error pages a participant can meet are blinded too
    w.post("/trial/0", {"q_expression": "9"})
    w.get("/no-such-page")
    for url in sorted(images):
        w.get(url)
    assert len(images) >= 3 * 4  # source, target and edited images were all fetched
    pages = [(u, r) for u, r in w.pages]
    kinds = {r.mimetype for _, r in pages}
    assert {"text/html", "image/png"} <= kinds
    for url, response in pages:
        if response.status_code in (301, 302, 303):
            assert not leaks(response.headers["Location"])
        check_response(url, response)
    for path in ("/static/study.js", "/static/study.css"):
        check_response(path, app.test_client().get(path))


def test_served_png_has_no_metadata_but_same_pixels(app, study_dir) -> None:  # type: ignore[no-untyped-def]
    rt = app.extensions["aufx_study"]
    sid = "stargan__item01"
    token = rt.images.stimulus_tokens[sid]
    response = app.test_client().get(f"/img/{token}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "Content-Disposition" not in response.headers and "Last-Modified" not in response.headers
    data = response.get_data()
    assert b"tEXt" not in data and b"iTXt" not in data and b"zTXt" not in data and b"eXIf" not in data
    original = study_dir / "images" / f"{sid}.png"
    assert b"SecretSoftware" in original.read_bytes()  # the fixture did carry metadata
    served = Image.open(io.BytesIO(data))
    assert served.info == {} or set(served.info) <= {"dpi"}
    assert served.convert("RGB").tobytes() == Image.open(original).convert("RGB").tobytes()
    again = app.test_client().get(f"/img/{token}.png", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_image_tokens_are_opaque_and_unrelated_to_ids(app) -> None:  # type: ignore[no-untyped-def]
    rt = app.extensions["aufx_study"]
    tokens = list(rt.images.stimulus_tokens.values()) + list(rt.images.reference_tokens.values())
    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens)


def test_security_headers_and_cookie_flags(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.get("/")
    r = w.get("/consent")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    r = w.post("/consent", {"consent": "yes"})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(study_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.security import generate_password_hash

    from study_server.app import create_app

    app = create_app({"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / 'p.db'}",
                      "production": True, "admin_password_hash": generate_password_hash("long password")})
    client = app.test_client()
    client.get("/", base_url="https://localhost")
    r = client.get("/consent", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    r = client.post("/consent", data={"csrf_token": token, "consent": "yes"}, base_url="https://localhost",
                    headers={"Referer": "https://localhost/consent"})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert "Secure" in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in r.headers
