"""Study-folder fixtures and a scripted participant for the study server tests."""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw, PngImagePlugin

METHODS = ("aufx", "stargan", "ganimation", "cascade-efgan")
PARAMETERS = {m: f"{m}-param;au12=+2;psi=0.7" for m in METHODS}
#: Strings that must never reach a participant (methods, parameters, ids, file names, metadata).
SECRET_MARKERS = ("stargan", "ganimation", "cascade", "aufx", "psi=0.7", "item0", "src_", "tgt_", "SecretSoftware")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TRIAL_RE = re.compile(r'action="/trial/(\d+)"')
CHECK_RE = re.compile(r"please answer (\d+) to every question")


def png(path: Path, color: tuple[int, int, int], text: str, size: int = 8) -> None:
    """A small PNG (a drawn face when ``size`` > 8) with metadata that must be stripped when served."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"SecretSoftware {text}")
    info.add_text("Comment", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (size, size), color)
    if size > 8:
        draw = ImageDraw.Draw(image)
        s = size / 100
        smile = (color[1] % 40) - 20
        draw.ellipse([20 * s, 12 * s, 80 * s, 92 * s], fill=(236, 200, 170), outline=(120, 90, 70), width=max(1, int(s)))
        for x in (37, 63):
            draw.ellipse([(x - 5) * s, 40 * s, (x + 5) * s, 48 * s], fill=(60, 50, 40))
        draw.line([35 * s, 36 * s, 44 * s, (36 - smile / 10) * s], fill=(90, 60, 40), width=max(1, int(2 * s)))
        draw.line([56 * s, (36 - smile / 10) * s, 65 * s, 36 * s], fill=(90, 60, 40), width=max(1, int(2 * s)))
        draw.arc([36 * s, (62 - abs(smile) / 4) * s, 64 * s, (74 + abs(smile) / 4) * s], 0 if smile >= 0 else 180,
                 180 if smile >= 0 else 360, fill=(150, 50, 50), width=max(1, int(2 * s)))
    image.save(path, pnginfo=info)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def make_study(folder: Path, n_items: int = 4, methods: tuple[str, ...] = METHODS, extra_toml: str = "", size: int = 8, **config: Any) -> Path:
    """A stimulus folder: ``n_items`` x ``methods`` transfer stimuli with revealing ids, plus study.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n_items):
        item = f"item{i:02d}"
        png(folder / "images" / f"src_{item}.png", (10 * i, 100, 100), f"source {item}", size)
        png(folder / "images" / f"tgt_{item}.png", (100, 10 * i, 100), f"target {item}", size)
        for j, method in enumerate(methods):
            sid = f"{method}__{item}"
            path = folder / "images" / f"{sid}.png"
            png(path, (10 * i, 20 * j, 200), f"{method} {PARAMETERS[method]}", size)
            rows.append({
                "stimulus_id": sid, "item_id": item, "source_id": f"src_{item}", "target_id": f"tgt_{item}",
                "task": "transfer", "method": method, "parameters": PARAMETERS[method],
                "path": f"images/{sid}.png", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            })  # fmt: skip
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = {"id": "pilot", "title": "Face ratings", "completion_code": "DONE123", "practice_trials": 1,
                "attention_checks": [2], "demographics": True}
    settings.update(config)
    lines = [f"{k} = {toml_value(v)}" for k, v in settings.items() if v is not None]
    (folder / "study.toml").write_text("\n".join(lines) + "\n" + extra_toml)
    (folder / "consent.txt").write_text("Consent paragraph one.\n\nYou may stop at any time.\n")
    return folder


def csrf(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, f"no csrf token in page: {html[:300]}"
    return match.group(1)


class Walker:
    """A participant driven through the Flask test client."""

    def __init__(self, client: Any, query: str = "") -> None:
        self.client = client
        self.query = query
        self.pages: list[tuple[str, Any]] = []
        self.token = ""

    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        self.pages.append((url, response))
        if response.mimetype == "text/html" and "csrf_token" in response.get_data(as_text=True):
            self.token = csrf(response.get_data(as_text=True))
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        payload = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=payload, **kw)
        self.pages.append((url, response))
        return response

    def start(self, demographics: bool = True) -> None:
        assert self.get("/" + self.query).status_code == 200
        self.get("/consent")
        r = self.post("/consent", {"consent": "yes"})
        assert r.status_code == 303, r.get_data(as_text=True)
        if demographics:
            self.get("/demographics")
            assert self.post("/demographics", {"age": "30", "gender": "female"}).status_code == 303
        self.get("/instructions")
        assert self.post("/instructions").status_code == 303

    def current(self) -> tuple[int, int | None, str]:
        """``(seq, instructed answer or None, html)`` of the trial page."""
        r = self.get("/trial")
        assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
        html = r.get_data(as_text=True)
        check = CHECK_RE.search(html)
        return int(TRIAL_RE.search(html).group(1)), (int(check.group(1)) if check else None), html

    def answer(self, seq: int, ratings: dict[str, int], rt_ms: int | None = 1500, **kw: Any) -> Any:
        data: dict[str, Any] = {f"q_{q}": str(v) for q, v in ratings.items()}
        if rt_ms is not None:
            data["rt_ms"] = str(rt_ms)
        return self.post(f"/trial/{seq}", data, **kw)

    def finish(self, rating: int = 4, fail_checks: bool = False) -> None:
        while True:
            r = self.client.get("/trial")
            if r.status_code == 303:
                assert r.headers["Location"].endswith("/done")
                break
            seq, expected, _ = self.current()
            value = rating if expected is None else (expected % 5 + 1 if fail_checks else expected)
            assert self.answer(seq, {q: value for q in ("expression", "identity", "artifacts")}).status_code == 303
        assert self.get("/done").status_code == 200


#: Both databases; PostgreSQL tests carry the ``postgres`` marker (a throw-away server, conftest).
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def fresh_pg_database(server_url: str) -> str:
    """A new, empty database on the throw-away PostgreSQL server."""
    name = "t_" + secrets.token_hex(4)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database of ``kind`` ("sqlite" or "postgresql") for one test."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return fresh_pg_database(request.getfixturevalue("postgres"))
