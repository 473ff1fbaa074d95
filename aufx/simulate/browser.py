"""A SIMULATED participant who takes a study over HTTP as a browser does (``requests``, cookies on).

It follows the server's pages and redirects. It reads each page's HTML for the CSRF token, the
form's action, the questions and the images; it never calls a private API and never looks at the
database. Its steps: information page → Start → consent (yes) → demographics (when the study asks)
→ instructions → the trials (practice, main, attention checks) → debrief with the completion code.
For each trial it downloads the images as a browser would. It recognises the edited image by its
pixels (:class:`StimulusIndex`, built from the stimulus folder) and answers with a
:class:`~aufx.simulate.raters.SimulatedParticipant`. On an attention check it gives the
instructed answer, unless it is inattentive. Once, mid-way, it reloads the trial page and checks
that the server shows the same trial again (the trial in the middle
of the main block, by the page's progress text).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from aufx.simulate.raters import SimulatedParticipant

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_RE = re.compile(r'<form method="post" action="([^"]+)"')
START_RE = re.compile(r'href="([^"]+)" id="start"')
IMG_RE = re.compile(r'<img src="([^"]+)" alt="([^"]+)"')
QUESTION_RE = re.compile(r'name="q_([A-Za-z0-9_\-]+)" value="1"')
CHECK_RE = re.compile(r"please answer (\d+) to every question")
GENDER_RE = re.compile(r'<option value="([^"]+)">')
CODE_RE = re.compile(r'id="completion-code">([^<]+)<')
ERROR_RE = re.compile(r"<p[^>]*>([^<]*)</p>")
PROGRESS_RE = re.compile(r'id="progress-text">(\d+) / (\d+)<')


class BrowserError(RuntimeError):
    """The server answered something a participant's browser could not go on from."""


def pixel_key(png: bytes) -> str:
    """sha256 of an image's decoded RGB pixels and size (independent of PNG encoding and metadata)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


class StimulusIndex:
    """Pixels of each stimulus image -> stimulus ids, built from a stimulus folder's ``manifest.csv``."""

    def __init__(self, study_dir: str | Path) -> None:
        folder = Path(study_dir)
        manifest = folder / "manifest.csv"
        if not manifest.is_file():
            raise FileNotFoundError(f"{manifest}: no such file (a stimulus folder has manifest.csv)")
        self.by_pixels: dict[str, list[str]] = {}
        with manifest.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = pixel_key((folder / row["path"]).read_bytes())
                self.by_pixels.setdefault(key, []).append(row["stimulus_id"])

    def identify(self, png: bytes) -> str:
        """The stimulus id whose image has these pixels (the first one when several share them)."""
        found = self.by_pixels.get(pixel_key(png))
        if not found:
            raise BrowserError("an edited image on a trial page matches no stimulus of the study folder")
        return found[0]


@dataclass
class SessionLog:
    """What one SIMULATED participant did: trials answered and what was shown."""

    answers: list[dict[str, object]] = field(default_factory=list)
    pages: int = 0
    images: int = 0
    reloaded_at: int | None = None
    completion_code: str = ""


class SimulatedBrowser:
    """One participant's browser session against ``base_url`` (e.g. ``http://127.0.0.1:5000``)."""

    def __init__(self, base_url: str, rater: SimulatedParticipant, index: StimulusIndex,
                 rng: np.random.Generator, reload_mid_way: bool = True, timeout: float = 180.0) -> None:  # fmt: skip
        import requests

        self.base = base_url.rstrip("/") + "/"
        self.rater, self.index, self.rng = rater, index, rng
        self.reload_mid_way = reload_mid_way
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "aufx-simulated-participant/1 (SIMULATED)"
        self.cache: dict[str, bytes] = {}
        self.log = SessionLog()

    # ------------------------------------------------------------------ HTTP
    def _check(self, response) -> str:  # noqa: ANN001 - requests.Response
        if response.status_code >= 400:
            messages = [html.unescape(m) for m in ERROR_RE.findall(response.text) if m.strip()]
            raise BrowserError(f"{response.request.method} {response.url}: HTTP {response.status_code}: "
                               f"{messages[0] if messages else response.text[:200]}")  # fmt: skip
        self.log.pages += 1
        return response.text

    def get(self, path: str) -> tuple[str, str]:
        """GET a page (following redirects); returns (final path, HTML)."""
        response = self.http.get(urljoin(self.base, path), timeout=self.timeout)
        return self._path(response.url), self._check(response)

    def post(self, page: str, fields: dict[str, str]) -> tuple[str, str]:
        """Submit the page's form with its CSRF token, as the browser would."""
        token = CSRF_RE.search(page)
        action = FORM_RE.search(page)
        if not token or not action:
            raise BrowserError("a page expected to hold a form has no form or no CSRF token")
        data = {"csrf_token": html.unescape(token.group(1)), **fields}
        response = self.http.post(urljoin(self.base, html.unescape(action.group(1))), data=data,
                                  timeout=self.timeout, headers={"Referer": self.base})  # fmt: skip
        return self._path(response.url), self._check(response)

    def _path(self, url: str) -> str:
        return "/" + url[len(self.base):].split("?")[0] if url.startswith(self.base) else url

    def image(self, url: str) -> bytes:
        """An image, from the browser cache when fetched before."""
        if url not in self.cache:
            response = self.http.get(urljoin(self.base, html.unescape(url)), timeout=self.timeout)
            if response.status_code != 200:
                raise BrowserError(f"image {url}: HTTP {response.status_code}")
            self.cache[url] = response.content
            self.log.images += 1
        return self.cache[url]

    # ------------------------------------------------------------------ the flow
    def run(self, max_pages: int = 10_000) -> SessionLog:
        """Take the whole study; returns the :class:`SessionLog`. Raises :class:`BrowserError`."""
        path, page = self.get("/")
        start = START_RE.search(page)
        if not start:
            raise BrowserError("the study's first page has no Start link (is the study closed?)")
        path, page = self.get(html.unescape(start.group(1)))
        path, page = self.post(page, {"consent": "yes"})
        answered = 0
        for _ in range(max_pages):
            if path.startswith("/demographics"):
                genders = GENDER_RE.findall(page)
                path, page = self.post(page, {"age": str(int(self.rng.integers(18, 70))),
                                              "gender": str(self.rng.choice(genders)) if genders else ""})  # fmt: skip
            elif path.startswith("/instructions"):
                path, page = self.post(page, {})
            elif path.startswith("/trial"):
                if self._reload_now(page):
                    before = FORM_RE.search(page)
                    path, page = self.get("/trial")  # the reload: the same trial must come back
                    if FORM_RE.search(page) is None or before is None or FORM_RE.search(page).group(1) != before.group(1):
                        raise BrowserError("after a reload the server showed another trial")
                    self.log.reloaded_at = answered
                path, page = self.post(page, self.answer(page))
                answered += 1
            elif path.startswith("/done"):
                code = CODE_RE.search(page)
                self.log.completion_code = html.unescape(code.group(1)) if code else ""
                return self.log
            else:
                raise BrowserError(f"unexpected page {path}")
        raise BrowserError(f"no end after {max_pages} pages")

    def _reload_now(self, page: str) -> bool:
        """Reload once, on the main trial in the middle of the study (by the page's progress text)."""
        progress = PROGRESS_RE.search(page)
        if not self.reload_mid_way or self.log.reloaded_at is not None or not progress:
            return False
        return int(progress.group(1)) == int(progress.group(2)) // 2 + 1

    def answer(self, page: str) -> dict[str, str]:
        """The form fields of one trial: the ratings of every question and a response time."""
        images = IMG_RE.findall(page)
        for url, _caption in images:
            self.image(url)  # the browser loads every image of the screen
        edited = [url for url, caption in images if caption == "Edited image"]
        if not edited:
            raise BrowserError("a trial page shows no edited image")
        questions = QUESTION_RE.findall(page)
        if not questions:
            raise BrowserError("a trial page has no questions")
        stimulus_id = self.index.identify(self.cache[edited[0]])
        check = CHECK_RE.search(page)
        if check and self.rater.attentive:
            ratings = {q: int(check.group(1)) for q in questions}
        else:
            ratings = self.rater.rate(stimulus_id, questions)
        seq = FORM_RE.search(page).group(1).rsplit("/", 1)[-1]  # type: ignore[union-attr]
        self.log.answers.append({"seq": int(seq), "stimulus_id": stimulus_id, "check": bool(check), **ratings})
        rt_ms = int(np.clip(self.rng.lognormal(np.log(4000), 0.4), 800, 60_000))
        return {"rt_ms": str(rt_ms), **{f"q_{q}": str(v) for q, v in ratings.items()}}


def admin_export(base_url: str, password: str, timeout: float = 180.0) -> str:
    """Log in to the admin pages and download the ratings export (CSV text), as a researcher would."""
    import requests

    http = requests.Session()
    base = base_url.rstrip("/")
    page = http.get(f"{base}/admin/login", timeout=timeout).text
    token = CSRF_RE.search(page)
    if not token:
        raise BrowserError("the admin login page has no CSRF token")
    response = http.post(f"{base}/admin/login", data={"csrf_token": html.unescape(token.group(1)), "password": password},
                         timeout=timeout, headers={"Referer": base + "/"})  # fmt: skip
    if response.status_code >= 400:
        raise BrowserError(f"admin login failed: HTTP {response.status_code}")
    export = http.get(f"{base}/api/export.csv", timeout=timeout)
    if export.status_code != 200:
        raise BrowserError(f"export failed: HTTP {export.status_code}")
    return export.text


RaterFactory = Callable[[int], SimulatedParticipant]
