"""Run an app object under gunicorn from Python (used by ``aufx serve``)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Embedded(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def run(app: Flask, bind: str, workers: int, threads: int) -> None:
    """Serve ``app`` on ``bind`` with gthread workers until interrupted."""
    _Embedded(app, {"bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
                    "accesslog": "-", "timeout": 60, "limit_request_line": 4094}).run()
