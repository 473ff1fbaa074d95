"""Smoke training: every trainer runs steps on a tiny SynthFACS pool, checkpoints, resumes exactly, exports."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aufx.cli import main
from baselines.cascade_efgan import CascadeEFGAN, CascadeEFGANConfig, CascadeEFGANTrainer
from baselines.data import FacePool, build_pool, sample_emotion_aus
from baselines.ganimation import GANimation, GANimationConfig, GANimationTrainer
from baselines.stargan import StarGAN, StarGANConfig, StarGANTrainer
from baselines.training import TrainSettings, model_card

CONFIGS = {
    "stargan": StarGANConfig(image_size=16, g_conv_dim=4, g_repeat_num=1, d_conv_dim=4, d_repeat_num=3),
    "ganimation": GANimationConfig(image_size=16, g_conv_dim=4, g_repeat_num=1, d_conv_dim=4, d_repeat_num=3),
    "cascade-efgan": CascadeEFGANConfig(image_size=16, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=2,
                                        d_conv_dim=4, d_repeat_num=3),
}  # fmt: skip
TRAINERS = {"stargan": StarGANTrainer, "ganimation": GANimationTrainer, "cascade-efgan": CascadeEFGANTrainer}
ADAPTERS = {"stargan": StarGAN, "ganimation": GANimation, "cascade-efgan": CascadeEFGAN}


def _settings(**kw):
    return TrainSettings(**{"batch": 4, "n_critic": 2, "log_every": 1, **kw})


def test_pool_labels_follow_the_prototypes(tiny_pool_path):
    pool = FacePool(tiny_pool_path)
    assert len(pool) == 24 and pool.size == 16
    labelled = pool.labels >= 0
    assert labelled.sum() == 12
    neutral = pool.labels == 5
    assert torch.all(pool.aus[neutral] == 0)
    aus, labels = sample_emotion_aus(200, np.random.default_rng(1))
    happy = aus[labels == 4]
    assert np.all(happy[:, 4] > 0) and np.all(happy[:, 8] > 0) and np.all(np.delete(happy, [4, 8], axis=1) == 0)


@pytest.mark.parametrize("method", list(TRAINERS))
def test_trainer_steps_checkpoint_and_export(method, tiny_pool_path, tmp_path, images16):
    pool = FacePool(tiny_pool_path, labelled_only=method == "stargan")
    trainer = TRAINERS[method](CONFIGS[method], state_dir=tmp_path / "state", settings=_settings(), pool=pool)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    trainer.run(max_steps=2)
    assert trainer.step == 2 and (tmp_path / "state" / "state.pt").is_file()
    log = [json.loads(line) for line in (tmp_path / "state" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2] and "G/total" in log[1] and np.isfinite(log[1]["D/total"])
    assert any(not torch.equal(v, before[k]) for k, v in trainer.G.state_dict().items())
    path = trainer.export(tmp_path / f"{method}.pt", command="test")
    card = path.with_suffix(".md").read_text()
    assert "steps: 2" in card and "reproduce: `test`" in card
    adapter = ADAPTERS[method]().load(path)
    trainer.G.eval()
    assert adapter.image_size == 16
    if method == "stargan":
        with torch.no_grad():
            expected = trainer.G(images16, torch.eye(8)[[4, 4, 4]])
        torch.testing.assert_close(adapter.edit(images16, "happy"), expected.clamp(-1, 1))
    elif method == "ganimation":
        torch.testing.assert_close(adapter.edit(images16, torch.zeros(16)), trainer.G.edit(images16, torch.zeros(3, 17)).detach().clamp(-1, 1))
    else:
        assert adapter.critic is not None and adapter.edit(images16, torch.zeros(16)).shape == images16.shape


def test_resume_continues_exactly(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    straight = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    straight.run(max_steps=4)
    first = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    first.run(max_steps=2)
    resumed = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    assert resumed.load_state() and resumed.step == 2
    resumed.run(max_steps=4)
    for key, value in straight.G.state_dict().items():
        torch.testing.assert_close(resumed.G.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)
    other = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    with pytest.raises(ValueError, match="does not match this trainer"):
        other.load_state()


def test_a_resumed_run_may_change_the_schedule_and_the_card_records_it(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    first = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", settings=_settings(), pool=pool)
    first.run(max_steps=2)
    again = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", settings=_settings(), pool=pool)
    assert again.load_state() and len(again.schedule) == 1  # same settings: one phase
    faster = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool,
                               settings=_settings(n_critic=1, lr_g=3e-4))  # fmt: skip
    assert faster.load_state()
    assert [p["n_critic"] for p in faster.schedule] == [2, 1] and faster.schedule[1]["from_step"] == 2
    assert faster.opt_g.param_groups[0]["lr"] == 3e-4  # the new rate wins over the saved optimiser's
    updates = []
    faster.opt_g.step = lambda *a, **k: updates.append(1)  # type: ignore[method-assign]
    faster.run(max_steps=5)
    assert len(updates) == 3  # a generator step at every critic step
    card = faster.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "steps 0–2: generator every 2 critic steps" in card and "steps 2–5: generator every 1" in card
    assert "lr G 0.0003" in card


def test_validation_every_k_steps_does_not_depend_on_the_clock(tiny_pool_path, tmp_path):
    trainer = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=FacePool(tiny_pool_path),
                                settings=_settings(checkpoint_seconds=1e9))  # fmt: skip
    seen = []

    def validate(t):  # type: ignore[no-untyped-def]
        seen.append(t.step)
        assert (tmp_path / "s" / "state.pt").is_file()  # a checkpoint comes first
        return t.step >= 4

    trainer.run(max_steps=7, validate=validate, validate_every=2)
    assert seen == [2, 4] and trainer.converged and trainer.step == 4
    with pytest.raises(ValueError, match="validate_every must be >= 1"):
        trainer.run(max_steps=8, validate=validate, validate_every=0)


def test_reproduce_gives_one_call_per_schedule_phase():
    from baselines.train_cli import reproduce

    assert reproduce("stargan", 40, 1) == "aufx train stargan --budget-minutes 40 --threads 1 --seed 0 --export baselines/weights/stargan.pt"
    phases = [{"from_step": 0, "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4}, {"from_step": 1023, "n_critic": 1, "lr_g": 1e-4, "lr_d": 1e-4}]
    calls = reproduce("stargan", 300, 1, 128, 32, phases, 2000).split(" && ")
    assert len(calls) == 2 and all(c.startswith("aufx train stargan --size 128 --conv-dim 32 --n-critic") for c in calls)
    assert "--n-critic 5" in calls[0] and "--max-steps 1023" in calls[0] and "--export" not in calls[0]
    assert "--n-critic 1" in calls[1] and "--max-steps 2000" in calls[1] and calls[1].endswith("--export baselines/weights/stargan.pt")
    assert "--bf16" not in calls[0] and "--bf16" in reproduce("stargan", 1, 1, 128, 32, [{**phases[1], "bf16": True}], 5)
    assert "--g-ema 0.99 --budget-minutes 1" in reproduce("stargan", 1, 1, 128, 32, [{**phases[0], "g_ema": 0.99}], 5)


def test_bf16_autocast_trains_close_to_float32_and_is_on_the_schedule(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path, labelled_only=True)
    runs = {}
    for bf16 in (False, True):
        trainer = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / str(bf16), pool=pool,
                                 settings=_settings(n_critic=1, bf16=bf16))  # fmt: skip
        runs[bf16] = [trainer.train_step() for _ in range(3)]
        assert trainer.schedule[0]["bf16"] is bf16
    for fp32, bf16 in zip(runs[False], runs[True], strict=True):
        assert fp32.keys() == bf16.keys()
        for key in fp32:  # same start, same batches: bf16 rounding only
            assert abs(fp32[key] - bf16[key]) <= 0.05 * abs(fp32[key]) + 0.05, key
    trainer.save_state()
    resumed = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "True", pool=pool, settings=_settings(n_critic=1))
    assert resumed.load_state() and [p["bf16"] for p in resumed.schedule] == [True, False]
    card = resumed.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "steps 0–3: generator every 1 critic steps, lr G 0.0001, lr D 0.0001, bfloat16 autocast" in card


@pytest.mark.parametrize("method", ["ganimation", "cascade-efgan", "stargan"])
def test_a_new_training_can_start_from_an_exported_bundle(method, tiny_pool_path, tmp_path):
    from baselines.checkpoints import CheckpointError

    pool = FacePool(tiny_pool_path, labelled_only=TRAINERS[method].labelled_only)
    first = TRAINERS[method](CONFIGS[method], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    first.run(max_steps=2)
    bundle = first.export(tmp_path / "g.pt")
    fresh = TRAINERS[method](CONFIGS[method], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    fresh.init_from(bundle)
    for key, value in first.G.state_dict().items():
        torch.testing.assert_close(fresh.G.state_dict()[key], value, msg=key)
    with_critic = method != "ganimation"  # Cascade EF-GAN (AU head) and StarGAN bundle the critic; GANimation (11 M) does not
    same_d = all(torch.equal(fresh.D.state_dict()[k], v) for k, v in first.D.state_dict().items())
    assert same_d is with_critic
    assert fresh.step == first.step == 2 and fresh.elapsed == pytest.approx(first.elapsed, abs=0.1)
    assert len(fresh.schedule) == 2 and fresh.schedule[-1]["from_step"] == 2  # the count goes on
    assert fresh.schedule[-1]["init_from"].startswith("g.pt (generator")
    fresh.run(max_steps=3)
    card = fresh.export(tmp_path / "h.pt").with_suffix(".md").read_text()
    assert "- steps: 3 " in card and "- initialised from: g.pt" in card and "at step 2" in card
    assert ("fresh critic" in card) is not with_critic
    other = dataclasses.replace(CONFIGS[method], c_dim=CONFIGS[method].c_dim + 1)
    with pytest.raises(CheckpointError, match="differs from this trainer"):
        TRAINERS[method](other, state_dir=tmp_path / "c", settings=_settings(), pool=pool).init_from(bundle)


def test_a_moving_average_of_the_generator_is_kept_resumed_exported_and_on_the_card(tiny_pool_path, tmp_path):
    from baselines.checkpoints import read_torch_file
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path)
    trainer = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool,
                                settings=_settings(n_critic=1, g_ema=0.5))  # fmt: skip
    assert trainer.exported_G is trainer.G_ema
    for _ in range(2):  # a generator step at every critic step: ema <- (ema + G) / 2
        before = {k: v.clone() for k, v in trainer.G_ema.state_dict().items()}
        trainer.train_step()
        for key, value in trainer.G_ema.named_parameters():
            torch.testing.assert_close(value, 0.5 * before[key] + 0.5 * trainer.G.state_dict()[key], msg=key)
    assert any(not torch.equal(v, trainer.G.state_dict()[k]) for k, v in trainer.G_ema.state_dict().items())
    trainer.save_state()
    resumed = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool, settings=_settings(n_critic=1, g_ema=0.5))
    assert resumed.load_state() and len(resumed.schedule) == 1
    for key, value in trainer.G_ema.state_dict().items():
        assert torch.equal(resumed.G_ema.state_dict()[key], value), key
    exported = read_torch_file(resumed.export(tmp_path / "g.pt"))["state_dict"]
    for key, value in trainer.G_ema.state_dict().items():  # the average is what gets exported, not G
        assert torch.equal(exported[key], value), key
    card = (tmp_path / "g.md").read_text()
    assert "weights averaged (EMA decay 0.5 per generator step)" in card
    assert "--g-ema 0.5" in reproduce("ganimation", 1, 1, 16, 4, [*resumed.schedule, {**resumed.schedule[0], "from_step": 2, "g_ema": 0.0}], 3)
    plain = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool, settings=_settings(n_critic=1))
    assert plain.load_state() and plain.G_ema is None and plain.exported_G is plain.G
    assert [p["g_ema"] for p in plain.schedule] == [0.5, 0.0]  # switching it off is a new phase


def test_a_moving_average_started_on_a_state_without_one_begins_at_the_generator(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool, settings=_settings()).run(max_steps=2)
    averaged = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", pool=pool, settings=_settings(g_ema=0.99))
    assert averaged.load_state() and [p["g_ema"] for p in averaged.schedule] == [0.0, 0.99]
    for key, value in averaged.G.state_dict().items():
        assert torch.equal(averaged.G_ema.state_dict()[key], value), key
    with pytest.raises(ValueError, match=r"g_ema \(--g-ema\) must be in \[0, 1\), got 1.0"):
        GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "t", pool=pool, settings=_settings(g_ema=1.0))


def test_adapter_train_entry_point(tiny_pool_path, tmp_path, images16):
    adapter = StarGAN(CONFIGS["stargan"])
    trainer = adapter.train(state_dir=tmp_path / "s", settings=_settings(), pool=FacePool(tiny_pool_path, labelled_only=True),
                            max_steps=2)  # fmt: skip
    assert trainer.step == 2 and adapter.weights_source.startswith("trained (2 steps")
    assert adapter.edit(images16, "sad").shape == images16.shape
    loaded = StarGAN().load(trainer.export(tmp_path / "g.pt"))  # the bundle carries the critic too; the adapter takes G
    assert "critic" in torch.load(tmp_path / "g.pt", weights_only=False)["extra"]
    assert torch.equal(loaded.edit(images16, "sad"), adapter.edit(images16, "sad"))


def test_a_large_stargan_critic_stays_out_of_the_bundle(tiny_pool_path, tmp_path, monkeypatch):
    from baselines import stargan

    trainer = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "s", settings=_settings(),
                             pool=FacePool(tiny_pool_path, labelled_only=True))  # fmt: skip
    n_critic = sum(p.numel() for p in trainer.D.parameters())
    monkeypatch.setattr(stargan, "BUNDLED_CRITIC_MAX_PARAMETERS", n_critic - 1)
    assert "critic" not in torch.load(trainer.export(tmp_path / "big.pt"), weights_only=False)["extra"]
    monkeypatch.setattr(stargan, "BUNDLED_CRITIC_MAX_PARAMETERS", n_critic)
    assert "critic" in torch.load(trainer.export(tmp_path / "small.pt"), weights_only=False)["extra"]


def test_cli_trains_resumes_and_exports(tmp_path, capsys):
    args = ["train", "ganimation", "--size", "16", "--conv-dim", "4", "--batch", "4", "--pool-faces", "12",
            "--data-dir", str(tmp_path / "data"), "--state-dir", str(tmp_path / "state"), "--threads", "1"]  # fmt: skip
    assert main([*args, "--max-steps", "2"]) == 0
    assert main([*args, "--max-steps", "3", "--export", str(tmp_path / "g.pt"), "--notes", "Width 4 for a test."]) == 0
    out = capsys.readouterr().out
    assert "resumed" in out and "ganimation: 3 steps" in out
    assert GANimation().load(tmp_path / "g.pt").config.g_conv_dim == 4
    stored = torch.load(tmp_path / "g.pt", weights_only=True)
    assert stored["state_dict"]["main.0.weight"].dtype == torch.float16  # bundled files are half size
    assert "float16" in (tmp_path / "g.md").read_text() and "Width 4 for a test." in (tmp_path / "g.md").read_text()
    assert main(["train", "stargan", "--budget-minutes", "-1"]) == 2
    fresh = [a if a != str(tmp_path / "state") else str(tmp_path / "fresh") for a in args]
    assert main([*fresh, "--max-steps", "1", "--init-from", str(tmp_path / "g.pt")]) == 0
    assert "started from" in capsys.readouterr().out
    assert main([*args, "--n-critic", "0"]) == 2
    assert "--n-critic must be >= 1" in capsys.readouterr().err


def test_cli_until_converged_validates_at_checkpoints_and_exports_the_best(tmp_path, capsys):
    from baselines.validation import best_index, read_history

    state = tmp_path / "state"
    args = ["train", "stargan", "--size", "16", "--conv-dim", "4", "--batch", "4", "--pool-faces", "12",
            "--data-dir", str(tmp_path / "data"), "--state-dir", str(state), "--threads", "1",
            "--checkpoint-minutes", "0", "--until-converged", "--patience", "2", "--min-delta", "0.5",
            "--val-faces", "7", "--max-steps", "6", "--export", str(tmp_path / "g.pt")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    history = read_history(state / "val.jsonl")
    # a validation after every step's checkpoint; two without a 50 % gain end it at step 3
    assert [h["step"] for h in history] == [1, 2, 3] and "converged at step 3" in out
    assert {"ideal_l1", "au_error", "emotion_accuracy", "fd_generated"} <= set(history[0])
    best = history[best_index(history)]
    assert f"best validated generator: step {best['step']}, ideal_l1 {best['ideal_l1']:.4f}" in out
    card = (tmp_path / "g.md").read_text()  # describes the exported checkpoint, not the last step
    assert f"step {best['step']} of 3 trained" in card and f"- steps: {best['step']} " in card
    assert "--size 16 --conv-dim 4" in card
    assert main(args) == 0 and "converged already" in capsys.readouterr().out
    assert len(read_history(state / "val.jsonl")) == 3  # nothing trained or logged


@pytest.mark.slow
def test_critic_learns_the_aus(tmp_path):
    """30 steps on a 64-face pool: the critic's AU regression loss on real faces falls."""
    path = build_pool(tmp_path, n=64, size=16, seed=1)
    trainer = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s",
                                settings=_settings(batch=8, log_every=1), pool=FacePool(path))  # fmt: skip
    trainer.run(max_steps=40)
    rows = [json.loads(line) for line in (tmp_path / "s" / "log.jsonl").read_text().splitlines()]
    first, last = np.mean([r["D/au"] for r in rows[:8]]), np.mean([r["D/au"] for r in rows[-8:]])
    assert last < first, (first, last)


def test_an_exported_bundle_carries_its_validation_log_up_to_its_step(tiny_pool_path, tmp_path):
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=FacePool(tiny_pool_path))
    trainer.run(max_steps=2)
    log = [{"step": 1, "elapsed_s": 0.5, "ideal_l1": 0.2}, {"step": 2, "elapsed_s": 1.25, "ideal_l1": 0.1},
           {"step": 3, "elapsed_s": 2.0, "ideal_l1": 0.3}]  # fmt: skip
    bundle = trainer.export(tmp_path / "g.pt", step=2, validations=log)
    fresh = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "b", settings=_settings(), pool=FacePool(tiny_pool_path))
    metadata = fresh.init_from(bundle)
    assert [row["step"] for row in metadata["validations"]] == [1, 2]  # none after the exported step
    assert fresh.step == 2 and fresh.elapsed == 1.25  # the training time at that step, not at the export


def test_the_cli_goes_on_from_a_bundle_with_its_step_count_and_validation_log(tiny_pool_path, tmp_path):
    from aufx.cli import main
    from baselines.validation import read_history

    common = ["--size", "16", "--conv-dim", "4", "--pool-faces", "24", "--data-dir", str(Path(tiny_pool_path).parent),
              "--threads", "1", "--batch", "4", "--until-converged", "--validate-every", "2", "--val-faces", "4"]  # fmt: skip
    first = tmp_path / "first.pt"
    assert main(["train", "ganimation", *common, "--state-dir", str(tmp_path / "a"), "--max-steps", "4",
                 "--budget-minutes", "5", "--export", str(first)]) == 0  # fmt: skip
    exported_log = read_history(tmp_path / "a" / "val.jsonl")
    assert [row["step"] for row in exported_log] == [2, 4]
    second = tmp_path / "second.pt"
    assert main(["train", "ganimation", *common, "--state-dir", str(tmp_path / "b"), "--init-from", str(first),
                 "--critic-warmup", "0", "--max-steps", "6", "--budget-minutes", "5", "--export", str(second)]) == 0  # fmt: skip
    best_step = torch.load(first, weights_only=False)["metadata"]["steps"]
    log = read_history(tmp_path / "b" / "val.jsonl")
    assert [row for row in log if row["step"] <= best_step] == [row for row in exported_log if row["step"] <= best_step]
    assert log[-1]["step"] == 6  # validated at the next multiple of 2 after the bundle's step, counting on
    # the schedule records the start from the bundle (the card of an export past that step shows it;
    # the export here is the best validated step, which may be the bundle's own)
    phases = json.loads(torch.load(tmp_path / "b" / "state.pt", weights_only=False)["schedule"])
    started = [phase for phase in phases if phase.get("init_from")]
    assert [(p["init_from"], p["from_step"]) for p in started] == [(f"first.pt (generator, step {best_step})", best_step)]
    assert model_card("ganimation", {"image_size": 16}, {**torch.load(second, weights_only=False)["metadata"],
                                                        "schedule": phases, "steps": 6}).count(
        f"initialised from: first.pt (generator, step {best_step}) at step {best_step}") == 1  # fmt: skip
    # without --critic-warmup, a bundle with no critic gets 200 critic-only steps first
    assert main(["train", "ganimation", *common, "--state-dir", str(tmp_path / "c"), "--init-from", str(first),
                 "--max-steps", str(best_step + 1), "--budget-minutes", "5"]) == 0  # fmt: skip
    schedule = json.loads(torch.load(tmp_path / "c" / "state.pt", weights_only=False)["schedule"])
    assert schedule[-1]["critic_only_until"] == best_step + 200


def _exported_tiny_run(tiny_pool_path: str, tmp_path: Path) -> tuple[list[str], Path]:
    """Train a tiny GANimation 2 steps through the CLI (state in tmp_path/a) and export it to
    tmp_path/g.pt; returns the CLI arguments that name that training, and the bundle."""
    from aufx.cli import main

    common = ["--size", "16", "--conv-dim", "4", "--pool-faces", "24", "--data-dir", str(Path(tiny_pool_path).parent),
              "--threads", "1", "--batch", "4", "--until-converged", "--validate-every", "2", "--val-faces", "4",
              "--state-dir", str(tmp_path / "a")]  # fmt: skip
    bundle = tmp_path / "g.pt"
    assert main(["train", "ganimation", *common, "--max-steps", "2", "--budget-minutes", "5", "--export", str(bundle)]) == 0
    return common, bundle


def test_export_if_better_replaces_only_weights_that_lose_on_more_measures(tiny_pool_path, tmp_path, monkeypatch):
    import baselines.validation as validation
    from aufx.cli import main

    common, bundle = _exported_tiny_run(tiny_pool_path, tmp_path)
    first = bundle.read_bytes()
    perfect = {"ideal_l1": 0.0, "au_error": 0.0, "noise_ratio": 1.0, "emotion_accuracy": 1.0, "high_freq_ratio": 1.0}
    monkeypatch.setattr(validation, "validate", lambda *a, **k: perfect)  # the file there scores best on everything
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert bundle.read_bytes() == first  # kept
    awful = {"ideal_l1": 9.0, "au_error": 9.0, "noise_ratio": 99.0, "emotion_accuracy": 0.0}
    monkeypatch.setattr(validation, "validate", lambda *a, **k: awful)
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert "replaced weights that scored ideal_l1 9.0000" in bundle.with_suffix(".md").read_text()
    assert main(["train", "ganimation", "--export-if-better", "--budget-minutes", "0"]) != 0  # needs --until-converged and --export


def test_compare_measures_counts_wins_and_losses_on_shared_measures():
    from baselines.validation import compare_measures

    better, worse = compare_measures({"ideal_l1": 0.1, "au_error": 0.5, "emotion_accuracy": 0.7, "noise_ratio": 2.0},
                                     {"ideal_l1": 0.2, "au_error": 0.4, "emotion_accuracy": 0.6})  # fmt: skip
    assert better == ["ideal_l1", "emotion_accuracy"] and worse == ["au_error"]  # noise_ratio: only one side has it
    # the bundle validated again inside a run: differences in the last digits are no verdict
    same = {"ideal_l1": 0.11096, "au_error": 0.45379, "emotion_accuracy": 0.85938, "noise_ratio": 7.15662}
    again = {"ideal_l1": 0.11097, "au_error": 0.45377, "emotion_accuracy": 0.85938, "noise_ratio": 7.15739}
    assert compare_measures(same, again) == ([], [])
    assert compare_measures({**same, "ideal_l1": 0.1090}, again) == (["ideal_l1"], [])  # 1.8 % better counts


def _decaying_run(pool: FacePool, state_dir: Path, decay_from: int, decay_end: int, steps: int) -> GANimationTrainer:
    """A tiny GANimation run of ``steps`` steps whose learning rates decay from ``decay_from`` to 0 at ``decay_end``."""
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=state_dir, settings=_settings(), pool=pool)
    trainer.run(max_steps=decay_from)
    trainer.start_decay(decay_end)
    trainer.run(max_steps=steps)
    return trainer


def test_a_linear_decay_takes_the_learning_rates_to_zero_and_survives_a_resume(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    trainer = _decaying_run(pool, tmp_path / "a", 4, 8, 6)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4 * (8 - 5) / 4)  # set before step 6 (index 5)
    resumed = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    assert resumed.load_state() and resumed.decay_end == 8
    resumed.run(max_steps=8)
    assert resumed.opt_d.param_groups[0]["lr"] == pytest.approx(1e-4 * 1 / 4)
    card = resumed.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "both decaying linearly to 0 at step 8" in card
    with pytest.raises(ValueError, match="must end after"):
        resumed.start_decay(8)
    blurred = dataclasses.replace(CONFIGS["ganimation"], upsample_blur=True)
    ended = TRAINERS["ganimation"](blurred, state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    assert ended.load_state() and ended.decay_end == 8 and ended.opt_g.param_groups[0]["lr"] == 0.0  # ended: stays at 0


def test_a_setting_changed_during_a_decay_goes_on_with_the_decay_at_its_slope(tiny_pool_path, tmp_path):
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path)
    _decaying_run(pool, tmp_path / "a", 2, 10, 4)
    blurred = dataclasses.replace(CONFIGS["ganimation"], upsample_blur=True)
    changed = TRAINERS["ganimation"](blurred, state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    assert changed.load_state() and changed.decay_end == 10
    assert changed.schedule[-1]["from_step"] == 4 and changed.schedule[-1]["decay_start"] == 2
    assert changed.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4 * (10 - 4) / 8)  # not back at 1e-4
    changed.start_decay(10)  # what the reproduce command's --decay-until does on resuming: nothing new
    assert len(changed.schedule) == 3
    calls = reproduce("ganimation", 1, 1, 16, 4, changed.schedule, 6).split(" && ")
    assert "--upsample-blur" in calls[-1] and "--decay-until 10" in calls[-1]


def test_a_training_started_from_a_bundle_written_in_its_decay_goes_on_decaying(tiny_pool_path, tmp_path, capsys):
    # a new machine starts from the bundle: until 2026-12-08 the new phase dropped the decay and the
    # run trained on at full rates past the decay's end (StarGAN, steps 7,500-9,300)
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path)
    bundle = _decaying_run(pool, tmp_path / "a", 2, 10, 4).export(tmp_path / "g.pt")
    fresh = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    fresh.init_from(bundle)
    assert fresh.decay_end == 10 and fresh.schedule[-1]["decay_start"] == 2 and "init_from" in fresh.schedule[-1]
    fresh.run(max_steps=6)
    assert fresh.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4 * (10 - 5) / 8)  # on the old slope, not back at 1e-4
    assert "--decay-until 10" in reproduce("ganimation", 1, 1, 16, 4, fresh.schedule, 6).split(" && ")[-1]
    plain = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "c", settings=_settings(), pool=pool)
    plain.init_from(TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "d", settings=_settings(),
                                           pool=pool).export(tmp_path / "plain.pt"))  # fmt: skip
    assert plain.decay_end is None  # no decay in the bundle: none after it
    dropped = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "e", settings=_settings(), pool=pool)
    dropped.init_from(bundle, keep_decay=False)  # --no-decay: what every start from a bundle did until 2026-12-08
    assert dropped.decay_end is None
    dropped.run(max_steps=5)
    assert dropped.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4)
    calls = reproduce("ganimation", 1, 1, 16, 4, dropped.schedule, 5).split(" && ")
    assert calls[-1].count("--no-decay") == 1 and "--decay-until" not in calls[-1]  # the card reproduces it
    assert "--no-decay" not in reproduce("ganimation", 1, 1, 16, 4, fresh.schedule, 6)
    assert main(["train", "ganimation", "--no-decay", "--state-dir", str(tmp_path / "f"), "--budget-minutes", "0"]) == 2
    assert "--no-decay needs --init-from" in capsys.readouterr().err


def test_decay_on_plateau_starts_a_decay_over_half_the_steps_and_stops_at_its_end(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    calls = []

    def plateau_from_step_4(t):  # the stopping rule fires at every validation from step 4 on
        calls.append(t.step)
        return t.step >= 4

    trainer.run(max_steps=100, validate=plateau_from_step_4, validate_every=2, decay_on_plateau=True)
    assert trainer.schedule[-1]["from_step"] == 4 and trainer.decay_end == 6  # 4 + 4 // 2
    assert trainer.converged and trainer.step == 6 and calls == [2, 4, 6]
    plain = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    plain.run(max_steps=100, validate=plateau_from_step_4, validate_every=2)
    assert plain.converged and plain.step == 4 and plain.decay_end is None


def test_reproduce_gives_the_decay_phase_its_end():
    from baselines.train_cli import reproduce

    schedule = [{"from_step": 0, "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4},
                {"from_step": 100, "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4, "decay_end": 150}]  # fmt: skip
    command = reproduce("ganimation", schedule=schedule, final_step=150)
    first, second = command.split(" && ")
    assert "--decay-until" not in first and "--decay-until 150 " in second and "--max-steps 150" in second


def test_a_critic_warm_up_freezes_the_generator_and_is_on_the_card(tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    trainer.run(max_steps=2)
    trainer.warm_up_critic(4)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    critic_before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    validated = []

    def validate(t):
        validated.append(t.step)
        return False

    trainer.run(max_steps=6, validate=validate, validate_every=2)  # n_critic 2: two generator steps would have come
    assert all(torch.equal(before[k], v) for k, v in trainer.G.state_dict().items())
    assert not all(torch.equal(critic_before[k], v) for k, v in trainer.D.state_dict().items())
    assert validated == []  # the frozen generator is not validated (it would eat the stopping rule's patience)
    trainer.run(max_steps=8, validate=validate, validate_every=2)
    assert validated == [8]
    assert not all(torch.equal(before[k], v) for k, v in trainer.G.state_dict().items())  # the generator trains again
    resumed = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    assert resumed.load_state() and resumed.critic_only_until == 6
    assert "critic only until step 6" in resumed.export(tmp_path / "g.pt").with_suffix(".md").read_text()


def test_export_if_better_breaks_a_tie_on_ideal_l1(tiny_pool_path, tmp_path, monkeypatch):
    import baselines.validation as validation
    from aufx.cli import main

    common, bundle = _exported_tiny_run(tiny_pool_path, tmp_path)
    best = torch.load(tmp_path / "a" / "best_G.pt", weights_only=False)
    assert (best["config"]["image_size"], best["config"]["g_conv_dim"]) == (16, 4)  # the checkpoint says what it is
    first = bundle.read_bytes()
    # the file there: worse ideal_l1, better AU error, the same emotion accuracy: one against one
    tie = {"ideal_l1": best["ideal_l1"] + 1, "au_error": 0.0, "emotion_accuracy": best["emotion_accuracy"]}
    monkeypatch.setattr(validation, "validate", lambda *a, **k: tie)
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert bundle.read_bytes() != first  # replaced: the tie goes to the better ideal_l1
    swapped = {**tie, "ideal_l1": 0.0, "au_error": best["au_error"] + 1}
    second = bundle.read_bytes()
    monkeypatch.setattr(validation, "validate", lambda *a, **k: swapped)  # now the file there has the better ideal_l1
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert bundle.read_bytes() == second  # kept


def test_export_if_better_replaces_weights_that_meet_fewer_goals_even_when_they_score_better(tiny_pool_path, tmp_path, monkeypatch):
    import baselines.validation as validation
    from aufx.cli import main

    common, bundle = _exported_tiny_run(tiny_pool_path, tmp_path)
    best_path = tmp_path / "a" / "best_G.pt"
    clean = {"ideal_l1": 0.02, "au_error": 0.38, "emotion_accuracy": 0.72, "noise_ratio": 1.0}  # two goals
    torch.save({**torch.load(best_path, weights_only=False), **clean}, best_path)
    first = bundle.read_bytes()
    noisy = {"ideal_l1": 0.019, "au_error": 0.32, "emotion_accuracy": 0.80, "noise_ratio": 2.1}  # better on three, one goal
    monkeypatch.setattr(validation, "validate", lambda *a, **k: noisy)
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert bundle.read_bytes() != first
    assert "it meets 2 of the goals validation measures where they met 1" in bundle.with_suffix(".md").read_text()
    second = bundle.read_bytes()
    monkeypatch.setattr(validation, "validate", lambda *a, **k: {**noisy, "noise_ratio": 1.4})  # as many goals, better on more
    assert main(["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle), "--export-if-better"]) == 0
    assert bundle.read_bytes() == second  # kept


def test_the_card_gives_the_training_time_to_the_exported_step():
    from baselines.training import training_time

    assert training_time({"train_seconds": 600.0, "steps": 10}) == "10.0 min (wall clock)"
    assert training_time({"train_seconds": 600.0, "train_seconds_at_step": 300.0, "steps": 5}) == (
        "5.0 min (wall clock) to step 5, 10.0 min in all")


def test_an_export_of_an_earlier_step_gives_the_losses_logged_up_to_it(tiny_pool_path, tmp_path):
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=FacePool(tiny_pool_path))
    trainer.run(max_steps=6)
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    at_3 = {k: v for r in rows if r["step"] <= 3 for k, v in r.items() if k not in ("step", "elapsed_s")}
    metadata = torch.load(trainer.export(tmp_path / "g.pt", step=3), weights_only=False)["metadata"]
    assert metadata["last_losses"] == at_3 and "G/total" in at_3  # the generator's terms of its last step before
    assert metadata["last_losses"] != torch.load(trainer.export(tmp_path / "h.pt"), weights_only=False)["metadata"]["last_losses"]


def test_an_export_at_a_step_whose_validation_came_without_a_time_keeps_the_trainers(tiny_pool_path, tmp_path):
    trainer = TRAINERS["ganimation"](CONFIGS["ganimation"], state_dir=tmp_path / "a", settings=_settings(), pool=FacePool(tiny_pool_path))
    trainer.run(max_steps=2)
    carried = [{"step": 2, "ideal_l1": 0.1, "from": "another machine's log"}]  # no elapsed_s
    metadata = torch.load(trainer.export(tmp_path / "g.pt", step=2, validations=carried), weights_only=False)["metadata"]
    assert metadata["train_seconds_at_step"] == metadata["train_seconds"] and metadata["validations"] == carried


def test_native_bf16_answers_with_onednn_s_check():
    """A plain bool (an earlier version returned a context manager, always true, so --bf16 was
    never ignored on CPUs without native bfloat16)."""
    from baselines.training import native_bf16

    answer = native_bf16()
    assert isinstance(answer, bool)
    assert answer is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@pytest.mark.parametrize("native", [False, True])
def test_bf16_is_used_only_where_the_cpu_has_it(tiny_pool_path, tmp_path, monkeypatch, capsys, native):
    import baselines.training

    monkeypatch.setattr(baselines.training, "native_bf16", lambda: native)
    args = ["train", "stargan", "--size", "16", "--conv-dim", "4", "--pool-faces", "24", "--data-dir",
            str(Path(tiny_pool_path).parent), "--threads", "1", "--batch", "4", "--max-steps", "1",
            "--budget-minutes", "5", "--state-dir", str(tmp_path / "s"), "--bf16"]  # fmt: skip
    assert main(args) == 0
    schedule = json.loads(torch.load(tmp_path / "s" / "state.pt", weights_only=False)["schedule"])
    assert schedule[-1]["bf16"] is native
    assert ("--bf16 ignored" in capsys.readouterr().err) is not native


def test_a_bundle_of_another_size_starts_the_generator_of_a_fully_convolutional_method(tiny_pool_path, tmp_path):
    from baselines.checkpoints import CheckpointError

    pool = FacePool(tiny_pool_path, labelled_only=True)
    small = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    small.run(max_steps=2)
    bundle = small.export(tmp_path / "s16.pt")
    bigger = dataclasses.replace(CONFIGS["stargan"], image_size=32, d_repeat_num=CONFIGS["stargan"].d_repeat_num + 1)
    large = StarGANTrainer(bigger, state_dir=tmp_path / "b", settings=_settings(), pool=pool)
    fresh_critic = {k: v.clone() for k, v in large.D.state_dict().items()}
    large.init_from(bundle)
    for key, value in small.G.state_dict().items():
        assert torch.equal(large.G.state_dict()[key], value), key
    assert all(torch.equal(fresh_critic[k], v) for k, v in large.D.state_dict().items())  # built for 32 px: kept fresh
    assert large.schedule[-1]["init_from"] == "s16.pt (generator of a 16 px bundle, step 2)"
    out = large.G(torch.zeros(1, 3, 32, 32), torch.zeros(1, bigger.c_dim))
    assert out.shape == (1, 3, 32, 32)  # fully convolutional: the 16 px weights run at 32 px
    wider = dataclasses.replace(bigger, g_conv_dim=CONFIGS["stargan"].g_conv_dim * 2)
    with pytest.raises(CheckpointError, match="differs from this trainer"):
        StarGANTrainer(wider, state_dir=tmp_path / "c", settings=_settings(), pool=pool).init_from(bundle)
    cascade = CascadeEFGANTrainer(CONFIGS["cascade-efgan"], state_dir=tmp_path / "d", settings=_settings(), pool=FacePool(tiny_pool_path))
    cascade.run(max_steps=1)
    other = dataclasses.replace(CONFIGS["cascade-efgan"], image_size=32)
    with pytest.raises(CheckpointError, match="cannot start a 32 px cascade-efgan training"):
        CascadeEFGANTrainer(other, state_dir=tmp_path / "e", settings=_settings(), pool=pool).init_from(cascade.export(tmp_path / "c.pt"))


def test_keep_notes_carries_the_hand_written_paragraph_and_not_the_generated_ones(tiny_pool_path, tmp_path, monkeypatch):
    import baselines.validation as validation
    from aufx.cli import main

    common, bundle = _exported_tiny_run(tiny_pool_path, tmp_path)
    export = ["train", "ganimation", *common, "--budget-minutes", "0", "--export", str(bundle)]
    assert main([*export, "--notes", "Width 4 for a test."]) == 0
    awful = {"ideal_l1": 9.0, "au_error": 9.0, "noise_ratio": 99.0, "emotion_accuracy": 0.0}
    monkeypatch.setattr(validation, "validate", lambda *a, **k: awful)  # the file there loses: each export replaces it
    for _ in range(2):
        assert main([*export, "--export-if-better", "--keep-notes"]) == 0
        card = bundle.with_suffix(".md").read_text()
        assert card.count("Width 4 for a test.") == 1
        assert card.count("The best validated checkpoint") == 1 and card.count("it replaced weights that scored") == 1
    assert main([*export, "--export-if-better", "--keep-notes", "--notes", "Blur from step 3."]) == 0
    card = bundle.with_suffix(".md").read_text()  # both: the kept paragraph, then the new one
    assert card.count("Width 4 for a test.") == 1 and card.index("Width 4 for a test.") < card.index("Blur from step 3.")
    assert main([*export, "--export-if-better", "--keep-notes", "--notes", "Blur from step 3."]) == 0
    assert bundle.with_suffix(".md").read_text().count("Blur from step 3.") == 1  # not added twice
    assert main([*export, "--notes", "New notes."]) == 0  # --notes alone replaces what the file had
    assert "Width 4" not in bundle.with_suffix(".md").read_text()


def test_author_notes_of_a_bundle_exported_before_they_were_stored():
    from baselines.training import author_notes

    notes = ("The best validated checkpoint (lowest rank sum): step 3 of 4 trained; ideal_l1 0.1.\n\n"
             "Width 4 for a test.\n\nSecond paragraph.\n\nOn the same held-out faces it replaced weights that scored x.")  # fmt: skip
    assert author_notes({"notes": notes}) == "Width 4 for a test.\n\nSecond paragraph."
    assert author_notes({"notes": notes, "author_notes": "Mine."}) == "Mine."
    assert author_notes({}) == ""


def test_a_resumed_run_may_switch_the_up_conv_blur_on_and_the_schedule_and_command_record_it(tiny_pool_path, tmp_path):
    from baselines.nets import BlurredConvTranspose2d
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path)
    first = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", settings=_settings(), pool=pool)
    first.run(max_steps=2)
    saved = torch.load(tmp_path / "s" / "state.pt", weights_only=False)
    del saved["config"]["upsample_blur"]  # a state written before the switch existed
    torch.save(saved, tmp_path / "s" / "state.pt")
    blurred_config = dataclasses.replace(CONFIGS["ganimation"], upsample_blur=True)
    again = GANimationTrainer(blurred_config, state_dir=tmp_path / "s", settings=_settings(), pool=pool)
    assert again.load_state() and again.step == 2
    assert [p.get("upsample_blur", False) for p in again.schedule] == [False, True] and again.schedule[1]["from_step"] == 2
    assert any(isinstance(m, BlurredConvTranspose2d) for m in again.G.modules())
    assert all(torch.equal(v, first.G.state_dict()[k]) for k, v in again.G.state_dict().items())  # the same weights
    again.run(max_steps=3)
    card = again.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "steps 2–3: generator every 2 critic steps, lr G 0.0001, lr D 0.0001, up-convs blurred" in card
    calls = reproduce("ganimation", 1, 1, 16, 4, again.schedule, 3).split(" && ")
    assert "--upsample-blur" not in calls[0] and "--upsample-blur" in calls[1]
    assert GANimation().load(tmp_path / "g.pt").config.upsample_blur  # the adapter builds it blurred
    assert "added to the paper's generator (`upsample_blur`)" in card
    assert "added to the paper's generator" not in first.export(tmp_path / "plain.pt").with_suffix(".md").read_text()
    wider = dataclasses.replace(CONFIGS["ganimation"], g_conv_dim=8)  # any other field still has to match
    with pytest.raises(ValueError, match="does not match this trainer"):
        GANimationTrainer(wider, state_dir=tmp_path / "s", settings=_settings(), pool=pool).load_state()


def test_an_export_sends_the_best_weights_out_with_the_blur_switch_they_were_validated_with():
    from baselines.train_cli import with_switches_of

    blurred = dataclasses.replace(CONFIGS["stargan"], upsample_blur=True)
    assert with_switches_of(blurred, {"image_size": 16}).upsample_blur is False  # best_G.pt from before the switch
    assert with_switches_of(CONFIGS["stargan"], {"upsample_blur": True}).upsample_blur is True
    assert with_switches_of(blurred, {"upsample_blur": True}) == blurred


def test_the_weights_average_restarts_on_a_switch_of_the_network_and_on_request(tiny_pool_path, tmp_path):
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path)
    first = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", settings=_settings(g_ema=0.9), pool=pool)
    first.run(max_steps=4)
    assert any(not torch.equal(v, first.G.state_dict()[k]) for k, v in first.G_ema.state_dict().items())
    blurred = dataclasses.replace(CONFIGS["ganimation"], upsample_blur=True)
    switched = GANimationTrainer(blurred, state_dir=tmp_path / "s", settings=_settings(g_ema=0.9), pool=pool)
    assert switched.load_state()
    g = switched.G.state_dict()
    assert all(torch.equal(v, g[k]) for k, v in switched.G_ema.state_dict().items())  # the average starts again at G
    assert switched.schedule[-1]["from_step"] == 4 and switched.schedule[-1]["ema_restart"]
    switched.run(max_steps=6)
    switched.restart_ema()  # by hand, two steps later: a new phase with the same settings
    switched.restart_ema()  # twice at one step: still one phase
    assert [p["from_step"] for p in switched.schedule] == [0, 4, 6] and switched.schedule[-1]["ema_restart"]
    calls = reproduce("ganimation", 1, 1, 16, 4, switched.schedule, 6).split(" && ")
    assert "--restart-ema" not in calls[0] and all("--restart-ema" in c and "--upsample-blur" in c for c in calls[1:])
    card = switched.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "the weights' average restarted at the phase's start" in card
    plain = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "t", settings=_settings(), pool=pool)
    with pytest.raises(ValueError, match="no moving average to restart"):
        plain.restart_ema()


def test_a_changed_loss_weight_is_a_schedule_phase_on_the_card_and_in_the_command(tiny_pool_path, tmp_path):
    from baselines.train_cli import reproduce

    pool = FacePool(tiny_pool_path, labelled_only=True)
    first = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "s", settings=_settings(), pool=pool)
    first.run(max_steps=2)
    assert "G/id" not in first.last_losses and "losses" not in first.schedule[0]  # the paper's losses: no identity pass
    again = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "s", settings=_settings(losses={"id": 5.0}), pool=pool)
    assert again.load_state() and [p.get("losses") for p in again.schedule] == [None, {"id": 5.0}]
    again.run(max_steps=4)
    assert again.last_losses["G/id"] > 0
    fake, rec, cls, ident = (again.last_losses[k] for k in ("G/fake", "G/rec", "G/cls", "G/id"))
    assert again.last_losses["G/total"] == pytest.approx(fake + 10 * rec + cls + 5 * ident, rel=1e-4)
    card = again.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "steps 2–4: generator every 2 critic steps, lr G 0.0001, lr D 0.0001, loss weights id 5" in card
    assert "added to the paper's losses (`id`)" in card and "added to the paper's losses" not in first.export(
        tmp_path / "plain.pt").with_suffix(".md").read_text()  # fmt: skip
    calls = reproduce("stargan", 1, 1, 16, 4, again.schedule, 4).split(" && ")
    assert "--loss" not in calls[0] and "--loss id=5" in calls[1]
    same = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "s", settings=_settings(losses={"id": 5.0}), pool=pool)
    assert same.load_state() and len(same.schedule) == 2  # resumed with the same weights: no new phase


@pytest.mark.parametrize("item, message", [("idd=5", "one of stargan's losses \\(cls, rec, id\\)"), ("id", "NAME=VALUE"),
                                           ("id=x", "'x' is not a number"), ("id=-1", "must be >= 0")])  # fmt: skip
def test_a_bad_loss_weight_is_refused_with_its_name(item, message):
    from baselines.train_cli import parse_loss_weights

    with pytest.raises(ValueError, match=message):
        parse_loss_weights([item], StarGANTrainer.default_losses, "stargan")
    assert parse_loss_weights(["id=5", "rec=2"], StarGANTrainer.default_losses, "stargan") == {"id": 5.0, "rec": 2.0}


@pytest.mark.parametrize("method", ["ganimation", "cascade-efgan"])
def test_the_colour_term_holds_the_colour_heads_near_their_inputs_only_when_asked(method, tiny_pool_path, tmp_path):
    pool = FacePool(tiny_pool_path)
    trainer_class = TRAINERS[method]
    plain = trainer_class(CONFIGS[method], state_dir=tmp_path / "a", settings=_settings(), pool=pool)
    plain.run(max_steps=2)
    assert "G/colour" not in plain.last_losses
    held = trainer_class(CONFIGS[method], state_dir=tmp_path / "b", settings=_settings(losses={"colour": 2.0}), pool=pool)
    held.run(max_steps=2)
    parts = {k: held.last_losses[f"G/{k}"] for k in ("fake", "au", "cyc", "mask", "tv", "colour")}
    weights = {**trainer_class.default_losses, "fake": 1.0, "colour": 2.0}
    assert parts["colour"] > 0 and held.last_losses["G/total"] == pytest.approx(sum(weights[k] * v for k, v in parts.items()), rel=1e-4)
    card = held.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "added to the paper's losses (`colour`)" in card and '"colour": 2.0' in card


def test_a_generated_share_is_a_schedule_phase_on_the_card_and_in_the_command(tiny_pool_path, tmp_path, monkeypatch):
    import baselines.training as training
    from baselines.train_cli import reproduce

    def tiny_generated_pool(data_dir, n, size, model="synthfacs128", chunk=64):  # type: ignore[no-untyped-def]
        path = Path(data_dir).expanduser() / "generated.npz"  # no generator in the loop: faces of ones, AUs of 5
        np.savez(path, images=np.full((n, size, size, 3), 255, np.uint8), aus=np.full((n, 16), 5.0, np.float32),
                 labels=np.full(n, -1, np.int64))  # fmt: skip
        return path

    monkeypatch.setattr(training, "build_generated_pool", tiny_generated_pool)
    data = str(Path(tiny_pool_path).parent)
    first = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s", settings=_settings(data_dir=data, pool_faces=24))
    first.run(max_steps=2)
    mixed = GANimationTrainer(CONFIGS["ganimation"], state_dir=tmp_path / "s",
                              settings=_settings(data_dir=data, pool_faces=24, generated_share=0.5, generated_faces=6))  # fmt: skip
    assert mixed.load_state() and [p.get("generated_share") for p in mixed.schedule] == [None, 0.5]
    assert len(mixed.pool) == 30 and (mixed.pool.batch(64, np.random.default_rng(0)).aus == 5.0).all(dim=1).any()
    mixed.run(max_steps=4)
    card = mixed.export(tmp_path / "g.pt").with_suffix(".md").read_text()
    assert "steps 2–4:" in card and "50% of each batch from the generated pool" in card
    assert "labelled by the bundled analyzer" in card
    calls = reproduce("ganimation", 1, 1, 16, 4, mixed.schedule, 4).split(" && ")
    assert "--generated-share" not in calls[0] and "--generated-share 0.5" in calls[1]
    with pytest.raises(ValueError, match="RaFD-class faces only.*--generated-share must be 0, got 0.5"):
        _ = StarGANTrainer(CONFIGS["stargan"], state_dir=tmp_path / "t", settings=_settings(data_dir=data, generated_share=0.5)).pool


def test_the_cli_refuses_a_generated_share_outside_0_1(tmp_path, capsys):
    assert main(["train", "ganimation", "--state-dir", str(tmp_path), "--generated-share", "1"]) == 2
    assert "--generated-share must be in [0, 1), got 1.0" in capsys.readouterr().err
