"""load_generator: aufx round trip, bundled names, and one-line errors for bad files."""

from __future__ import annotations

import os

import pytest
import torch

from aufx.gan import loaders
from aufx.gan.checkpoint import CheckpointError, save_aufx
from aufx.gan.loaders import FORMAT_AUFX, load_generator

from .tiny_nets import random_generator, seeded_z


def test_aufx_round_trip(tmp_path):
    generator = random_generator()
    path = save_aufx(generator, tmp_path / "g.pt", metadata={"kimg": 12})
    loaded = load_generator(str(path))
    assert loaded.format == FORMAT_AUFX and loaded.metadata == {"kimg": 12}
    assert loaded.config == generator.config and not loaded.generator.training
    z = seeded_z(generator)
    with torch.no_grad():
        assert torch.equal(loaded.generator(z, truncation_psi=0.5), generator(z, truncation_psi=0.5))


def test_bundled_name_resolves_through_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(loaders.BUNDLED_MODELS, "tiny16", "tiny16.pt")
    with pytest.raises(CheckpointError, match=r"tiny16.pt: bundled model 'tiny16' is not installed"):
        load_generator("tiny16")
    save_aufx(random_generator(), tmp_path / "tiny16.pt")
    assert load_generator("tiny16").config.img_resolution == 16


class _SystemCall:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_bad_files_give_one_line_errors(tmp_path):
    path = save_aufx(random_generator(), tmp_path / "g.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.pt").write_bytes(os.urandom(300).replace(b"PK", b"pk").replace(b"\x80", b"\x00"))
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save({"model": torch.zeros(2), "step": 3}, tmp_path / "dict.pt")
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    marker = tmp_path / "pwned"
    torch.save({"g_ema": {}, "x": _SystemCall(f"touch {marker}")}, tmp_path / "hostile.pt")
    expected = {
        "cut.pt": r"cut.pt: not a readable torch file, truncated or corrupt",
        "noise.pt": r"noise.pt: not a model file",
        "empty.pt": r"empty.pt: empty file",
        "dict.pt": r"dict.pt: neither an aufx generator .* its keys: model, step",
        "list.pt": r"list.pt: holds a list",
        "hostile.pt": r"hostile.pt: refused: the file pickles objects other than tensors",
    }
    for name, pattern in expected.items():
        with pytest.raises(CheckpointError, match=pattern) as error:
            load_generator(tmp_path / name)
        _one_line(error)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match=r"nope.pkl: no such file \(and not a bundled model name"):
        load_generator(tmp_path / "nope.pkl")
    with pytest.raises(CheckpointError, match=r"is a directory"):
        load_generator(tmp_path)
