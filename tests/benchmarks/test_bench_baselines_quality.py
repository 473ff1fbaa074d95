"""benchmarks/bench_baselines_quality.py: the RESULTS.md section update, and a 4-face run on the bundled weights."""

from __future__ import annotations

import math
import re
import time

import pytest

from tests.benchmarks.helpers import ROOT, load_benchmark

NEEDED = [ROOT / "aufx" / "weights" / name for name in ("synthfacs128.pt", "synthfacs128_editor.pt", "analyzer.pt")]
NEEDED.append(ROOT / "baselines" / "weights" / "ganimation.pt")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_baselines_quality")


def test_section_goes_after_baselines_and_is_replaced_on_rerun(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Measured results\n\n## Analysis\n\nA.\n\n## Baselines\n\nB.\n\n| x |\n\n## Generator engine\n\nG.\n")
    bench.update_results_md(bench.SECTION + "\n\nfirst run\n", results)
    text = results.read_text()
    assert text.index("## Baselines\n") < text.index(bench.SECTION) < text.index("## Generator engine")
    assert "| x |\n\n" + bench.SECTION in text and "first run" in text
    bench.update_results_md(bench.SECTION + "\n\nsecond run\n", results)
    text = results.read_text()
    assert text.count(bench.SECTION) == 1 and "second run" in text and "first run" not in text
    assert text.endswith("## Generator engine\n\nG.\n") and "B.\n\n| x |" in text


def test_the_section_of_the_64_px_world_is_replaced_by_the_new_one(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# R\n\n## Baselines\n\nB.\n\n{bench.OLD_SECTION}\n\nold table\n\n## Generator engine\n\nG.\n")
    bench.update_results_md(bench.SECTION + "\n\nnew table\n", results)
    text = results.read_text()
    assert bench.OLD_SECTION not in text and "old table" not in text
    assert text.index("B.") < text.index(bench.SECTION) < text.index("new table") < text.index("## Generator engine")


def test_quality_table_keeps_the_run_order_and_dashes_an_edit_kind_a_method_lacks(bench):
    import pandas as pd

    # StarGAN takes no AU targets: its first quality row is an emotion one, after every AU row
    frame = pd.DataFrame({"method": ["stargan", "ganimation", "ganimation"], "task": ["emotion", "au", "emotion"],
                          "mean_ad": [math.nan, 0.5, math.nan], "max_ad": [math.nan, 2.0, math.nan]})  # fmt: skip
    quality = pd.DataFrame([
        {"method": "unedited source", "edits": "au", "fd": 0.1, "hf": 0.5, "noise": 1.0},
        {"method": "ganimation", "edits": "au", "fd": 0.2, "hf": 0.6, "noise": 1.7},
        {"method": "unedited source", "edits": "emotion", "fd": 0.3, "hf": 0.4, "noise": 1.0},
        {"method": "stargan", "edits": "emotion", "fd": 0.4, "hf": 0.8, "noise": 6.5},
        {"method": "ganimation", "edits": "emotion", "fd": 0.5, "hf": 0.6, "noise": 1.9},
    ])
    rows = [line for line in bench.quality_lines({"quality": quality, "frame": frame}) if line.startswith("| ")][1:]
    assert [row.split(" | ")[0][2:] for row in rows] == ["unedited source", "stargan", "ganimation"]
    read_late = frame.iloc[[1, 2, 0]]  # records read in another order (a partial redo): the run's order still holds
    given = [line.split(" | ")[0][2:] for line in bench.quality_lines(
        {"quality": quality, "frame": read_late, "methods": ["stargan", "ganimation"]}) if line.startswith("| ")][1:]
    assert given == ["unedited source", "stargan", "ganimation"]
    assert rows[1] == "| stargan | — | 0.4000 | — | 6.50 | — | 0.80 | — | — |"
    assert "nan" not in "".join(rows)
    # with the bootstrap's intervals (AU edits only here): each FD gets its interval, the others none
    quality.loc[quality["edits"] == "au", ["fd_lo", "fd_hi"]] = [[0.08, 0.12], [0.15, 0.25]]
    rows = [line for line in bench.quality_lines({"quality": quality, "frame": frame}) if line.startswith("| ")][1:]
    assert rows[2].startswith("| ganimation | 0.2000 [0.1500, 0.2500] | 0.5000 | 1.70 |")


def test_the_fd_ratio_interval_comes_from_the_shared_resamples(bench):
    import numpy as np
    import pandas as pd

    best = pd.Series({"fd": 0.1, "fd_boot": np.array([0.1, 0.2, 0.1, 0.2])})
    mine = pd.Series({"fd": 0.2, "fd_boot": np.array([0.2, 0.4, 0.2, 0.4])})  # twice the best on every resample
    assert bench.fd_ratio(mine, best) == pytest.approx((2.0, 2.0, 2.0))
    wobbly = pd.Series({"fd": 0.2, "fd_boot": np.array([0.1, 0.6, 0.3, 0.2])})
    ratio, lo, hi = bench.fd_ratio(wobbly, best)
    assert ratio == pytest.approx(2.0) and lo < 1.1 and hi > 2.9
    ratio, lo, hi = bench.fd_ratio(pd.Series({"fd": 0.3}), best)  # no resamples: the point estimate alone
    assert ratio == pytest.approx(3.0) and math.isnan(lo) and math.isnan(hi)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not all(p.is_file() for p in NEEDED), reason="bundled generator, editor, analyzer or GANimation weights missing")
def test_four_faces_two_methods_give_a_finite_table_and_a_working_classifier(bench, tmp_path):
    methods = ["ganimation", "aufx-global-linear"]
    results = tmp_path / "RESULTS.md"
    results.write_text("# Measured results\n\n## Baselines\n\nB.\n\n## Demo\n\nD.\n")
    sheet = tmp_path / "docs" / "sheet.png"
    start = time.perf_counter()
    args = ["--n", "4", "--methods", ",".join(methods), "--classifier-renders", "2000", "--repeats", "1",
            "--out", str(tmp_path / "out"), "--no-progress", "--write-results", "--results", str(results),
            "--write-docs", "--docs-image", str(sheet), "--work-dir", str(tmp_path / "work")]  # fmt: skip
    result = bench.main(args)
    elapsed = time.perf_counter() - start
    print(f"4 faces x 2 methods: {elapsed:.1f} s")

    au, emotion, metrics = result["au"], result["emotion"], result["metrics"]
    assert list(au["method"]) == methods and list(emotion["method"]) == methods
    assert (au["n"] == 4 * 8).all() and (emotion["n"] == 4 * 7).all()
    for column in ("mean_change", "ci_half", "share_positive"):
        assert au[column].map(math.isfinite).all(), column
    assert emotion["accuracy"].between(0, 1).all() and (emotion["chance"] == 1 / 7).all()
    assert sorted(metrics["method"].unique()) == sorted(methods)
    assert len(metrics) == 2 * len(methods)  # one row per method and edit kind (AU, emotion)
    for metric in bench.METRICS:
        assert metrics[metric].map(math.isfinite).all(), metric
        assert metrics[f"{metric}_ci"].map(math.isfinite).all(), metric
    assert list(result["throughput"]) == methods
    assert all(w > 0 and c > 0 for w, c, _ in result["throughput"].values())

    # image quality against the ideal outputs (true identity + target AUs), and Attribute Dependency
    quality = result["quality"]
    assert sorted(quality["method"].unique()) == sorted([*methods, "unedited source"])
    assert set(quality["edits"]) == {"au", "emotion"} and quality["fd"].map(math.isfinite).all()
    assert (quality["fd"] >= 0).all()
    assert (quality["fd_lo"] <= quality["fd_hi"]).all() and quality["fd_boot"].map(len).eq(100).all()
    assert (quality["noise"] > 0).all() and (quality.loc[quality["method"] == "unedited source", "noise"] == 1.0).all()
    au_rows = result["frame"][result["frame"]["task"] == "au"]
    assert au_rows["mean_ad"].map(math.isfinite).all() and (au_rows["max_ad"] >= au_rows["mean_ad"]).all()

    # the classifier itself: fitted on renders, accuracy on held-out renders well above chance (1/8)
    classifier = result["classifier"]
    assert len(classifier["classes"]) == 8 and classifier["n_heldout"] >= 200
    assert classifier["heldout_accuracy"] > 4 * classifier["chance"], classifier["heldout_accuracy"]

    # issue 17's goals for the trained baselines (GANimation here), each with a verdict
    text = results.read_text()
    assert "### Goals for the trained baselines (issue 17)" in text
    goal_row = next(line for line in text.splitlines() if line.startswith("| ganimation |") and "/8 " in line)
    assert goal_row.count("✓") + goal_row.count("✗") == 4
    assert re.search(r"\d\.\d× \[\d+\.\d, \d+\.\d\]", goal_row), goal_row  # the FD ratio with its interval
    assert 0 <= int(au["aus_raised"].iloc[0]) <= int(au["aus_edited"].iloc[0]) == 8

    # a rerun on the same work folder reuses every face and edit and gives the same tables
    assert result["header"]["reused"] == 0
    again = bench.main(args)
    assert again["header"]["reused"] == again["header"]["units"] == 4 + 4 * (8 + 7) * len(methods)
    assert again["au"]["mean_change"].tolist() == au["mean_change"].tolist()
    assert "units (faces and edits) reused" in results.read_text()

    section = results.read_text()
    assert section.count(bench.SECTION) == 1 and section.index("## Baselines\n") < section.index(bench.SECTION) < section.index("## Demo")
    assert "FD to the ideal outputs" in section and "| unedited source |" in section
    assert "N = 4 faces" in section and "- ganimation: " in section and "critic steps" in section
    assert sheet.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "out" / "edits.csv").is_file()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not all(p.is_file() for p in NEEDED), reason="bundled generator, editor, analyzer or GANimation weights missing")
def test_edits_in_two_worker_processes_give_the_same_table_as_one_after_another(bench, tmp_path):
    common = ["--n", "2", "--methods", "ganimation,aufx-global-linear", "--aus", "AU12,AU04", "--classifier-renders", "800",
              "--repeats", "1", "--batch", "2", "--no-progress"]  # fmt: skip
    serial = bench.main([*common, "--out", str(tmp_path / "a"), "--work-dir", str(tmp_path / "wa")])
    parallel = bench.main([*common, "--out", str(tmp_path / "b"), "--work-dir", str(tmp_path / "wb"), "--workers", "2"])
    columns = ["method", "task", "stimulus_id", "edit", "raised_change", "target_change", "leakage", "predicted"]
    serial_frame, parallel_frame = serial["frame"][columns], parallel["frame"][columns]
    assert len(serial_frame) == 2 * 2 * (2 + 7)
    assert serial_frame.equals(parallel_frame)
    assert "edits in 2 worker processes" in parallel["markdown"] and parallel["header"]["reused"] == 0
    again = bench.main([*common, "--out", str(tmp_path / "c"), "--work-dir", str(tmp_path / "wb"), "--workers", "2"])
    assert again["header"]["reused"] == again["header"]["units"]  # every face and edit read back from the work folder
