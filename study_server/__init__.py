"""aufx study server: Likert rating sessions in the browser (Flask + SQLAlchemy).

``create_app(config)`` builds the app; ``aufx serve`` runs it; ``aufx export`` writes ratings.
Never imports torch or the aufx engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(config: Any = None) -> Any:
    """Build the study server (see :func:`study_server.app.create_app`)."""
    from study_server.app import create_app as _create_app

    return _create_app(config)
