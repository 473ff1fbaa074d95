"""Float16 bundling: the stored weights are float16, load as the rounded model, and the gap is measured."""

from __future__ import annotations

from pathlib import Path

import torch

from aufx.cli import main
from aufx.gan.checkpoint import load_aufx, save_aufx
from aufx.gan.half import half_copy, half_precision_gap
from aufx.gan.networks import Generator, GeneratorConfig


def tiny(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    return Generator(GeneratorConfig(z_dim=16, w_dim=16, img_resolution=16, channel_base=64, channel_max=8, mapping_layers=2)).eval()


def test_half_file_stores_float16_and_loads_as_the_rounded_model(tmp_path: Path) -> None:
    generator = tiny()
    full, half = save_aufx(generator, tmp_path / "full.pt"), save_aufx(generator, tmp_path / "half.pt", half=True)
    payload = torch.load(half, weights_only=True)
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    full_payload = torch.load(full, weights_only=True)
    nbytes = [sum(v.numel() * v.element_size() for v in p["state_dict"].values()) for p in (payload, full_payload)]
    assert nbytes[0] < 0.55 * nbytes[1] and half.stat().st_size < full.stat().st_size
    loaded, _ = load_aufx(half)
    z = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, noise_mode="const"), half_copy(generator)(z, noise_mode="const"), rtol=0, atol=0)


def test_gap_is_zero_for_weights_float16_holds_exactly_and_positive_otherwise() -> None:
    generator = tiny()
    exact = half_copy(generator)
    assert half_precision_gap(exact, n=8)["max_abs"] == 0
    gap = half_precision_gap(generator, n=8)
    assert 0 < gap["max_abs"] < 0.05 and 0 <= gap["changed_share"] < 0.2


def test_cli_writes_the_gap_into_the_metadata_and_refuses_above_the_allowed_levels(tmp_path: Path, capsys) -> None:
    save_aufx(tiny(), tmp_path / "g.pt", {"kimg": 3.0})
    assert main(["model", "half", str(tmp_path / "g.pt"), str(tmp_path / "h.pt"), "--faces", "8"]) == 0
    _, metadata = load_aufx(tmp_path / "h.pt")
    assert metadata["kimg"] == 3.0 and metadata["weights_dtype"] == "float16" and metadata["float16_gap"]["faces"] == 8
    assert main(["model", "half", str(tmp_path / "g.pt"), str(tmp_path / "no.pt"), "--faces", "8", "--max-levels", "-1"]) != 0
    assert "keep float32" in capsys.readouterr().err and not (tmp_path / "no.pt").exists()
