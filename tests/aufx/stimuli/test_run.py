"""``aufx stimuli`` / ``aufx compare`` end to end on a tiny model: outputs, blinding, determinism
(loop vs Dask), resume after a killed run, and the study server loading the folder."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from aufx.cli import main
from aufx.stimuli.assemble import MANIFEST_COLUMNS
from tests.aufx.stimuli.tiny_study import ALL_METHODS, make_tiny_model, write_spec

REPO = Path(__file__).resolve().parents[3]
METHOD_WORDS = (
    "aufx",
    "global",
    "local",
    "opt",
    "mux",
    "stargan",
    "ganimation",
    "cascade",
    "efgan",
    "gan-local",
    "editing",
    "random",
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny")).parent


def run(*argv) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # random-weight baselines warn once each
        return main([str(a) for a in argv])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def folder_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".aufx-stimuli" not in p.parts}  # fmt: skip


MIXED_TASKS = """
[[tasks]]
kind = "au"
edits = [{AU12 = 1.5}, {AU06 = 1.0, AU12 = 2.0}]
methods = ["aufx-local-mux", "ganimation", "cascade-efgan"]
[[tasks]]
kind = "emotion"
emotions = ["happiness"]
intensity = 2.5
methods = ["aufx-global-opt", "stargan", "ganimation"]
[study]
design = "within"
title = "Tiny"
attention_checks = [2]
"""


@pytest.mark.slow
def test_all_tasks_outputs_blinding_server_and_compare(model_dir, tmp_path, capsys):
    spec = write_spec(model_dir, n=2, extra=MIXED_TASKS, name="mixed")
    out = tmp_path / "out"
    assert run("stimuli", spec, "--out", out, "--workers", 0, "--quiet") == 0, (
        capsys.readouterr().err
    )
    manifest = rows(out / "manifest.csv")
    assert list(manifest[0]) == list(MANIFEST_COLUMNS)
    assert (out / "manifest.csv").read_text().splitlines()[0] == ",".join(MANIFEST_COLUMNS)
    by_task = {t: [r for r in manifest if r["task"] == t] for t in ("transfer", "au", "emotion")}
    assert (
        len(by_task["transfer"]) == 2 * 7
        and len(by_task["au"]) == 2 * 2 * 3
        and len(by_task["emotion"]) == 2 * 3
    )
    # blinding: no method word in any id, any image file name, or any file name under the folder
    for row in manifest:
        for column in ("stimulus_id", "item_id", "source_id", "target_id", "path"):
            assert not any(word in row[column].lower() for word in METHOD_WORDS), (
                column,
                row[column],
            )
        assert (out / row["path"]).is_file() and (out / f"images/{row['source_id']}.png").is_file()
        if row["task"] == "transfer":
            assert (out / f"images/{row['target_id']}.png").is_file()
        else:
            assert row["target_id"] == ""
    for path in (out / "images").iterdir():  # every file a participant's browser can fetch
        assert not any(word in path.name.lower() for word in METHOD_WORDS), path
    # PNGs carry no text chunks (nothing about the method)
    from PIL import Image

    image = Image.open(out / manifest[0]["path"])
    assert (
        image.format == "PNG"
        and not image.info.get("parameters")
        and not getattr(image, "text", {})
    )
    assert (
        "random init (untrained)"
        in next(r for r in manifest if r["method"] == "stargan")["parameters"]
    )
    metrics = rows(out / "metrics.csv")
    assert [m["stimulus_id"] for m in metrics] == [r["stimulus_id"] for r in manifest]
    assert {
        "target_change",
        "leakage",
        "outside_share",
        "identity_drift",
        "realism",
        "pixel_change",
        "high_freq_ratio",
    } <= set(metrics[0])
    assert all(0.2 < float(m["high_freq_ratio"]) < 20 for m in metrics)
    assert all(
        m["transfer_error"]
        for m, r in zip(metrics, manifest, strict=True)
        if r["task"] == "transfer"
    )
    assert Image.open(out / "contact_sheet.png").size[1] > 32 * len(
        {r["item_id"] for r in manifest}
    )
    # the study server accepts the folder as it is
    from study_server.study import load_study

    study = load_study(out)
    assert study.study_id == "mixed" and study.design == "within" and study.title == "Tiny"
    assert study.question_ids == ["expression", "identity", "artifacts"]
    assert len(study.stimuli) == len(manifest) and study.attention_checks == (2,)
    # objective comparison
    assert run("compare", out) == 0
    table = rows(out / "comparison.csv")
    assert {(r["task"], r["method"]) for r in table} == {(r["task"], r["method"]) for r in manifest}
    md = (out / "comparison.md").read_text()
    assert "## Task: transfer" in md and "| aufx-local-mux |" in md and " ± " in md
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_dask_one_and_two_workers_match_loop_byte_for_byte(model_dir, tmp_path):
    spec = write_spec(model_dir, n=2, name="det")
    assert run("stimuli", spec, "--out", tmp_path / "loop", "--workers", 0, "--quiet") == 0
    assert run("stimuli", spec, "--out", tmp_path / "dask", "--workers", 2, "--quiet") == 0
    assert run("stimuli", spec, "--out", tmp_path / "dask1", "--workers", 1, "--quiet") == 0
    loop, dask = folder_bytes(tmp_path / "loop"), folder_bytes(tmp_path / "dask")
    assert loop.keys() == dask.keys()
    assert loop == dask  # manifest, metrics, study.toml, contact sheet and every image
    assert folder_bytes(tmp_path / "dask1") == loop  # one worker: a thread of the driver
    from study_server.study import load_study

    assert len(load_study(tmp_path / "dask").stimuli) == 2 * 7


@pytest.mark.slow
def test_resume_after_killed_run_equals_uninterrupted(model_dir, tmp_path):
    slow_methods = ALL_METHODS.replace("steps = 3", "steps = 40")
    spec = write_spec(model_dir, n=3, methods=slow_methods, name="resume")
    killed = tmp_path / "killed"
    records = killed / ".aufx-stimuli" / "records"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    log = (
        tmp_path / "killed.log"
    )  # a file, not a pipe: a full pipe nobody reads would stall the run
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "aufx.cli", "stimuli", str(spec), "--out", str(killed), "--workers", "1", "--quiet"],
                                   cwd=REPO, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    # no timing assumption: wait (up to a generous limit, for loaded machines) until the faces and a
    # few stimuli are recorded, freeze the whole process group at once, then kill it
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if records.is_dir() and len(list(records.glob("*.json"))) >= 6 + 3:
                break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGSTOP)  # nothing finishes between the count and the kill
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and its Dask workers
        process.wait()
    done = len(list(records.glob("*.json")))
    assert done >= 9, log.read_text()[-2000:]
    assert not (killed / "manifest.csv").exists(), "the run finished before it was killed"
    assert done < 6 + 3 * 7
    from aufx.stimuli import load_spec
    from aufx.stimuli.run import run_stimuli

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resumed = run_stimuli(load_spec(spec), killed, workers=0, progress=False)
        assert resumed.skipped >= done and resumed.ran == 6 + 3 * 7 - resumed.skipped
        fresh = run_stimuli(load_spec(spec), tmp_path / "fresh", workers=0, progress=False)
    assert fresh.ran == 6 + 3 * 7
    assert folder_bytes(killed) == folder_bytes(tmp_path / "fresh")
    assert not list(killed.rglob("*.tmp"))  # the killed writers' temporaries are cleaned up
    again = run_stimuli(load_spec(spec), killed, workers=0, progress=False)
    assert again.ran == 0 and again.skipped == 6 + 3 * 7


@pytest.mark.slow
def test_changed_image_is_redone_and_failures_are_reported(model_dir, tmp_path, capsys):
    spec = write_spec(
        model_dir,
        n=1,
        methods='[[methods]]\nkind = "ganimation"\nweights = "random"\n',
        name="redo",
    )
    out = tmp_path / "o"
    assert run("stimuli", spec, "--out", out, "--workers", 0, "--quiet") == 0
    row = rows(out / "manifest.csv")[0]
    original = (out / row["path"]).read_bytes()
    (out / row["path"]).write_bytes(b"tampered")
    assert run("stimuli", spec, "--out", out, "--workers", 0, "--quiet") == 0
    assert (out / row["path"]).read_bytes() == original
    bad = write_spec(
        model_dir, n=1, methods='[[methods]]\nkind = "stargan"\nweights = "bundled"\n', name="bad"
    )
    from baselines.base import WEIGHTS_DIR

    if not (
        WEIGHTS_DIR / "stargan.pt"
    ).is_file():  # no bundled StarGAN yet: a clear, one-line error
        capsys.readouterr()
        assert run("stimuli", bad, "--out", tmp_path / "b", "--workers", 0, "--quiet") == 2
        err = capsys.readouterr().err.strip()
        assert (
            err.startswith("aufx: error: 1 unit(s) failed")
            and "method 'stargan' (stargan) is unavailable" in err
        )
        assert "aufx train stargan" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_example_spec_plans_on_a_tiny_model(model_dir, capsys):
    example = REPO / "examples" / "study.toml"
    assert run("stimuli", example, "--out", "unused", "--model", model_dir / "tiny.pt",
               "--analyzer", model_dir / "analyzer.pt", "--validate") == 0  # fmt: skip
    assert "valid; 40 faces, 20 items, 160 stimuli" in capsys.readouterr().out


@pytest.mark.slow
def test_existing_scheduler_address(model_dir, tmp_path):
    from dask.distributed import LocalCluster

    methods = '[[methods]]\nkind = "aufx"\nmode = "local-mux"\nsteps = 3\n[[methods]]\nkind = "ganimation"\nweights = "random"\n'
    spec = write_spec(model_dir, n=1, methods=methods, name="sched")
    assert run("stimuli", spec, "--out", tmp_path / "loop", "--workers", 0, "--quiet") == 0
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        assert (
            run(
                "stimuli",
                spec,
                "--out",
                tmp_path / "remote",
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            )
            == 0
        )
    assert folder_bytes(tmp_path / "loop") == folder_bytes(tmp_path / "remote")


def _units(methods: dict[str, int]) -> list[dict]:
    return [{"stage": "stimulus", "stimulus_id": f"s{name}{i}", "method": {"name": name}}
            for name, n in methods.items() for i in range(n)]  # fmt: skip


def test_batches_group_units_by_method_in_plan_order():
    from aufx.stimuli.run import batches

    units = _units({"a": 5, "b": 3})
    units = units[:2] + units[5:] + units[2:5]  # methods interleaved in plan order
    chunks = batches(units, slots=1, max_batch=4)  # 8 units / (4 tasks per slot) -> 2 per batch
    assert [[u["stimulus_id"] for u in c] for c in chunks] == [
        ["sa0", "sa1"], ["sa2", "sa3"], ["sa4"], ["sb0", "sb1"], ["sb2"]]  # fmt: skip
    assert batches([], slots=2) == []


def test_batches_keep_about_four_tasks_per_worker_thread():
    from aufx.stimuli.run import batches

    units = _units({"a": 40})
    assert [len(c) for c in batches(units, slots=2, max_batch=8)] == [5] * 8  # 40 / (4 * 2)
    assert [len(c) for c in batches(units, slots=1, max_batch=8)] == [8] * 5  # capped
    assert [len(c) for c in batches(units, slots=100)] == [1] * 40
    faces = [{"stage": "face", "face_id": f"f{i}"} for i in range(3)]  # no method: one group
    assert [len(c) for c in batches(faces, slots=1)] == [1, 1, 1]


def test_a_thread_worker_needs_one_worker():
    from aufx.stimuli.run import dask_executor

    with pytest.raises(
        ValueError, match="processes=False runs one worker thread in this process; got workers=2"
    ):
        with dask_executor(2, processes=False):
            pass
