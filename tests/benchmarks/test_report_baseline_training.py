"""benchmarks/report_baseline_training.py: the table, the figure and the RESULTS.md section from val.jsonl files."""

from __future__ import annotations

import dataclasses
import json

from tests.benchmarks.helpers import load_benchmark


def test_report_reads_the_validation_logs_and_says_which_run_converged(tmp_path):
    report = load_benchmark("report_baseline_training")
    root = tmp_path / "states"
    flat = [{"step": 100 * (i + 1), "elapsed_s": 60.0 * i, "ideal_l1": 0.05, "au_error": 0.7} for i in range(7)]
    flat[0] = {"step": 100, "ideal_l1": 0.05, "au_error": 0.7, "from": "an earlier machine"}  # carried over, no elapsed_s
    falling = [{"step": 100 * (i + 1), "elapsed_s": 60.0 * i, "ideal_l1": 0.3 - 0.02 * i, "au_error": 1.2 - 0.05 * i,
                "emotion_accuracy": 0.1 + 0.01 * i} for i in range(4)]  # fmt: skip
    for name, history in (("ganimation128", flat), ("stargan128", falling)):
        (root / name).mkdir(parents=True)
        (root / name / "val.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    last = [{"step": 300, "ideal_l1": 0.3, "au_error": 1.4, "emotion_accuracy": 0.05}]  # beside a moving average
    (root / "stargan128" / "val_last_weights.jsonl").write_text(json.dumps(last[0]) + "\n")
    results = tmp_path / "RESULTS.md"
    results.write_text("# Measured results\n\n" + report.AFTER_SECTION + "\n\nX.\n\n## Generator engine\n\nG.\n")
    out = report.main(["--state-root", str(root), "--no-reference", "--write-results", "--results", str(results),
                       "--out", str(tmp_path / "curves.png")])  # fmt: skip
    runs = {r["method"]: r for r in out["runs"]}
    assert runs["ganimation"]["converged"] and not runs["stargan"]["converged"]  # flat for 6 validations vs still falling
    assert runs["stargan"]["best"]["step"] == 400 and runs["ganimation"]["best"]["step"] == 700
    assert runs["cascade-efgan"]["history"] == []
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    text = results.read_text()
    assert text.index(report.AFTER_SECTION) < text.index(report.SECTION) < text.index("## Generator engine")
    assert "| cascade-efgan | 0 | — | not started |" in text and "| ganimation | 7 | 700 | yes | 700 |" in text
    assert "Validations up to step 100 come from an earlier machine." in text
    assert "step → 300: 0.260 vs 0.300 / 1.100 vs 1.400 / 0.120 vs 0.050 (ideal_l1 / au_error / emotion_accuracy; average vs last)" in text
    assert runs["ganimation"]["last_weights"] == []
    assert report.goals({"emotion_accuracy": 0.8, "noise_ratio": 3.21}) == "emotion 0.80 ✓, noise 3.21 ✗"
    decaying = {"history": [{"step": 500}], "converged": True, "schedule": [{"from_step": 0}, {"from_step": 400, "decay_end": 600}]}
    assert report.status(decaying, report.Plateau()) == "decaying to 0 by step 600"
    assert report.status({**decaying, "history": [{"step": 600}]}, report.Plateau()) == "yes (decay ended at 600)"
    assert report.status({"history": [], "converged": False, "schedule": []}, report.Plateau()) == "no"
    assert report.goals({"ideal_l1": 0.1}) == "—" and report.goals(None) == "—"
    assert report.bundle_label("ganimation").endswith(" px") and report.bundle_label("no-such-method") == "—"


def test_references_are_the_unedited_source_and_the_bundled_weights_on_the_same_faces():
    report = load_benchmark("report_baseline_training")
    refs = report.references_for("ganimation", 32, 4, emotion=False)
    assert set(refs) == {"unedited source", "bundled"}
    assert refs["unedited source"]["high_freq_ratio"] > 0 and refs["bundled"]["ideal_l1"] > 0
    assert refs["unedited source"]["ideal_l1"] != refs["bundled"]["ideal_l1"]
    assert set(refs["bundled"]) >= {"ideal_l1", "au_error", "high_freq_ratio", "emotion_accuracy"}  # prototype-AU targets


def test_write_docs_also_draws_the_best_checkpoints(tmp_path):
    import torch

    from baselines.registry import adapter_class
    from baselines.train_cli import build_config

    report = load_benchmark("report_baseline_training")
    root = tmp_path / "states"
    (root / "ganimation32").mkdir(parents=True)
    history = [{"step": 10, "elapsed_s": 1.0, "ideal_l1": 0.3, "au_error": 1.0}]
    (root / "ganimation32" / "val.jsonl").write_text(json.dumps(history[0]) + "\n")
    config = build_config("ganimation", 32, 8)
    adapter = adapter_class("ganimation")(config)
    torch.save({"step": 10, "G": adapter.G.state_dict(), "config": dataclasses.asdict(config)}, root / "ganimation32" / "best_G.pt")
    (root / "stargan32").mkdir()  # a run with a log but no best checkpoint is left out of the samples
    (root / "stargan32" / "val.jsonl").write_text(json.dumps(history[0]) + "\n")
    out = report.main(["--state-root", str(root), "--size", "32", "--no-reference", "--write-docs",
                       "--docs-image", str(tmp_path / "curves.png"), "--samples-image", str(tmp_path / "samples.png")])  # fmt: skip
    assert (tmp_path / "samples.png").stat().st_size > 10_000
    assert f"each best checkpoint: `{tmp_path / 'samples.png'}`" in out["markdown"]


def test_every_validation_measure_has_a_panel_title():
    report = load_benchmark("report_baseline_training")
    assert set(report.PANELS) <= set(report.LABELS)  # a measure added to the validation gets a titled panel
