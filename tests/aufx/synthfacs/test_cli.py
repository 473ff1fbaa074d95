"""``aufx synth render`` writes images, part maps and labels; bad input gives one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aufx.aus import AU_CODES
from aufx.cli import main
from aufx.synthfacs import PART_NAMES, sample_params


def test_render_writes_files(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["synth", "render", "--n", "6", "--out", str(out), "--seed", "4", "--size", "48"]) == 0
    labels = pd.read_csv(out / "labels.csv")
    assert list(labels.columns[:17]) == ["image", *AU_CODES]
    assert labels.columns[17] == "id_0" and len(labels) == 6
    params = sample_params(6, seed=4)
    assert np.allclose(labels[list(AU_CODES)].to_numpy(), params.aus, atol=1e-4)
    assert np.allclose(labels.filter(like="id_").to_numpy(), params.identity, atol=1e-6)
    for name in labels["image"]:
        image = Image.open(out / name)
        assert image.size == (48, 48) and image.mode == "RGB"
        part = np.array(Image.open(out / "parts" / name.split("/")[-1]))
        assert part.shape == (48, 48) and part.max() < len(PART_NAMES)
    meta = json.loads((out / "parts.json").read_text())
    assert meta["part_names"] == list(PART_NAMES)


def test_render_is_deterministic_per_seed(tmp_path):
    for name in ("a", "b"):
        assert main(["synth", "render", "--n", "3", "--out", str(tmp_path / name), "--seed", "9"]) == 0
    first = np.array(Image.open(tmp_path / "a" / "images" / "000002.png"))
    second = np.array(Image.open(tmp_path / "b" / "images" / "000002.png"))
    assert np.array_equal(first, second)


@pytest.mark.slow
def test_parallel_render_matches_serial(tmp_path, monkeypatch):
    import aufx.synthfacs.export as export

    monkeypatch.setattr(export, "CHUNK", 4)
    export.write_dataset(10, tmp_path / "serial", seed=2, workers=1)
    export.write_dataset(10, tmp_path / "parallel", seed=2, workers=2)
    for i in (0, 5, 9):
        name = f"{i:06d}.png"
        a = np.array(Image.open(tmp_path / "serial" / "images" / name))
        b = np.array(Image.open(tmp_path / "parallel" / "images" / name))
        assert np.array_equal(a, b)
    assert (tmp_path / "serial" / "labels.csv").read_text() == (tmp_path / "parallel" / "labels.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "--n must be at least 1, got 0"),
        (["--n", "2", "--size", "8"], "--size must be between 16 and 1024, got 8"),
        (["--n", "2", "--seed", "-1"], "--seed must be non-negative, got -1"),
        (["--n", "2", "--workers", "-3"], "--workers must be non-negative, got -3"),
    ],
)
def test_bad_arguments_give_one_line_errors(tmp_path, capsys, args, message):
    code = main(["synth", "render", "--out", str(tmp_path / "x"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"aufx: error: {message}"


def test_out_that_is_a_file_is_an_error(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["synth", "render", "--n", "1", "--out", str(target)]) == 2
    assert "is not a directory" in capsys.readouterr().err
