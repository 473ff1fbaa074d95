"""`aufx demo --quick` runs its built stages end to end on a given model and reports the rest."""

import json

import torch

from aufx.cli import main
from aufx.gan import Generator, GeneratorConfig
from aufx.gan.checkpoint import save_aufx


def test_quick_demo_on_a_tiny_model(tmp_path, capsys):
    torch.manual_seed(0)
    model = save_aufx(Generator(GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=64,
                                                channel_max=8, mapping_layers=1)), tmp_path / "g.pt")  # fmt: skip
    assert main(["demo", "--quick", "--out", str(tmp_path / "out"), "--model", str(model)]) == 0
    summary = json.loads((tmp_path / "out" / "demo_summary.json").read_text())
    assert set(summary["seconds"]) == {"SynthFACS renders", "generate faces"}
    assert (tmp_path / "out" / "generated_grid.png").stat().st_size > 0
    assert "[not built yet]" in capsys.readouterr().out


def test_demo_with_a_missing_model_fails_with_one_line(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--model", str(tmp_path / "none.pt")]) == 2
    assert "none.pt: no such file" in capsys.readouterr().err
