"""Admin: login, dashboard, open/close, exports with exclusion flags, production-mode rules."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from study_server.app import create_app
from study_server.config import load_config
from study_server.export import COLUMNS
from tests.study_server.conftest import ADMIN_PASSWORD
from tests.study_server.helpers import Walker, make_study

QS = ("expression", "identity", "artifacts")


def admin(app) -> Walker:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client())
    w.get("/admin/login")
    r = w.post("/admin/login", {"password": ADMIN_PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)
    w.get("/admin/")
    return w


def test_dashboard_shows_live_progress(app) -> None:  # type: ignore[no-untyped-def]
    done = Walker(app.test_client())
    done.start()
    done.finish()
    Walker(app.test_client()).start()
    a = admin(app)
    html = a.pages[-1][1].get_data(as_text=True)
    assert "Started" in html and "Ratings per method and question" in html
    progress = a.client.get("/api/progress").get_json()
    assert progress["started"] == 2 and progress["completed"] == 1 and progress["open"] is True
    assert progress["median_duration_s"] is not None and progress["excluded"] == 0
    rated = {(r["method"], r["question"]) for r in progress["ratings"]}
    assert {q for _, q in rated} == set(QS)
    assert sum(r["n"] for r in progress["ratings"]) == 4 * 3  # 4 items, one method each
    assert progress["participants_per_list"] == {"0": 1, "1": 1}


def test_close_and_reopen(app) -> None:  # type: ignore[no-untyped-def]
    a = admin(app)
    assert a.post("/admin/state", {"open": "no"}).status_code == 303
    assert app.test_client().get("/").status_code == 403
    a.get("/admin/")
    assert a.post("/admin/state", {"open": "yes"}).status_code == 303
    assert app.test_client().get("/").status_code == 200
    assert a.post("/admin/state", {"open": "perhaps"}).status_code == 400


def test_state_survives_restart(app, study_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin(app).post("/admin/state", {"open": "no"})
    again = create_app({"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / 'ratings.db'}"})
    assert again.test_client().get("/").status_code == 403


def test_export_csv_long_format_with_flags(app) -> None:  # type: ignore[no-untyped-def]
    good = Walker(app.test_client(), "?PROLIFIC_PID=good")
    good.start()
    good.finish(rating=4)
    bad = Walker(app.test_client(), "?PROLIFIC_PID=bad")
    bad.start()
    bad.finish(rating=2, fail_checks=True)
    a = admin(app)
    r = a.client.get("/api/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 2 * 5 * 3  # 2 participants x (4 items + 1 check) x 3 questions; practice left out
    by_person: dict[str, set[str]] = {}
    for row in rows:
        by_person.setdefault(row["participant_id"], set()).add(row["excluded"])
        assert row["study_id"] == "pilot" and row["question"] in QS
        assert row["method"] in ("aufx", "stargan", "ganimation", "cascade-efgan")
        assert row["created_at"].endswith("Z") and int(row["rt_ms"]) == 1500
    assert sorted(map(tuple, by_person.values())) == [("false",), ("true",)]
    checks = [row for row in rows if row["attention_check"] == "true"]
    assert len(checks) == 6 and {row["trial_index"] for row in checks} == {"2"}
    excluded = [row for row in rows if row["excluded"] == "true"]
    assert all("failed 1 attention check" in row["exclusion_reason"] for row in excluded)


def test_export_is_readable_by_the_analysis_loader(app) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("analysis.load")
    from analysis.load import load_ratings

    for _ in range(2):
        w = Walker(app.test_client())
        w.start()
        w.finish()
    text = admin(app).client.get("/api/export.csv").get_data(as_text=True)
    import pandas as pd

    frame = pd.read_csv(io.StringIO(text))
    result = load_ratings(frame)
    clean = result[0] if isinstance(result, tuple) else result
    assert len(clean) == 2 * 4 * 3  # attention-check rows dropped by the analysis


def test_export_json_has_ratings_and_participants(app) -> None:  # type: ignore[no-untyped-def]
    w = Walker(app.test_client(), "?PROLIFIC_PID=j1")
    w.start()
    w.finish()
    payload = json.loads(admin(app).client.get("/api/export.json").get_data(as_text=True))
    assert payload["study_id"] == "pilot" and payload["columns"] == list(COLUMNS)
    assert len(payload["ratings"]) == 15
    (person,) = payload["participants"]
    assert person["external_pid"] == "j1" and person["seed"] > 0 and person["completed_at"]


def test_too_fast_participants_are_flagged_not_deleted(tmp_path: Path) -> None:
    folder = make_study(tmp_path / "s", extra_toml="[exclusion]\nmin_median_rt_ms = 60000\n")
    app = create_app({"study_dir": str(folder), "database_url": f"sqlite:///{tmp_path / 'r.db'}", "admin_password": ADMIN_PASSWORD})
    w = Walker(app.test_client())
    w.start()
    w.finish()
    rows = list(csv.DictReader(io.StringIO(admin(app).client.get("/api/export.csv").get_data(as_text=True))))
    assert len(rows) == 15 and all(r["excluded"] == "true" for r in rows)
    assert "median response time" in rows[0]["exclusion_reason"]


def test_login_throttle(app) -> None:  # type: ignore[no-untyped-def]
    from study_server import admin as admin_module

    admin_module._failures.clear()
    w = Walker(app.test_client())
    w.get("/admin/login")
    statuses = [w.post("/admin/login", {"password": f"wrong{i}"}).status_code for i in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    admin_module._failures.clear()


def test_admin_disabled_without_password(study_dir: Path, tmp_path: Path) -> None:
    app = create_app({"study_dir": str(study_dir), "database_url": f"sqlite:///{tmp_path / 'x.db'}"})
    w = Walker(app.test_client())
    assert "disabled" in w.get("/admin/login").get_data(as_text=True)
    w.get("/consent")
    r = w.post("/admin/login", {"password": "anything"})
    assert r.status_code == 403 and "AUFX_ADMIN_PASSWORD_HASH" in r.get_data(as_text=True)


def test_production_mode_has_no_default_password(study_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="production mode needs admin_password_hash"):
        create_app({"study_dir": str(study_dir), "production": True})
    with pytest.raises(ValueError, match="refuses a plain-text admin_password"):
        load_config(env={}, study_dir=str(study_dir), production=True, admin_password="x",
                    admin_password_hash=generate_password_hash("y"))


def test_config_precedence_file_env_arguments(tmp_path: Path) -> None:
    file = tmp_path / "server.toml"
    file.write_text('study_dir = "from-file"\ndatabase_url = "sqlite:///file.db"\nmax_request_bytes = 4096\n')
    config = load_config(file, env={"AUFX_DB_URL": "sqlite:///env.db", "AUFX_SECURE_COOKIES": "yes"})
    assert (config.study_dir, config.database_url, config.max_request_bytes, config.cookies_secure) == ("from-file", "sqlite:///env.db", 4096, True)
    config = load_config(file, env={"AUFX_DB_URL": "sqlite:///env.db"}, database_url="sqlite:///arg.db")
    assert config.database_url == "sqlite:///arg.db"
    with pytest.raises(ValueError, match="AUFX_SECURE_COOKIES|secure_cookies must be true or false"):
        load_config(file, env={"AUFX_SECURE_COOKIES": "maybe"})
    file.write_text('study_dir = "x"\ncolour = "red"\n')
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        load_config(file, env={})
    with pytest.raises(ValueError, match="study_dir is required"):
        load_config(env={})
