"""`aufx demo --scheduler ADDRESS --db postgresql://...`: a tiny demo with its stimuli on a local 2-worker
Dask cluster and its SIMULATED study on a throw-away PostgreSQL server."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from aufx.cli import main
from tests.aufx.test_demo import TINY_METHODS, tiny, tiny_template  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_demo_runs_on_a_dask_cluster_and_postgresql(tiny, tmp_path, monkeypatch):  # noqa: F811
    from dask.distributed import LocalCluster

    import aufx.demo
    from study_server.pgtemp import TempPostgres

    monkeypatch.setitem(aufx.demo.SIZES, "quick", {**aufx.demo.SIZES["quick"], "items": 2, "participants": 4})
    out = tmp_path / "out"
    with TempPostgres() as pg, LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            dashboard_address=None) as cluster:  # fmt: skip
        code = main(["demo", "--quick", "--out", str(out), "--model", str(tiny), "--analyzer",
                     str(tiny.parent / "analyzer.pt"), "--random-baselines", "--spec", str(tiny_template(tmp_path)), "--scheduler",
                     cluster.scheduler_address, "--db", pg.url])  # fmt: skip
        import sqlalchemy

        with sqlalchemy.create_engine(pg.url).connect() as db:
            stored = db.execute(sqlalchemy.text("select count(*) from answer")).scalar_one()
    summary = json.loads((out / "demo_summary.json").read_text())
    assert code in (0, 1) and summary["scheduler"] == cluster.scheduler_address
    assert summary["database"].startswith("127.0.0.1:")  # the PostgreSQL server, credentials cut
    assert not (out / "simulated_study.sqlite3").exists()
    ratings = pd.read_csv(out / "ratings_SIMULATED.csv")
    assert len(ratings[~ratings["attention_check"]]) == 4 * 2 * len(TINY_METHODS) * 3
    assert stored >= len(ratings)  # every exported answer is in PostgreSQL (plus the practice trials)
    assert (out / "report" / "report.html").is_file()
