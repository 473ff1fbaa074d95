"""API and export: health check, live progress (JSON) and the ratings export (CSV/JSON)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from study_server.admin import admin_required
from study_server.app import runtime
from study_server.export import csv_text, export_rows, json_text
from study_server.progress import progress

bp = Blueprint("api", __name__)


@bp.get("/health")
def health() -> Response:
    """Liveness probe (no study details)."""
    return jsonify(status="ok")


@bp.get("/progress")
@admin_required
def progress_json() -> Response:
    """The dashboard's numbers."""
    rt = runtime()
    return jsonify(progress(rt.db, rt.study))


def _download(text: str, mimetype: str, suffix: str) -> Response:
    study_id = runtime().study.study_id
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{study_id}-ratings.{suffix}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.csv")
@admin_required
def export_csv() -> Response:
    """Long-format ratings CSV (schema in DESIGN.md)."""
    rt = runtime()
    return _download(csv_text(export_rows(rt.db, rt.study)), "text/csv", "csv")


@bp.get("/export.json")
@admin_required
def export_json() -> Response:
    """Ratings and participants as JSON."""
    rt = runtime()
    return _download(json_text(rt.db, rt.study), "application/json", "json")
