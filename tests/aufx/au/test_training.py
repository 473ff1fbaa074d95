"""The analyzer trainer: steps, checkpoints, resume, export, CLI errors."""

from __future__ import annotations

import pytest
import torch

from aufx.au import FaceAnalyzer
from aufx.au.data import augment, eval_set, paired_batch
from aufx.au.training import AnalyzerTrainer, TrainConfig
from aufx.cli import main

TINY = {"channels": (4, 8, 8, 8), "hidden": 8, "embedding": 8, "pyramid": 4}


def tiny_trainer(tmp_path, steps=2):
    from aufx.au.model import AnalyzerConfig

    config = TrainConfig(steps=steps, batch=4, warmup=1, checkpoint_minutes=60)
    return AnalyzerTrainer(config, tmp_path / "state", model_config=AnalyzerConfig(**TINY))


def test_paired_batches_share_identities_and_are_deterministic():
    a = paired_batch(6, seed=3)
    b = paired_batch(6, seed=3)
    assert torch.equal(a.images, b.images)
    assert torch.equal(a.identity[:3], a.identity[3:])
    assert not torch.equal(a.aus[:3], a.aus[3:])
    assert a.pair.tolist() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="batch_size must be an even number >= 2, got 5"):
        paired_batch(5, seed=0)


def test_eval_set_differs_from_training_batches():
    assert not torch.equal(eval_set(4, seed=0).aus, paired_batch(4, seed=0).aus)


def test_augment_keeps_range_and_moves_parts_with_images():
    batch = paired_batch(4, seed=1)
    images, parts = augment(batch.images, batch.parts, torch.Generator().manual_seed(0))
    assert images.shape == batch.images.shape and images.min() >= -1 and images.max() <= 1
    assert parts.shape == batch.parts.shape and parts.dtype == torch.int64


@pytest.mark.slow
def test_train_checkpoint_resume_and_export(tmp_path):
    trainer = tiny_trainer(tmp_path, steps=2)
    trainer.run(log_every=1)
    assert trainer.step == 2 and trainer.state_path.is_file()
    assert "step 2" in trainer.log_path.read_text()
    resumed = tiny_trainer(tmp_path, steps=3)
    assert resumed.load_state() and resumed.step == 2
    resumed.run(log_every=1)
    assert resumed.step == 3
    path = resumed.export(tmp_path / "a.pt", {"command": "test"})
    model = FaceAnalyzer.load(path)
    assert model.metadata["steps"] == 3 and model.config.channels == (4, 8, 8, 8)


def test_learning_rate_warms_up_and_decays(tmp_path):
    trainer = tiny_trainer(tmp_path, steps=100)
    trainer.config.warmup = 10
    assert trainer.learning_rate(0) < trainer.learning_rate(9)
    trainer.step = 90
    assert trainer.learning_rate(90) < 0.2 * trainer.config.lr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "-1"], "--steps must be >= 0, got -1"),
        (["--batch", "7"], "--batch must be an even number >= 4, got 7"),
        (["--budget-minutes", "0"], "--budget-minutes must be > 0, got 0.0"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--readout-faces", "1"], "--readout-faces must be 0 or >= 2, got 1"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, args, message):
    assert main(["train", "analyzer", "--state-dir", str(tmp_path), *args]) == 2
    assert capsys.readouterr().err.strip() == f"aufx: error: {message}"


def test_cli_export_without_checkpoint_is_an_error(tmp_path, capsys):
    assert main(["train", "analyzer", "--steps", "0", "--state-dir", str(tmp_path / "empty")]) == 2
    assert "no checkpoint to export" in capsys.readouterr().err


def test_linear_readout_fits_and_round_trips(tmp_path):
    from aufx.au.model import AnalyzerConfig
    from aufx.au.readout import fit_linear_readout

    model = FaceAnalyzer(AnalyzerConfig(**TINY)).eval()
    fitted = fit_linear_readout(model, n=24, batch=12, ridge=1.0)
    assert fitted.config.au_readout == "linear" and model.config.au_readout == "mlp"
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    again = FaceAnalyzer.load(fitted.save(tmp_path / "r.pt", fitted.metadata))
    assert again.config.au_readout == "linear"
    # weights other than the read-out are stored in fp16
    assert torch.allclose(again(x).aus, fitted(x).aus, rtol=0.05, atol=0.1)
    with pytest.raises(ValueError, match="n and batch must be >= 2"):
        fit_linear_readout(model, n=1)
