"""The report renders in headless Debian chromium (docs/img/report.png is made this way)."""

from __future__ import annotations

import pytest

from analysis.fixtures import write_fixture
from analysis.render_docs import render
from analysis.report import analyze


@pytest.mark.browser  # needs /usr/bin/chromium (tests/conftest.py checks it)
def test_report_renders_to_png(tmp_path):
    from PIL import Image

    files = write_fixture(tmp_path / "fx", seed=5, n_participants=6, n_items=3)
    analyze(files["ratings"], tmp_path / "out", models=False)
    png = render(tmp_path / "out" / "report.html", tmp_path / "report.png", "/usr/bin/chromium")
    image = Image.open(png)
    assert image.width == 1200 and 2000 < image.height < 16000
