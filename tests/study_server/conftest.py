"""Fixtures: a tiny study folder and an app on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from study_server.app import create_app
from tests.study_server.helpers import make_study

ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    return make_study(tmp_path / "study")


@pytest.fixture
def app(study_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return create_app({"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / 'ratings.db'}",
                       "admin_password": ADMIN_PASSWORD})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """URL of a throw-away PostgreSQL server shared by the tests of this session."""
    from study_server.pgtemp import TempPostgres

    with TempPostgres() as pg:
        yield pg.url
