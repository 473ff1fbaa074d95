"""The bare Flask app the study server's throughput is compared with (same gunicorn set-up).

``gunicorn benchmarks.bench_server_bare:app`` serves ``POST /bare`` and ``GET /bare``, each
returning a short body, with no database, session or template.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/bare", methods=["GET", "POST"])
def bare() -> str:
    """The cheapest possible Flask route."""
    return "ok"
