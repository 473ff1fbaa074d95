"""``aufx model info`` and ``aufx generate`` on tiny NVIDIA-format pickles."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from aufx.cli import main
from aufx.commands.model import parse_seeds
from tests.aufx.gan.nvidia_writer import write_nvidia_pickle
from tests.aufx.gan.tiny_nets import TINY32, random_generator


@pytest.fixture(scope="module")
def tiny_pkl(tmp_path_factory):
    generator = random_generator(TINY32, seed=4)
    path = write_nvidia_pickle(generator, tmp_path_factory.mktemp("pkl") / "tiny.pkl")
    return generator, path


def test_parse_seeds():
    assert parse_seeds("0-7") == list(range(8))
    assert parse_seeds("1,3,5-9") == [1, 3, 5, 6, 7, 8, 9]
    assert parse_seeds("42") == [42]
    for bad, reason in [("7-0", "before start"), ("a-b", "not a seed"), ("1,,2", "not a seed"),
                        ("-3", "not a seed"), ("4294967296", "seeds must be in")]:  # fmt: skip
        with pytest.raises(ValueError, match=reason):
            parse_seeds(bad)


def test_model_info_lists_layers(tiny_pkl, capsys):
    _, path = tiny_pkl
    assert main(["model", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "nvidia-pkl" in out and "32x32" in out and "num_ws 8" in out
    assert "b32.conv1     8×32×32" in out and "the paper's 7th layer" in out
    assert "b8.conv0      16×8×8" in out and "b32.torgb     3×32×32" in out
    assert main(["model", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert len(info["layers"]) == 11 and info["config"]["w_dim"] == 16


def test_generate_matches_nvidia_seed_semantics(tiny_pkl, tmp_path):
    generator, path = tiny_pkl
    out = tmp_path / "out"
    assert main(["generate", "--model", str(path), "--seeds", "0-2,5", "--out", str(out), "--psi", "0.6"]) == 0
    for seed in (0, 1, 2, 5):
        z = torch.from_numpy(np.random.RandomState(seed).randn(1, generator.z_dim)).float()
        with torch.no_grad():
            img = generator(z, truncation_psi=0.6, noise_mode="const")
        expected = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()
        written = np.asarray(Image.open(out / f"seed{seed:04d}.png"))
        assert np.array_equal(written, expected), seed
    grid = Image.open(out / "grid.png")
    assert grid.size == (2 * 32 + 2, 2 * 32 + 2)


def test_generate_batched_is_close(tiny_pkl, tmp_path):
    _, path = tiny_pkl
    assert main(["generate", "--model", str(path), "--seeds", "3-6", "--out", str(tmp_path / "a")]) == 0
    assert main(["generate", "--model", str(path), "--seeds", "3-6", "--out", str(tmp_path / "b"), "--batch", "4"]) == 0
    for seed in range(3, 7):
        a = np.asarray(Image.open(tmp_path / "a" / f"seed{seed:04d}.png")).astype(int)
        b = np.asarray(Image.open(tmp_path / "b" / f"seed{seed:04d}.png")).astype(int)
        assert np.abs(a - b).max() <= 1


def test_errors_are_one_line(tiny_pkl, tmp_path, capsys):
    _, path = tiny_pkl
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", str(path), "--seeds", "9-1", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "end 1 is before start 9" in capsys.readouterr().err
    assert main(["generate", "--model", str(tmp_path / "missing.pkl"), "--seeds", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aufx: error: ") and "missing.pkl: no such file" in err and "\n" not in err
    assert main(["generate", "--model", str(path), "--seeds", "0", "--out", str(tmp_path), "--class", "1"]) == 2
    assert "unconditional" in capsys.readouterr().err


@pytest.mark.slow
def test_invert_writes_latents(tiny_pkl, tmp_path, capsys):
    from aufx.imageio import save_image

    generator, path = tiny_pkl
    z = torch.from_numpy(np.random.RandomState(77).randn(2, generator.z_dim)).float()
    with torch.no_grad():
        images = generator(z, truncation_psi=0.7)
    files = [save_image(images[i], tmp_path / f"face{i}.png") for i in range(2)]
    out = tmp_path / "lat.npz"
    argv = ["invert", *map(str, files), "--model", str(path), "--out", str(out), "--steps", "3", "--wplus"]
    assert main(argv) == 0
    data = np.load(out)
    assert data["w"].shape == (2, generator.num_ws, generator.w_dim) and data["w"].dtype == np.float32
    assert list(data["names"]) == [str(f) for f in files] and data["psnr"].shape == (2,)
    assert "PSNR" in capsys.readouterr().out
    assert main(["invert", str(files[0]), "--model", str(path), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["invert", str(tmp_path / "nope.png"), "--model", str(path), "--out", str(out)]) == 2
    assert "nope.png: no such image file" in capsys.readouterr().err


@pytest.mark.slow
def test_invert_with_analyzer_features(tiny_pkl, tmp_path, capsys):
    from aufx.au.model import FaceAnalyzer
    from aufx.imageio import save_image

    generator, path = tiny_pkl
    torch.manual_seed(0)
    analyzer_path = FaceAnalyzer().save(tmp_path / "analyzer.pt")
    with torch.no_grad():
        image = generator(torch.zeros(1, generator.z_dim))[0]
    face = save_image(image, tmp_path / "face.png")
    out = tmp_path / "lat.npz"
    base = ["invert", str(face), "--model", str(path), "--out", str(out), "--steps", "2"]
    assert main([*base, "--analyzer", str(analyzer_path)]) == 0
    assert np.load(out)["w"].shape == (1, generator.num_ws, generator.w_dim)
    assert main([*base, "--features", "analyzer", "--analyzer", str(tmp_path / "none.pt")]) == 2
    assert "none.pt: analyzer weights not found" in capsys.readouterr().err
