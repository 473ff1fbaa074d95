"""benchmarks/baseline_samples.py: a picture of what the baselines in training output."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from tests.benchmarks.helpers import load_benchmark


def _save_generator(root, method: str, size: int, width: int, step: int) -> dict[str, torch.Tensor]:
    from baselines.registry import adapter_class
    from baselines.train_cli import build_config
    from baselines.training import generator_of

    adapter = adapter_class(method)(build_config(method, size, width))
    state = generator_of(adapter).state_dict()
    (root / f"{method}{size}").mkdir(parents=True)
    torch.save({"step": step, "G": state}, root / f"{method}{size}" / "best_G.pt")
    return state


def test_rows_per_method_from_the_best_checkpoints(tmp_path):
    samples = load_benchmark("baseline_samples")
    root = tmp_path / "states"
    _save_generator(root, "ganimation", 32, 8, step=40)
    _save_generator(root, "stargan", 32, 16, step=30)
    out = samples.main(["--size", "32", "--faces", "2", "--state-root", str(root), "--out", str(tmp_path / "s.png")])
    width, height = Image.open(out).size
    assert (width, height) == (round(1.3 * 6 * 110), int(1.3 * 2 * 2.45 * 110))  # 6 columns; 2 methods x 2 rows
    faces = samples.held_out_faces(32, 2)
    from aufx.edit.analyzer import load_analyzer

    adapter, caption = samples.load_generator("ganimation", 32, "best", root)
    assert caption == "ganimation, best checkpoint, step 40" and adapter.config.g_conv_dim == 8
    columns = samples.sample_columns(adapter, faces, load_analyzer("synthfacs"))
    assert [title for title, _ in columns] == ["source", "ideal", "output", "happy ideal", "happy", "AU12 +2"]
    assert all(images.shape == (2, 3, 32, 32) for _, images in columns)
    assert torch.equal(columns[0][1], faces["aus"].images)
    assert torch.equal(faces["happy"].images, faces["aus"].images)  # the same sources in every set
    assert not torch.equal(faces["happy"].ideal[1], faces["aus"].images[1])  # the happy edit moves the render


def test_missing_and_mismatched_states_are_named(tmp_path):
    samples = load_benchmark("baseline_samples")
    with pytest.raises(SystemExit, match="no best weights of cascade-efgan found"):
        samples.main(["--size", "32", "--methods", "cascade-efgan", "--state-root", str(tmp_path)])
    state = _save_generator(tmp_path, "ganimation", 32, 8, step=1)
    state.pop(next(iter(state)))
    with pytest.raises(ValueError, match="ganimation: bad matches no 32-px generator of width 8, 16, 32, 64"):
        samples.adapter_for("ganimation", 32, state, "bad")
