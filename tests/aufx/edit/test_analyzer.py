"""The analyzer seam: tuple/dict/object outputs, batching, and loading aufx.au's FaceAnalyzer files."""

from __future__ import annotations

import pytest
import torch

from aufx.edit.analyzer import Analysis, analyze, as_analysis, load_analyzer
from aufx.metrics import realism_features
from tests.aufx.edit.tiny import TinyAnalyzer


def test_output_forms_are_normalised():
    aus, ident, logits = torch.rand(2, 16), torch.rand(2, 4), torch.rand(2, 15, 8, 8)
    for raw in ((aus, ident, logits), {"aus": aus, "identity": ident, "part_logits": logits}):
        a = as_analysis(raw)
        assert torch.equal(a.parts, logits.argmax(1)) and a.parts_at(16).shape == (2, 16, 16)
    hard = as_analysis({"aus": aus, "identity": ident, "parts": logits.argmax(1)})
    assert hard.part_logits is None
    with pytest.raises(ValueError, match=r"\[N, 16\]"):
        as_analysis((torch.rand(2, 15), ident, logits))
    with pytest.raises(ValueError, match="'aus'"):
        as_analysis({"identity": ident})
    assert isinstance(analyze(TinyAnalyzer(), torch.rand(5, 3, 32, 32) * 2 - 1, batch_size=2), Analysis)


def test_batched_analysis_equals_one_pass():
    net, images = TinyAnalyzer(), torch.rand(5, 3, 32, 32) * 2 - 1
    whole = as_analysis(net(images))
    batched = analyze(net, images, batch_size=2)
    assert torch.allclose(batched.aus, whole.aus, atol=1e-6) and torch.equal(batched.parts, whole.parts)


def test_loads_face_analyzer_files(tmp_path):
    from aufx.au import FaceAnalyzer

    torch.manual_seed(0)
    path = FaceAnalyzer().save(tmp_path / "an.pt")
    model = load_analyzer(path)
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    result = analyze(model, images)
    assert result.aus.shape == (2, 16) and result.parts.shape == (2, 64, 64)
    features = realism_features(model, images)
    assert features.ndim == 2 and features.shape[0] == 2
    with pytest.raises(ValueError, match="missing.pt: analyzer weights not found"):
        load_analyzer(tmp_path / "missing.pt")
