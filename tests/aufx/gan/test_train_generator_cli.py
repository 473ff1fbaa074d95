"""``aufx train generator`` on a new machine: where training starts when there is no state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aufx.cli import main
from aufx.gan.checkpoint import load_aufx, save_aufx
from aufx.gan.networks import Generator, GeneratorConfig

TINY = ["--resolution", "16", "--channel-base", "64", "--channel-max", "8", "--mapping-layers", "2", "--data", "render"]


def tiny_export(path: Path, kimg: float, steps: int) -> Generator:
    torch.manual_seed(3)
    generator = Generator(GeneratorConfig(img_resolution=16, channel_base=64, channel_max=8, mapping_layers=2))
    save_aufx(generator, path, {"kimg": kimg, "steps": steps, "train_seconds": 60})
    return generator


def run(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "out.pt"
    assert main(["train", "generator", "--budget-minutes", "0", "--threads", "1", "--state-dir", str(tmp_path / "state"),
                 "--export", str(out), *TINY, *extra]) == 0  # fmt: skip
    return load_aufx(out)


def test_init_from_carries_weights_and_counters(tmp_path: Path) -> None:
    source = tiny_export(tmp_path / "bundled.pt", kimg=84.4, steps=5273)
    generator, meta = run(tmp_path, "--init-from", str(tmp_path / "bundled.pt"))
    assert (meta["kimg"], meta["steps"]) == (84.4, 5273)
    for key, value in source.state_dict().items():
        assert torch.equal(generator.state_dict()[key], value), key


def test_without_state_export_or_init_from_it_starts_at_zero(tmp_path: Path) -> None:
    _, meta = run(tmp_path)
    assert (meta["kimg"], meta["steps"]) == (0.0, 0)


def test_missing_init_from_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.pt"
    code = main(["train", "generator", "--budget-minutes", "0", "--state-dir", str(tmp_path / "state"), "--export", str(out),
                 "--init-from", str(tmp_path / "nope.pt"), *TINY])  # fmt: skip
    assert code != 0 and "--init-from" in capsys.readouterr().err and not out.exists()


def test_distillation_runs_record_each_change_of_settings_as_a_phase_in_the_model_card(tmp_path: Path) -> None:
    from aufx.commands.train_generator import read_phases

    state, out = tmp_path / "state", tmp_path / "out.pt"
    base = ["train", "generator", "--distill", "--threads", "1", "--state-dir", str(state), "--export", str(out),
            "--resolution", "16", "--channel-base", "64", "--channel-max", "8", "--mapping-layers", "2",
            "--perceptual-weight", "0", "--batch", "4", "--total-kimg", "0.008"]  # fmt: skip
    assert main([*base, "--budget-minutes", "1", "--lr", "0.002"]) == 0
    assert main([*base, "--budget-minutes", "1", "--lr", "0.002", "--total-kimg", "0.012"]) == 0  # same settings: no phase
    assert main([*base, "--budget-minutes", "1", "--lr", "0.001", "--expression-weight", "10", "--total-kimg", "0.016"]) == 0
    phases = read_phases(state)
    assert [(p["kimg"], p["lr"], p["expression_weight"]) for p in phases] == [(0.0, 0.002, 0.0), (0.012, 0.001, 10.0)]
    card = out.with_suffix(".md").read_text()
    assert "phases of the run" in card and "pixels the AUs change +10" in card
