"""One interface: registry, CLI listing, image convention and target parsing shared by every adapter."""

import pytest
import torch

from aufx.cli import main
from baselines import registry
from baselines.base import Baseline, Conditioning, au_targets, emotion_indices, resize_square
from baselines.cascade_efgan import CascadeEFGANConfig, CascadeTarget
from baselines.checkpoints import CheckpointError
from baselines.ganimation import GANimationConfig
from baselines.stargan import StarGANConfig

EXPECTED = ["stargan", "ganimation", "cascade-efgan", "gan-local-editing"]


def test_registry_names_and_adapters():
    assert registry.names()[:4] == EXPECTED
    kinds = {}
    for name in EXPECTED:
        cls = registry.adapter_class(name)
        assert issubclass(cls, Baseline) and cls.name == name and cls.description
        kinds[name] = cls.conditioning
    assert kinds == {"stargan": Conditioning.EMOTION, "ganimation": Conditioning.AU_VECTOR,
                     "cascade-efgan": Conditioning.AU_VECTOR, "gan-local-editing": Conditioning.REFERENCE_REGION}  # fmt: skip
    with pytest.raises(KeyError, match="unknown method 'cyclegan'; methods are: stargan, ganimation"):
        registry.get("cyclegan")


def test_registry_is_open_for_more_methods():
    registry.register("test-identity", "identity (test)", "baselines.stargan:StarGAN", "emotion")
    try:
        assert "test-identity" in registry.names()
        with pytest.raises(ValueError, match="already registered"):
            registry.register("test-identity", "x", "baselines.ganimation:GANimation", "au-vector")
    finally:
        registry._REGISTRY.pop("test-identity")


def test_cli_lists_the_four_methods(capsys):
    assert main(["baselines", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == EXPECTED + ["interfacegan", "stylespace"]
    assert "GANimation (Pumarola et al. 2018)" in lines[1] and "[au-vector;" in lines[1]


def test_load_without_bundle_says_how_to_train(tmp_path, monkeypatch):
    import baselines.base as base

    monkeypatch.setattr(base, "WEIGHTS_DIR", tmp_path)
    for name in ("stargan", "ganimation", "cascade-efgan"):
        with pytest.raises(CheckpointError, match=f"aufx train {name}"):
            registry.get(name, load=True)


@pytest.mark.parametrize("name, config, target", [
    ("stargan", StarGANConfig(image_size=16, g_conv_dim=4, g_repeat_num=1), "surprised"),
    ("ganimation", GANimationConfig(image_size=16, g_conv_dim=4, g_repeat_num=1), {"AU01": 2, "AU02": 2}),
    ("cascade-efgan", CascadeEFGANConfig(image_size=16, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4),
     CascadeTarget({"AU26": 3}, torch.zeros(16))),
])  # fmt: skip
def test_every_trained_adapter_edits_a_batch(name, config, target):
    adapter = registry.get(name, config=config)
    images = torch.rand(5, 3, 24, 24) * 2 - 1  # not the working size: resized in and out
    with pytest.warns(RuntimeWarning, match="untrained"):
        out = adapter.edit(images, target)
    assert out.shape == (5, 3, 24, 24) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1 and torch.isfinite(out).all()
    assert adapter.image_size == 16 and name in repr(adapter)


def test_image_checks():
    adapter = registry.get("stargan", config=StarGANConfig(image_size=16, g_conv_dim=4, g_repeat_num=1))
    for bad, message in ((torch.zeros(2, 1, 16, 16), r"\[N, 3, H, W\]"), (torch.zeros(0, 3, 16, 16), "empty"),
                         (torch.full((1, 3, 16, 16), float("nan")), "NaN"), ([1, 2], "torch.Tensor")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            adapter.edit(bad, "happy")


def test_resize_is_a_no_op_at_working_size():
    x = torch.rand(2, 3, 16, 16)
    assert resize_square(x, 16) is x
    assert resize_square(x, 32).shape == (2, 3, 32, 32)


def test_target_parsing():
    assert emotion_indices("sadness", 2).tolist() == [6, 6]
    assert emotion_indices(["neutral", "fearful"], 2).tolist() == [5, 3]
    with pytest.raises(ValueError, match="got 1 emotion names for 2 images"):
        emotion_indices(["happy"], 2)
    t = au_targets({"au12": 2, "6": 1}, 3)
    assert t.shape == (3, 16) and t[0, 8] == 2 and t[0, 4] == 1
    with pytest.raises(ValueError, match="unknown action unit 'AU99'"):
        au_targets({"AU99": 1}, 1)
