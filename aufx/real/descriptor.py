"""dlib's 128-D face descriptor: the identity feature of a real face.

Both :class:`aufx.real.analyzer.LandmarkAnalyzer` (its ``identity``) and :mod:`aufx.real.metrics`
(``identity_distance``) use it; it lives here so that the analyzer needs nothing from the metrics
module (``aufx.real.metrics`` imports :mod:`aufx.metrics`, which imports the analyzer seam).
"""

from __future__ import annotations

import numpy as np

from aufx.real.dlib_models import face_recognizer, import_dlib, landmark_predictor
from aufx.real.landmarks import Face

#: Length of dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1).
DESCRIPTOR_DIM = 128


def face_descriptor(image: np.ndarray, face: Face) -> np.ndarray:
    """dlib's descriptor float64 [128] of ``face`` in an RGB uint8 image [H, W, 3].

    Two descriptors closer than 0.6 (Euclidean) show the same person, by dlib's rule.
    """
    dlib = import_dlib()
    array = np.ascontiguousarray(image, dtype=np.uint8)
    box = dlib.rectangle(*face.box)
    shape = landmark_predictor()(array, box)
    return np.asarray(face_recognizer().compute_face_descriptor(array, shape), dtype=np.float64)
