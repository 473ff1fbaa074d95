"""The trainer on a tiny network and random data: losses finite, checkpoint/resume exact, export loads."""

import numpy as np
import pytest
import torch

from aufx.gan.checkpoint import load_aufx
from aufx.gan.trainer import GeneratorTrainer, TrainConfig

TINY = dict(resolution=16, channel_base=128, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2, batch=4,
            log_every=1, r1_interval=2)  # fmt: skip


def _source(batch: int, rng: np.random.Generator) -> torch.Tensor:
    return torch.from_numpy(rng.uniform(-1, 1, size=(batch, 3, 16, 16)).astype(np.float32))


def test_steps_change_weights_and_log(tmp_path):
    trainer = GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    trainer.run(total_kimg=0.012, progress=False)  # 3 steps
    assert trainer.step == 3 and trainer.nimg == 12
    changed = [k for k, v in trainer.G.state_dict().items() if not torch.equal(v, before[k])]
    assert "synthesis.b16.conv1.weight" in changed and "mapping.w_avg" in changed
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 3 and "loss_G" in lines[0] and "r1" in lines[0]
    assert (tmp_path / "state.pt").is_file()


def test_resume_continues_exactly(tmp_path):
    straight = GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path / "a")
    straight.run(total_kimg=0.016, progress=False)

    first = GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path / "b")
    first.run(total_kimg=0.008, progress=False)
    resumed = GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path / "b")
    assert resumed.load_state() and resumed.step == 2
    resumed.run(total_kimg=0.016, progress=False)
    for key, value in straight.G_ema.state_dict().items():
        torch.testing.assert_close(resumed.G_ema.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)


def test_export_is_loadable_aufx_file(tmp_path):
    trainer = GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path)
    trainer.run(total_kimg=0.004, progress=False)
    generator, metadata = load_aufx(trainer.export(tmp_path / "g.pt", {"command": "x"}))
    z = torch.randn(2, 16)
    torch.testing.assert_close(generator(z), trainer.G_ema(z), rtol=0, atol=0)
    assert metadata["steps"] == 1 and metadata["command"] == "x"
    assert set(metadata["discriminator_fp16"]) == set(trainer.D.state_dict())


def test_resume_refuses_a_different_architecture(tmp_path):
    GeneratorTrainer(TrainConfig(**TINY), _source, tmp_path).save_state()
    other = GeneratorTrainer(TrainConfig(**{**TINY, "channel_max": 8}), _source, tmp_path)
    with pytest.raises(ValueError, match="channel_max=16"):
        other.load_state()
