"""Validation of baselines during training: the held-out set, its measures and the stopping rule."""

import dataclasses

import numpy as np
import pytest
import torch

from baselines.ganimation import GANimationConfig
from baselines.validation import (
    Plateau,
    ValidationSet,
    best_index,
    emotion_aus,
    validate,
    validation_set,
)

#: The config a stand-in trainer carries (``best_G.pt`` stores it).
CONFIG = GANimationConfig(image_size=16, g_conv_dim=4)


class Replay:
    """A stand-in adapter that returns the given outputs batch by batch."""

    def __init__(self, outputs: torch.Tensor) -> None:
        self.outputs, self.at = outputs, 0

    def edit(self, images: torch.Tensor, target) -> torch.Tensor:  # type: ignore[no-untyped-def]
        out = self.outputs[self.at : self.at + images.shape[0]]
        self.at += images.shape[0]
        return out


def test_the_held_out_set_has_targets_apart_from_the_sources_and_their_ideal_renders():
    vset = validation_set(size=32, n=10)
    assert vset.images.shape == vset.ideal.shape == (10, 3, 32, 32)
    assert vset.target_aus.shape == (10, 16) and (vset.labels == -1).all()
    assert (vset.ideal - vset.images).abs().mean() > 0.005  # the expression changes the face
    emo = validation_set(size=32, n=14, emotion=True)
    assert (emo.labels >= 0).all() and len(set(emo.labels.tolist())) == 7  # the seven expressive classes
    assert torch.equal(emo.target_aus[0], torch.from_numpy(emotion_aus(int(emo.labels[0]))))


def test_ideal_l1_is_zero_for_the_ideal_output_and_grows_with_the_error():
    vset = validation_set(size=32, n=6)
    assert validate(Replay(vset.ideal), vset, batch=4)["ideal_l1"] < 1e-6
    unchanged = validate(Replay(vset.images), vset, batch=4)["ideal_l1"]
    noisy = validate(Replay(vset.images + 0.3 * torch.randn_like(vset.images)), vset, batch=4)["ideal_l1"]
    assert 0 < unchanged < noisy


def test_au_error_and_emotion_accuracy_with_an_analyzer_and_a_classifier():
    vset = validation_set(size=32, n=4, emotion=True)

    class Reads:  # an analyzer that reads the targets exactly; a classifier that is right on two of four
        def __call__(self, images):  # type: ignore[no-untyped-def]
            return {"aus": vset.target_aus, "identity": torch.zeros(4, 8), "parts": torch.zeros(4, 2, 4, 4)}

    class HalfRight:
        def predict(self, aus):  # type: ignore[no-untyped-def]
            from aufx.aus import RAFD_EMOTIONS

            names = [RAFD_EMOTIONS[int(c)] for c in vset.labels]
            return names[:2] + ["neutral", "neutral"]

    result = validate(Replay(vset.ideal), vset, analyzer=Reads(), classifier=HalfRight())
    assert result["au_error"] < 1e-6 and result["emotion_accuracy"] == 0.5


def test_plateau_waits_for_patience_validations_without_a_relative_improvement():
    rule = Plateau(patience=3, min_delta=0.01)
    falling = [{"ideal_l1": v} for v in (0.5, 0.4, 0.3, 0.25, 0.2)]
    assert not rule.converged(falling)
    flat = falling + [{"ideal_l1": v} for v in (0.199, 0.2, 0.1995)]  # < 1 % better: no improvement
    assert rule.converged(flat)
    assert not rule.converged(flat[:-1])
    assert not rule.converged(flat + [{"ideal_l1": 0.15}])  # a real improvement resets the count
    assert not rule.converged([])


def test_plateau_needs_every_measure_to_stop_improving_not_just_ideal_l1():
    # ideal_l1 flat from the third validation on while au_error keeps falling: the generator is
    # still learning the expression, so this is not convergence (a rule on ideal_l1 alone said it was)
    history = [{"ideal_l1": 0.05, "au_error": 1.0 - 0.1 * i} for i in range(8)]
    assert Plateau(patience=3, min_delta=0.01, measures=("ideal_l1",)).converged(history)
    assert not Plateau(patience=3, min_delta=0.01).converged(history)
    history += [{"ideal_l1": 0.05, "au_error": 0.3}] * 3
    assert Plateau(patience=3, min_delta=0.01).converged(history)
    # emotion accuracy is higher-is-better: a rising accuracy keeps training going
    rising = [{"ideal_l1": 0.05, "au_error": 0.5, "emotion_accuracy": 0.1 * i} for i in range(1, 6)]
    assert not Plateau(patience=3, min_delta=0.01).converged(rising)


def test_the_best_checkpoint_is_the_lowest_rank_sum_so_doing_nothing_does_not_win():
    history = [
        {"ideal_l1": 0.050, "au_error": 0.60},
        {"ideal_l1": 0.015, "au_error": 1.10},  # the unedited source: best ideal_l1, worst au_error
        {"ideal_l1": 0.040, "au_error": 0.50},
    ]
    assert min(range(3), key=lambda i: history[i]["ideal_l1"]) == 1  # the old rule's pick
    assert best_index(history) == 2
    assert best_index([{"ideal_l1": 0.1, "emotion_accuracy": 0.2}, {"ideal_l1": 0.1, "emotion_accuracy": 0.6}]) == 1
    assert best_index([{"ideal_l1": 0.1}, {"ideal_l1": 0.1}]) == 1  # a tie goes to the later one
    # a measure added during training: the best is chosen among the validations that have it
    added = [{"ideal_l1": 0.1}, {"ideal_l1": 0.2, "noise_ratio": 3.0}, {"ideal_l1": 0.15, "noise_ratio": 2.0}]
    assert best_index(added) == 2 and best_index(added[:1]) == 0


def test_a_measure_added_during_training_needs_its_own_patience_validations():
    rule = Plateau(patience=3, min_delta=0.01)
    flat = [{"ideal_l1": 0.05}] * 6
    assert rule.converged(flat)
    with_noise = flat + [{"ideal_l1": 0.05, "noise_ratio": 2.0}] * 3
    assert not rule.converged(with_noise)  # 2 validations of noise_ratio after its first: too few
    assert rule.converged(with_noise + [{"ideal_l1": 0.05, "noise_ratio": 2.0}])
    assert not rule.converged(with_noise + [{"ideal_l1": 0.05, "noise_ratio": 1.5}])  # noise still falling


def test_a_validation_set_is_a_plain_dataclass_of_tensors():
    vset = ValidationSet(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.zeros(1, 16), torch.tensor([-1]))
    assert validate(Replay(torch.ones(1, 3, 4, 4)), vset)["ideal_l1"] == 1.0


def test_validator_logs_every_validation_keeps_the_best_generator_and_stops_on_a_plateau(tmp_path):
    from types import SimpleNamespace

    from baselines.validation import Validator, read_history

    vset = validation_set(size=16, n=4)

    class Blend(torch.nn.Module):  # output = a * ideal + (1 - a) * source: a = 1 is perfect
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Parameter(torch.zeros(()))

    class Adapter:
        def __init__(self) -> None:
            self.G, self.at = Blend(), 0

        def edit(self, images, target):  # type: ignore[no-untyped-def]
            ideal = vset.ideal[self.at : self.at + images.shape[0]]
            self.at = (self.at + images.shape[0]) % vset.images.shape[0]
            return self.G.a * ideal + (1 - self.G.a) * images

    trainer = SimpleNamespace(G=Blend(), step=0, elapsed=0.0, state_dir=tmp_path / "state", config=CONFIG)
    validator = Validator(Adapter(), tmp_path / "state", vset, plateau=Plateau(patience=2, min_delta=0.01))
    stops = []
    for step, a in enumerate((0.2, 0.6, 0.5, 0.55, 0.58), start=1):
        trainer.G.a.data.fill_(a)
        trainer.step = step * 100
        stops.append(validator(trainer))
    history = read_history(tmp_path / "state" / "val.jsonl")
    assert [h["step"] for h in history] == [100, 200, 300, 400, 500]
    assert history[1]["ideal_l1"] < history[0]["ideal_l1"]
    assert stops == [False, False, False, True, True]  # no gain after step 200 for two validations
    best = torch.load(tmp_path / "state" / "best_G.pt")
    assert best["step"] == 200 and abs(float(best["G"]["a"]) - 0.6) < 1e-6
    assert best["config"] == dataclasses.asdict(CONFIG)


def test_with_a_moving_average_the_validator_judges_and_keeps_it_and_logs_the_last_weights_beside(tmp_path):
    from types import SimpleNamespace

    from baselines.validation import Validator, read_history

    vset = validation_set(size=16, n=4)

    class Blend(torch.nn.Module):  # output = a * ideal + (1 - a) * source
        def __init__(self, a: float) -> None:
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(a))

    class Adapter:
        def __init__(self) -> None:
            self.G = Blend(0.0)

        def edit(self, images, target):  # type: ignore[no-untyped-def]
            return self.G.a * vset.ideal[: images.shape[0]] + (1 - self.G.a) * images

    average, last = Blend(0.8), Blend(0.2)
    trainer = SimpleNamespace(G=last, G_ema=average, exported_G=average, step=100, elapsed=1.0,
                              state_dir=tmp_path / "state", config=CONFIG)  # fmt: skip
    adapter = Adapter()
    validator = Validator(adapter, tmp_path / "state", vset)
    validator(trainer)
    judged, beside = read_history(validator.history_path), read_history(validator.raw_history_path)
    assert [r["step"] for r in judged] == [r["step"] for r in beside] == [100]
    assert judged[0]["ideal_l1"] < beside[0]["ideal_l1"]  # the average (a = 0.8) is nearer the ideal renders
    assert abs(float(torch.load(validator.best_path)["G"]["a"]) - 0.8) < 1e-6
    assert abs(float(adapter.G.a) - 0.8) < 1e-6  # the adapter holds the average again
    plain = Validator(Adapter(), tmp_path / "plain", vset)
    plain(SimpleNamespace(G=last, step=100, elapsed=1.0, state_dir=tmp_path / "plain", config=CONFIG))
    assert not plain.raw_history_path.exists()


def test_the_last_weights_are_measured_at_every_kth_validation_only_when_asked(tmp_path):
    from types import SimpleNamespace

    import pytest

    from baselines.validation import Validator, read_history

    vset = validation_set(size=16, n=2)

    class Adapter:
        def __init__(self) -> None:
            self.G = torch.nn.Linear(1, 1)

        def edit(self, images, target):  # type: ignore[no-untyped-def]
            return images

    for every, expected_steps in ((3, [300, 600]), (0, [])):
        state = tmp_path / f"every{every}"
        validator = Validator(Adapter(), state, vset, last_weights_every=every)
        for step in range(100, 700, 100):
            last, average = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
            validator(SimpleNamespace(G=last, G_ema=average, exported_G=average, step=step, elapsed=1.0,
                                      state_dir=state, config=CONFIG))  # fmt: skip
        assert [r["step"] for r in read_history(validator.history_path)] == list(range(100, 700, 100))
        assert [r["step"] for r in read_history(validator.raw_history_path)] == expected_steps
    with pytest.raises(ValueError, match="validate-last-every"):
        Validator(Adapter(), tmp_path / "bad", vset, last_weights_every=-1)


def test_methods_that_take_source_aus_get_the_true_ones():
    vset = validation_set(size=16, n=3)
    assert vset.source_aus is not None and vset.source_aus.shape == (3, 16)
    assert not torch.equal(vset.source_aus, vset.target_aus)
    given = []

    class TakesSources(Replay):
        def with_source_aus(self, aus, source_aus):  # type: ignore[no-untyped-def]
            given.append(source_aus)
            return aus

    validate(TakesSources(vset.images), vset, batch=2)
    assert torch.equal(torch.cat(given), vset.source_aus)  # every batch, in order


def test_cascade_efgan_validates_with_the_sources_aus_instead_of_refusing():
    from baselines.cascade_efgan import CascadeEFGAN, CascadeEFGANConfig

    adapter = CascadeEFGAN(CascadeEFGANConfig(image_size=16, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4,
                                              steps=2, d_conv_dim=4, d_repeat_num=3))  # fmt: skip
    adapter.weights_source = "test"  # no "random weights" warning
    result = validate(adapter, validation_set(size=16, n=3), batch=2)
    assert 0 < result["ideal_l1"] < 2


def test_a_restored_log_goes_on_and_its_last_row_keeps_the_bundles_generator(tmp_path):
    from types import SimpleNamespace

    from baselines.validation import Validator, read_history

    G = torch.nn.Linear(2, 2)
    trainer = SimpleNamespace(G=G, step=200, config=CONFIG)
    rows = [{"step": 100, "elapsed_s": 1.0, "ideal_l1": 0.3}, {"step": 200, "elapsed_s": 2.0, "ideal_l1": 0.2}]
    validator = Validator(Replay(torch.zeros(1)), tmp_path / "state", validation_set(size=16, n=2))
    assert validator.restore(rows, trainer) == 2
    assert read_history(validator.history_path) == rows
    best = torch.load(validator.best_path)
    assert best["step"] == 200 and torch.equal(best["G"]["weight"], G.weight) and best["config"] == dataclasses.asdict(CONFIG)
    assert validator.restore([{"step": 300, "elapsed_s": 3.0, "ideal_l1": 0.1}], trainer) == 0  # a log already there is kept
    assert read_history(validator.history_path) == rows


def test_au_conditioned_methods_get_their_emotion_accuracy_from_the_prototype_targets():
    from aufx.aus import RAFD_EMOTIONS

    vset, emotions = validation_set(size=16, n=4), validation_set(size=16, n=7, emotion=True)
    given = []

    class Echo:  # an AU-conditioned adapter that records its targets and returns the source
        def edit(self, images, target):  # type: ignore[no-untyped-def]
            given.append(target)
            return images

    class ReadsTargets:  # an analyzer that reads whatever the adapter was last asked for
        def __call__(self, images):  # type: ignore[no-untyped-def]
            aus = given[-1] if given[-1].shape[0] == images.shape[0] else torch.zeros(images.shape[0], 16)
            return {"aus": aus, "identity": torch.zeros(images.shape[0], 8), "parts": torch.zeros(images.shape[0], 2, 4, 4)}

    class ByPrototype:  # right whenever the AUs are a class's prototype
        def predict(self, aus):  # type: ignore[no-untyped-def]
            from baselines.validation import emotion_aus

            table = {tuple(emotion_aus(c)): RAFD_EMOTIONS[c] for c in range(len(RAFD_EMOTIONS))}
            return [table.get(tuple(np.float32(a) for a in row), "neutral") for row in aus]

    without = validate(Echo(), vset, analyzer=ReadsTargets(), classifier=ByPrototype(), batch=16, raise_aus=())
    assert "emotion_accuracy" not in without  # no emotion set: nothing to read
    result = validate(Echo(), vset, analyzer=ReadsTargets(), classifier=ByPrototype(), batch=16, emotion_set=emotions,
                      raise_aus=())  # fmt: skip
    assert torch.equal(given[-1], emotions.target_aus)  # AU vectors, not class labels
    assert result["emotion_accuracy"] == 1.0


def test_an_emotion_set_may_keep_the_sources_other_aus_as_the_pipeline_does():
    from aufx.aus import AU_INDEX, EMOTION_PROTOTYPES, RAFD_EMOTIONS, RAFD_TO_PROTOTYPE

    plain = validation_set(size=16, n=7, emotion=True)
    kept = validation_set(size=16, n=7, emotion=True, keep_source_aus=True)
    assert torch.equal(plain.images, kept.images) and torch.equal(plain.labels, kept.labels)
    for i, label in enumerate(kept.labels.tolist()):
        codes = EMOTION_PROTOTYPES[RAFD_TO_PROTOTYPE[RAFD_EMOTIONS[label]]]
        proto = [AU_INDEX[c] for c in codes]
        others = [j for j in range(16) if j not in proto]
        assert torch.all(kept.target_aus[i, proto] == 3.0)
        assert torch.equal(kept.target_aus[i, others], kept.source_aus[i, others])  # the source's other AUs stay
        assert torch.all(plain.target_aus[i, others] == 0)
    assert not torch.equal(plain.ideal, kept.ideal)


def test_an_emotion_set_may_give_every_face_one_class():
    from aufx.aus import RAFD_EMOTIONS

    happy = validation_set(size=16, n=5, emotion=True, keep_source_aus=True, label="happy")
    turns = validation_set(size=16, n=5, emotion=True, keep_source_aus=True)
    assert happy.labels.tolist() == [RAFD_EMOTIONS.index("happy")] * 5
    assert torch.equal(happy.images, turns.images)  # the same sources
    with pytest.raises(ValueError, match="label must be a RaFD class with prototype AUs .*got 'neutral'"):
        validation_set(size=16, n=2, emotion=True, label="neutral")


class ReadsCorner:
    """An analyzer that reads the AUs written into the first row's first 16 red pixels (× 5)."""

    def __call__(self, images):  # type: ignore[no-untyped-def]
        n = images.shape[0]
        return {"aus": images[:, 0, 0, :16] * 5.0, "identity": torch.zeros(n, 8), "parts": torch.zeros(n, 2, 4, 4)}


class WritesTarget:
    """An AU-conditioned adapter that writes a share of the way to its target into the corner."""

    def __init__(self, share: float) -> None:
        self.share = share

    def edit(self, images, target):  # type: ignore[no-untyped-def]
        out = images.clone()
        out[:, 0, 0, :16] += self.share * (target / 5.0 - out[:, 0, 0, :16])
        return out


def test_au_raise_measures_how_far_single_aus_go_up_and_how_many_rise_significantly():
    from baselines.validation import RAISE_AUS, RAISE_CHANGE, au_raise

    images = torch.zeros(12, 3, 16, 16)
    images[:, 0, 0, :16] = torch.rand(12, 16) * 0.4  # AUs 0-2: room for +2 below 5
    follows, raised = au_raise(WritesTarget(1.0), images, ReadsCorner())
    assert abs(follows - RAISE_CHANGE) < 1e-5 and raised == len(RAISE_AUS)
    half, _ = au_raise(WritesTarget(0.5), images, ReadsCorner())
    assert abs(half - RAISE_CHANGE / 2) < 1e-5
    ignores, none = au_raise(WritesTarget(0.0), images, ReadsCorner())
    assert ignores == 0 and none == 0


def test_validate_reports_au_raise_for_au_conditioned_methods_only():
    from baselines.validation import RAISE_AUS

    vset = validation_set(size=16, n=6)
    result = validate(WritesTarget(1.0), vset, analyzer=ReadsCorner())
    assert result["au_raise"] > 1.5 and result["aus_raised"] == 8
    assert sorted(k for k in result if k.startswith("raise_low_")) == sorted(f"raise_low_{au}" for au in RAISE_AUS)
    assert all(result[f"raise_low_{au}"] > 0 for au in RAISE_AUS)
    ignores = validate(WritesTarget(0.0), vset, analyzer=ReadsCorner())  # which AU misses is in the row
    assert ignores["aus_raised"] == 0 and all(ignores[f"raise_low_{au}"] <= 0 for au in RAISE_AUS)
    assert "au_raise" not in validate(WritesTarget(1.0), vset, analyzer=ReadsCorner(), raise_aus=())
    emotions = validation_set(size=16, n=7, emotion=True)
    assert "au_raise" not in validate(Replay(emotions.images), emotions, analyzer=ReadsCorner())


def test_the_best_checkpoint_meets_the_most_goals_before_its_rank_sum_counts():
    from baselines.validation import goals_met

    noisy = {"ideal_l1": 0.019, "au_error": 0.32, "emotion_accuracy": 0.80, "noise_ratio": 2.1, "au_raise": 0.6, "aus_raised": 8}
    clean = {"ideal_l1": 0.020, "au_error": 0.38, "emotion_accuracy": 0.72, "noise_ratio": 1.0, "au_raise": 0.5, "aus_raised": 8}
    assert goals_met(noisy) == 2 and goals_met(clean) == 3
    assert best_index([noisy, clean, noisy]) == 1  # the rank sum alone picks the last noisy one
    seven = {**clean, "aus_raised": 7}  # one AU's CI reaches 0: a goal missed
    assert goals_met(seven) == 2 and best_index([noisy, seven]) == 0  # as many goals: the rank sum (4 measures to 1)
    assert best_index([noisy, {**seven, "ideal_l1": 0.01, "au_error": 0.3, "au_raise": 0.7}]) == 1
    assert goals_met({"ideal_l1": 0.1}) == 0  # nothing measured, nothing met


def test_the_validator_replaces_the_kept_generator_by_one_that_meets_more_goals(tmp_path, monkeypatch):
    """Even where an earlier validation that met as many goals ranks above it (its weights were not kept)."""
    from types import SimpleNamespace

    from baselines.validation import Validator, read_history

    rows = iter([
        {"ideal_l1": 0.010, "noise_ratio": 2.0},  # kept: the only one
        {"ideal_l1": 0.020, "noise_ratio": 1.0},  # one goal more: kept although its ideal_l1 is worse
        {"ideal_l1": 0.030, "noise_ratio": 1.2},  # as many goals, ranked below: not kept
    ])
    validator = Validator(None, tmp_path, vset=None)  # type: ignore[arg-type]
    validator.measure = lambda adapter: next(rows)  # type: ignore[method-assign]
    trainer = SimpleNamespace(G=torch.nn.Linear(1, 1), step=0, elapsed=0.0, config=CONFIG)
    import baselines.training as training

    monkeypatch.setattr(training, "load_trained_generator", lambda adapter, trainer: None)  # no adapter to load
    kept = []
    for step in (100, 200, 300):
        trainer.step = step
        validator(trainer)
        kept.append(int(torch.load(validator.best_path)["step"]))
    assert kept == [100, 200, 200]
    # an earlier row with as many goals that was never kept (the log as a changed rule finds it)
    validator.history_path.write_text(validator.history_path.read_text().replace('"step": 200', '"step": 150'))
    rows = iter([{"ideal_l1": 0.025, "noise_ratio": 1.1}])
    validator.measure = lambda adapter: next(rows)  # type: ignore[method-assign]
    torch.save({**torch.load(validator.best_path), "noise_ratio": 2.0, "step": 100}, validator.best_path)
    trainer.step = 400
    validator(trainer)
    assert len(read_history(validator.history_path)) == 4
    assert int(torch.load(validator.best_path)["step"]) == 400  # ranks below step 150, but 150's weights are gone


def test_validation_measures_the_comparisons_fd_to_the_ideal_renders():
    class Pooled(ReadsCorner):  # a feature pyramid of one level: 4 x 4 mean colours
        def features(self, images):  # type: ignore[no-untyped-def]
            return torch.nn.functional.avg_pool2d(images, 4)

    vset = validation_set(size=16, n=12)
    ideal = validate(Replay(vset.ideal), vset, analyzer=Pooled(), raise_aus=())
    blotched = vset.ideal.clone()
    blotched[:, 1, 4:8, 4:8] = 1.0  # a green blotch on every face
    tinted = validate(Replay(blotched), vset, analyzer=Pooled(), raise_aus=())
    unchanged = validate(Replay(vset.images), vset, analyzer=Pooled(), raise_aus=())  # the expression alone: small
    assert abs(ideal["fd"]) < 1e-7 < unchanged["fd"]  # the ideal outputs' features are the ideal renders'
    assert tinted["fd"] > 100 * unchanged["fd"]
    corner = validate(Replay(vset.ideal), vset, analyzer=ReadsCorner(), raise_aus=())  # no features(): AUs ⊕ identity
    assert abs(corner["fd"]) < 1e-5
    assert "fd" not in validate(Replay(vset.images), vset, raise_aus=())  # no analyzer, no features


def test_a_measure_added_during_training_makes_the_next_validation_the_kept_one(tmp_path):
    """``fd`` came after ``best_G.pt`` was written: the first validation with it is the only candidate."""
    history = [{"ideal_l1": 0.01, "noise_ratio": 1.0}, {"ideal_l1": 0.02, "noise_ratio": 1.0, "fd": 0.3}]
    assert best_index(history) == 1


def test_the_generated_set_edits_the_bundled_generators_faces_towards_renders_of_their_true_scenes():
    from aufx.synthfacs import render
    from baselines.validation import generated_set

    gset = generated_set(size=32, n=4)
    assert gset.images.shape == gset.ideal.shape == (4, 3, 32, 32) and (gset.labels == -1).all()
    # each source is the generator's drawing of its true scene: near the render of that scene,
    # far from the render of another face's scene
    truth = render(gset.source_aus.numpy(), _true_identity(4), size=32, with_parts=False).images
    own = (gset.images - truth).abs().mean(dim=(1, 2, 3))
    other = (gset.images - truth.roll(1, dims=0)).abs().mean(dim=(1, 2, 3))
    assert (own < 0.08).all() and (own < other / 2).all()
    # the targets are drawn as the render set's are, from the set's own seed: not the sources' AUs
    assert not torch.allclose(gset.target_aus, gset.source_aus)
    emotions = generated_set(size=32, n=7, emotion=True)
    assert len(set(emotions.labels.tolist())) == 7  # the seven expressive classes take turns


def _true_identity(n: int) -> np.ndarray:
    """The true identities of the generated set's first ``n`` faces (seeds GENERATED_SEED..)."""
    from aufx.gan.loaders import load_generator
    from aufx.gan.seeds import seed_latents
    from aufx.synthfacs.latent import true_scenes
    from baselines.validation import GENERATED_SEED

    loaded = load_generator("synthfacs128")
    return true_scenes(loaded.metadata, seed_latents(loaded.generator.z_dim, range(GENERATED_SEED, GENERATED_SEED + n)).numpy()).identity


def test_fd_generated_measures_the_edits_of_the_generated_faces():
    from aufx.edit.analyzer import load_analyzer
    from baselines.validation import generated_set

    analyzer = load_analyzer("synthfacs")
    vset, gset = validation_set(size=32, n=6), generated_set(size=32, n=6)
    assert "fd_generated" not in validate(Replay(vset.ideal), vset, analyzer=analyzer, raise_aus=())
    ideal = validate(Replay(torch.cat([vset.ideal, gset.ideal])), vset, analyzer=analyzer, raise_aus=(), generated_set=gset)
    unedited = validate(Replay(torch.cat([vset.ideal, gset.images])), vset, analyzer=analyzer, raise_aus=(), generated_set=gset)
    assert ideal["fd"] == pytest.approx(unedited["fd"])  # the render set's edits are the same in both
    assert ideal["fd_generated"] < 1e-3 < unedited["fd_generated"]


def test_the_ideal_renders_features_are_computed_once_per_set(monkeypatch):
    import aufx.metrics
    from aufx.edit.analyzer import load_analyzer

    analyzer, vset = load_analyzer("synthfacs"), validation_set(size=32, n=4)
    seen = []
    real = aufx.metrics.realism_features
    monkeypatch.setattr(aufx.metrics, "realism_features", lambda a, images: seen.append(images) or real(a, images))
    first = validate(Replay(vset.images), vset, analyzer=analyzer, raise_aus=())["fd"]
    assert any(torch.equal(images, vset.ideal) for images in seen)
    seen.clear()
    again = validate(Replay(vset.images), vset, analyzer=analyzer, raise_aus=())["fd"]
    assert again == pytest.approx(first) and not any(torch.equal(images, vset.ideal) for images in seen)


def test_a_generator_without_true_scenes_is_refused_by_name(monkeypatch):
    import aufx.synthfacs.latent
    from baselines.validation import generated_set

    monkeypatch.setattr(aufx.synthfacs.latent, "true_scenes", lambda metadata, z, psi=1.0: None)
    with pytest.raises(ValueError, match="generator 'synthfacs128' was not distilled from the SynthFACS scene map"):
        generated_set(size=16, n=2)
