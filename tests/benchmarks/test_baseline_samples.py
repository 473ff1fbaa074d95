"""benchmarks/baseline_samples.py: a picture of what the baselines in training output."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from PIL import Image

from tests.benchmarks.helpers import load_benchmark


def _save_generator(root, method: str, size: int, width: int, step: int, config_in: str = "best_G.pt") -> dict[str, torch.Tensor]:
    """A best_G.pt of a fresh generator; its config in best_G.pt, or (older files) only in state.pt beside it."""
    from baselines.registry import adapter_class
    from baselines.train_cli import build_config
    from baselines.training import generator_of

    config = build_config(method, size, width)
    state = generator_of(adapter_class(method)(config)).state_dict()
    folder = root / f"{method}{size}"
    folder.mkdir(parents=True)
    stored = {"config": dataclasses.asdict(config)}
    torch.save({"step": step, "G": state, **(stored if config_in == "best_G.pt" else {})}, folder / "best_G.pt")
    if config_in == "state.pt":
        torch.save({"method": method, "step": step, **stored}, folder / "state.pt")
    return state


def test_rows_per_method_from_the_best_checkpoints(tmp_path):
    samples = load_benchmark("baseline_samples")
    root = tmp_path / "states"
    _save_generator(root, "ganimation", 32, 8, step=40)
    _save_generator(root, "stargan", 32, 16, step=30, config_in="state.pt")
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
    config = torch.load(tmp_path / "ganimation32" / "best_G.pt", weights_only=True)["config"]
    assert samples.adapter_for("ganimation", config, state, "good").config.g_conv_dim == 8
    state.pop(next(iter(state)))
    with pytest.raises(ValueError, match=r"ganimation: bad does not fit a generator of its stored config .*'g_conv_dim': 8"):
        samples.adapter_for("ganimation", config, state, "bad")
    with pytest.raises(ValueError, match=r"has config fields \['wings'\] that the method's config lacks"):
        samples.adapter_for("ganimation", {**config, "wings": 2}, state, "odd")
    (tmp_path / "ganimation64").symlink_to(tmp_path / "ganimation32")  # a 32-px state where 64 px is asked for
    with pytest.raises(ValueError, match="a 32-px checkpoint, not 64 px"):
        samples.load_generator("ganimation", 64, "best", tmp_path)
    _save_generator(tmp_path / "old", "stargan", 32, 8, step=1, config_in="none")
    with pytest.raises(ValueError, match="holds no config and has no state.pt beside it"):
        samples.load_generator("stargan", 32, "best", tmp_path / "old")


def test_the_moving_average_of_a_state_is_drawn_when_it_has_one(tmp_path, capsys):
    samples = load_benchmark("baseline_samples")
    state = _save_generator(tmp_path, "ganimation", 32, 8, step=5)
    config = torch.load(tmp_path / "ganimation32" / "best_G.pt", weights_only=True)["config"]
    averaged = {k: v + 1.0 if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"step": 7, "config": config, "G": state}, tmp_path / "ganimation32" / "state.pt")
    assert samples.load_generator("ganimation", 32, "average", tmp_path) is None
    assert "keeps no moving average of the generator" in capsys.readouterr().err
    torch.save({"step": 7, "config": config, "G": state, "G_ema": averaged}, tmp_path / "ganimation32" / "state.pt")
    adapter, caption = samples.load_generator("ganimation", 32, "average", tmp_path)
    assert caption == "ganimation, moving average (--g-ema) of the latest checkpoint, step 7"
    from baselines.training import generator_of

    name, value = next((k, v) for k, v in averaged.items() if v.is_floating_point())
    assert torch.equal(generator_of(adapter).state_dict()[name], value)
    assert samples.load_generator("ganimation", 32, "latest", tmp_path)[1] == "ganimation, latest checkpoint, step 7"
