"""The face-analyzer seam: what the editing engine needs from an AU estimator.

The engine never depends on one analyzer implementation. Anything callable on images
``[N, 3, H, W]`` in [-1, 1] that returns

- a tuple ``(aus, identity, part_logits)``, or
- an object with attributes ``aus`` and ``identity`` and one of ``part_logits`` / ``parts``,

works: the bundled SynthFACS analyzer (:mod:`aufx.au`), a user's own network, or a tiny random
stand-in in tests. :func:`analyze` turns any of these into an :class:`Analysis`.

Shapes: ``aus`` [N, 16] (``AU_CODES`` order, 0..5 scale), ``identity`` [N, E],
``part_logits`` [N, P, h, w] (``P = len(PART_NAMES)``, any ``h, w``) — or ``parts`` [N, h, w]
integer labels when the analyzer gives hard labels (SynthFACS ground truth).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from aufx.aus import N_AUS

Analyzer = Callable[[torch.Tensor], Any]


@dataclass
class Analysis:
    """What an analyzer says about a batch of faces.

    Attributes:
        aus: [N, 16] AU intensities.
        identity: [N, E] identity embedding.
        part_logits: [N, P, h, w] part scores, or ``None`` when only hard labels are known.
        parts: [N, h, w] int64 part labels (argmax of ``part_logits`` when not given).
    """

    aus: torch.Tensor
    identity: torch.Tensor
    part_logits: torch.Tensor | None
    parts: torch.Tensor

    def parts_at(self, size: int) -> torch.Tensor:
        """Part labels resized (nearest) to ``size``×``size``: [N, size, size] int64."""
        if self.parts.shape[-1] == size and self.parts.shape[-2] == size:
            return self.parts
        resized = F.interpolate(self.parts[:, None].float(), size=(size, size), mode="nearest")
        return resized[:, 0].long()


def _get(output: Any, *names: str) -> Any:
    for name in names:
        if isinstance(output, dict) and name in output:
            return output[name]
        if hasattr(output, name):
            return getattr(output, name)
    return None


def as_analysis(output: Any) -> Analysis:
    """Normalise an analyzer's raw output (tuple, dict or object; see module doc) to :class:`Analysis`."""
    if isinstance(output, Analysis):
        return output
    if isinstance(output, (tuple, list)):
        if len(output) != 3:
            raise ValueError(f"analyzer returned a {len(output)}-tuple; expected (aus, identity, part_logits)")
        aus, identity, logits = output
        parts = None
    else:
        aus = _get(output, "aus")
        identity = _get(output, "identity", "identity_embedding", "embedding")
        logits = _get(output, "part_logits", "parts_logits", "segmentation")
        parts = _get(output, "parts")
        if aus is None or identity is None or (logits is None and parts is None):
            raise ValueError(
                "analyzer output must have 'aus', 'identity' and 'part_logits' (or 'parts'); "
                f"got {type(output).__name__}"
            )
    if aus.ndim != 2 or aus.shape[1] != N_AUS:
        raise ValueError(f"analyzer AUs must be [N, {N_AUS}], got {list(aus.shape)}")
    if logits is not None and logits.ndim == 4 and parts is None:
        parts = logits.argmax(dim=1)
    elif logits is not None and logits.ndim == 3 and parts is None:  # hard labels passed as 'logits'
        parts, logits = logits.long(), None
    if parts is None:
        raise ValueError("analyzer part output must be logits [N, P, h, w] or labels [N, h, w]")
    return Analysis(aus=aus, identity=identity, part_logits=logits, parts=parts.long())


def analyze(analyzer: Analyzer, images: torch.Tensor, batch_size: int = 64, grad: bool = False) -> Analysis:
    """Run ``analyzer`` on images [N, 3, H, W] in [-1, 1] in batches; returns one :class:`Analysis`.

    ``grad=False`` (default) runs under ``torch.no_grad``. With ``grad=True`` the whole batch is
    analysed at once so that gradients flow back to ``images``.
    """
    if grad:
        return as_analysis(analyzer(images))
    chunks = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            chunks.append(as_analysis(analyzer(images[start : start + batch_size])))
    logits = None if chunks[0].part_logits is None else torch.cat([c.part_logits for c in chunks])
    return Analysis(
        aus=torch.cat([c.aus for c in chunks]),
        identity=torch.cat([c.identity for c in chunks]),
        part_logits=logits,
        parts=torch.cat([c.parts for c in chunks]),
    )


#: Bundled analyzer name -> file under ``aufx/weights``.
BUNDLED_ANALYZERS: dict[str, str] = {"synthfacs": "analyzer.pt"}
#: The analyzer for real faces: dlib landmark part maps and 128-D identity, no AUs (NaN)
#: (:class:`aufx.real.analyzer.LandmarkAnalyzer`; needs the ``real`` extra, no weights file).
LANDMARK_ANALYZER = "landmarks"


def landmark_analyzer() -> Analyzer:
    """:class:`aufx.real.analyzer.LandmarkAnalyzer`, once dlib and its model files are found.

    Raises:
        ValueError (:class:`aufx.real.dlib_models.RealExtraMissing`): naming the missing package
            (dlib or face-recognition-models) and the pip command.
    """
    from aufx.real.analyzer import LandmarkAnalyzer
    from aufx.real.dlib_models import (
        PREDICTOR_68,
        RECOGNITION_RESNET,
        RealExtraMissing,
        import_dlib,
        model_path,
    )

    try:
        import_dlib()
        for name in (PREDICTOR_68, RECOGNITION_RESNET):
            model_path(name)
    except RealExtraMissing as error:
        raise RealExtraMissing(f"analyzer '{LANDMARK_ANALYZER}': {error}") from None
    return LandmarkAnalyzer()


def analyzer_path(spec: str | os.PathLike = "synthfacs") -> Path:
    """The weights file of a bundled analyzer name (``synthfacs``) or of a path."""
    text = os.fspath(spec)
    weights = Path(__file__).resolve().parent.parent / "weights"
    return weights / BUNDLED_ANALYZERS[text] if text in BUNDLED_ANALYZERS else Path(text)


def load_analyzer(spec: str | os.PathLike = "synthfacs") -> Analyzer:
    """Load the face analyzer: bundled name ``synthfacs`` or a path (through :mod:`aufx.au`), or
    ``landmarks`` (:func:`landmark_analyzer`, dlib; for real faces).

    Raises:
        ValueError: naming the file when it is missing, when :mod:`aufx.au` (the analyzer
            package) is not installed, or, for ``landmarks``, the missing package of the ``real`` extra.
    """
    if os.fspath(spec) == LANDMARK_ANALYZER:
        return landmark_analyzer()
    path = analyzer_path(spec)
    if not path.is_file():
        raise ValueError(f"{path}: analyzer weights not found (train them with `aufx train analyzer`)")
    try:
        from aufx.au import FaceAnalyzer
    except ImportError as error:  # pragma: no cover - depends on the analyzer package
        raise ValueError(f"the face analyzer package aufx.au cannot be imported ({error})") from None
    try:
        model = FaceAnalyzer.load(path)
    except (RuntimeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a loadable analyzer file ({type(error).__name__}: {error})") from None
    return model.eval().requires_grad_(False)
