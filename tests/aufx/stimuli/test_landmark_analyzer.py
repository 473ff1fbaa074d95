"""``model.analyzer = "landmarks"``: stimuli of real-face photographs measured by dlib (no AU measures)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from aufx.cli import main
from aufx.stimuli.spec import load_spec
from tests.aufx.real.faces import synthfacs_photos

SPEC = """
name = "photos"
seed = 1
image_size = 256
[model]
analyzer = "landmarks"
[sources]
kind = "folder"
path = "photos"
[[tasks]]
kind = "au"
edits = [{AU12 = 2.0}]
methods = ["ganimation"]
[[methods]]
kind = "ganimation"
"""


@pytest.mark.slow  # dlib's models and the bundled GANimation
def test_a_photo_study_measures_identity_and_out_of_region_change_with_dlib(tmp_path: Path) -> None:
    synthfacs_photos(tmp_path / "photos", n=2, size=256)
    spec_path = tmp_path / "photos.toml"
    spec_path.write_text(SPEC)
    assert load_spec(spec_path).model.analyzer == "landmarks"
    out = tmp_path / "out"
    assert main(["stimuli", str(spec_path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    with (out / "metrics.csv").open(newline="") as handle:
        metrics = list(csv.DictReader(handle))
    assert len(metrics) == 2
    for row in metrics:
        assert math.isfinite(float(row["identity_drift"])) and 0 <= float(row["identity_drift"]) < 1  # dlib found both faces
        assert math.isfinite(float(row["outside_share"]))  # landmark part maps give the region
        assert row["target_change"] in ("", "nan")  # no AUs from landmarks
        assert "realism" not in row or row["realism"] in ("", "nan")


def test_the_name_needs_the_real_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aufx.real import dlib_models
    from aufx.stimuli.plan import build_plan

    synthfacs_photos(tmp_path / "photos", n=1, size=64)
    spec_path = tmp_path / "photos.toml"
    spec_path.write_text(SPEC)

    def missing() -> None:
        raise dlib_models.RealExtraMissing("dlib is not installed: pip install 'aufx[real]'")

    monkeypatch.setattr(dlib_models, "import_dlib", missing)
    with pytest.raises(ValueError, match=r"model\.analyzer: analyzer 'landmarks': dlib is not installed"):
        build_plan(load_spec(spec_path))
