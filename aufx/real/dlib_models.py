"""Locate and load dlib's models from the ``real`` extra (``dlib-bin`` + ``face-recognition-models``).

``face_recognition_models/__init__.py`` imports ``pkg_resources`` (deprecated, absent from new
setuptools) just to build file paths, so this module never imports that package: it finds the
package directory with :func:`importlib.util.find_spec` and joins the ``models/*.dat`` names.

Models (``face-recognition-models`` 0.3.0):

- ``shape_predictor_68_face_landmarks.dat`` (~95 MiB): the iBUG 68-point predictor FFHQ's
  alignment used;
- ``dlib_face_recognition_resnet_model_v1.dat`` (~21 MiB): ResNet, 150×150 face chip -> 128-D
  descriptor; two photos show the same person when the Euclidean distance is below 0.6;
- the face detector is dlib's built-in HOG detector (no file).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Any

#: What to tell a user who lacks the extra.
INSTALL_HINT = "pip install 'aufx[real]'  (dlib-bin and face-recognition-models)"

PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
RECOGNITION_RESNET = "dlib_face_recognition_resnet_model_v1.dat"


class RealExtraMissing(ValueError):
    """The ``real`` extra is not installed (a ValueError so the CLI prints it as one line)."""


def import_dlib() -> Any:
    """Import and return the ``dlib`` module, or raise :class:`RealExtraMissing` naming the pip command."""
    try:
        return importlib.import_module("dlib")
    except ImportError:
        raise RealExtraMissing(f"real-face support needs dlib, which is not installed: {INSTALL_HINT}") from None


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package (not imported)."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise RealExtraMissing(f"real-face support needs face-recognition-models, which is not installed: {INSTALL_HINT}")
    return Path(locations[0]) / "models"


def model_path(name: str) -> Path:
    """Path of one ``.dat`` model file; a clear error when it is missing."""
    path = models_dir() / name
    if not path.is_file():
        raise RealExtraMissing(f"{path}: dlib model file missing; reinstall with {INSTALL_HINT}")
    return path


@functools.cache
def face_detector() -> Any:
    """dlib's HOG frontal face detector (``detector.run(image, upsample, threshold)``)."""
    return import_dlib().get_frontal_face_detector()


@functools.cache
def landmark_predictor() -> Any:
    """The 68-landmark shape predictor (loads ~95 MiB once per process)."""
    dlib = import_dlib()
    return dlib.shape_predictor(str(model_path(PREDICTOR_68)))


@functools.cache
def face_recognizer() -> Any:
    """The ResNet face descriptor model (128-D)."""
    dlib = import_dlib()
    return dlib.face_recognition_model_v1(str(model_path(RECOGNITION_RESNET)))
