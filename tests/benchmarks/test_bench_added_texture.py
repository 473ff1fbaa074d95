"""benchmarks/bench_added_texture.py on two held-out faces: a row per method and its RESULTS section."""

from __future__ import annotations

import re

import pytest

from tests.benchmarks.helpers import ROOT, load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_added_texture")


@pytest.mark.skipif(not (ROOT / "baselines" / "weights" / "ganimation.pt").is_file(), reason="bundled GANimation weights missing")
def test_two_faces_give_a_row_and_a_section_after_the_training_curves(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Measured results\n\n{bench.AFTER_SECTION}\n\nCurves.\n\n## Generator engine\n\nG.\n")
    rows = bench.main(["--n", "2", "--methods", "ganimation", "--write-results", "--results", str(results)])
    r = rows["ganimation"]
    assert r["excess"] > 0 and r["period2_ratio"] > 0 and r["noise_ratio"] > 0 and r["noise_ratio_notched"] > 0
    assert 0 < r["period2_bins"] < r["period4_bins"] < 1  # the 4-px lines cross the band twice as often
    text = results.read_text()
    assert text.index("Curves.") < text.index(bench.SECTION) < text.index("## Generator engine")
    assert "Each bundled baseline edits" in text and "--write-results  #" not in text  # the description, not the usage
    assert re.search(r"^\| ganimation \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| .+ \| [\d.]+ \| [\d.]+ \|$", text, flags=re.M)
    bench.main(["--n", "2", "--methods", "ganimation", "--write-results", "--results", str(results)])
    assert results.read_text().count(bench.SECTION) == 1  # a rerun replaces its section


def test_the_notch_removes_a_checkerboard_and_keeps_a_smooth_image(bench):
    import torch

    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    smooth = torch.sin(2 * torch.pi * x / 32)[None, None].repeat(2, 3, 1, 1)  # period 32 px
    checker = ((x + y) % 2 * 2 - 1)[None, None]
    stripes = torch.where(x % 4 < 2, 1.0, -1.0)[None, None]  # period 4 px across
    assert torch.allclose(bench.without_period_lines(smooth + 0.1 * checker + 0.1 * stripes), smooth, atol=0.03)
    assert torch.allclose(bench.without_period_lines(smooth), smooth, atol=1e-5)
