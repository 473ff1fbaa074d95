"""NVIDIA .pkl loading: round trip on tiny random networks, and hostile pickles refused without running."""

from __future__ import annotations

import builtins
import collections
import os
import pickle

import pytest
import torch

from aufx.gan.checkpoint import CheckpointError
from aufx.gan.loaders import FORMAT_NVIDIA, load_generator
from aufx.gan.networks import GeneratorConfig
from aufx.gan.nvidia_pkl import UnsafePickleError, safe_unpickle

from .nvidia_writer import (
    EasyDict,
    _Persistent,
    fake_nvidia_modules,
    nvidia_kwargs,
    write_nvidia_pickle,
)
from .tiny_nets import TINY, random_generator, seeded_z


@pytest.mark.parametrize("legacy_buffers", [False, True])
def test_round_trip_gives_identical_images(tmp_path, legacy_buffers):
    generator = random_generator()
    marker = tmp_path / "executed.txt"
    path = write_nvidia_pickle(generator, tmp_path / "net.pkl", marker, legacy_buffers=legacy_buffers)
    loaded = load_generator(path)
    assert loaded.format == FORMAT_NVIDIA
    assert loaded.config == generator.config
    assert not loaded.generator.training
    z = seeded_z(generator)
    with torch.no_grad():
        expected = generator(z, truncation_psi=0.7)
        got = loaded.generator(z, truncation_psi=0.7)
    assert torch.equal(got, expected)
    assert not marker.exists(), "the embedded module source was executed"
    assert loaded.metadata["training_set_kwargs"]["path"] == "/data/faces.zip"
    assert len(loaded.metadata["module_src_sha256"]) == 64


def test_conditional_generator_and_conv_clamp(tmp_path):
    config = GeneratorConfig(**{**TINY.to_dict(), "c_dim": 4, "conv_clamp": 0.5})
    generator = random_generator(config)
    loaded = load_generator(write_nvidia_pickle(generator, tmp_path / "cond.pkl"))
    assert loaded.config.c_dim == 4 and loaded.config.conv_clamp == 0.5
    z, c = seeded_z(generator, 2), torch.eye(4)[:2]
    with torch.no_grad():
        assert torch.equal(loaded.generator(z, c), generator(z, c))


def test_resnet_architecture_is_refused(tmp_path):
    generator = random_generator()
    path = write_nvidia_pickle(generator, tmp_path / "resnet.pkl", kwargs=nvidia_kwargs(generator, architecture="resnet"))
    with pytest.raises(CheckpointError, match=r"resnet.pkl: unknown architecture 'resnet'"):
        load_generator(path)


def test_stylegan3_synthesis_is_refused(tmp_path):
    generator = random_generator()
    layer = {"_parameters": collections.OrderedDict(weight=torch.zeros(2)), "_buffers": {}, "_modules": {}}
    with fake_nvidia_modules():
        synthesis = _Persistent(dict(type="class", version=4, module_src="", class_name="SynthesisNetwork",
                                     state={"_parameters": {}, "_buffers": {}, "_modules": {"input": None, "L0_36_512": _Persistent(dict(type="class", version=4, module_src="", class_name="SynthesisLayer", state=layer))}}))  # fmt: skip
        mapping = _Persistent(dict(type="class", version=4, module_src="", class_name="MappingNetwork",
                                   state={"_parameters": {}, "_buffers": {}, "_modules": {}}))  # fmt: skip
        g = _Persistent(dict(type="class", version=4, module_src="", class_name="Generator",
                             state={"_modules": {"synthesis": synthesis, "mapping": mapping}, "_init_kwargs": nvidia_kwargs(generator)}))  # fmt: skip
        with open(tmp_path / "sg3.pkl", "wb") as handle:
            pickle.dump({"G_ema": g}, handle)
    with pytest.raises(CheckpointError, match=r"sg3.pkl: unknown architecture.*L0_36_512"):
        load_generator(tmp_path / "sg3.pkl")


class _SystemCall:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


class _Eval:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple:
        return (builtins.eval, (self.code,))


def test_hostile_system_call_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _SystemCall(f"touch {marker}")}))
    with pytest.raises(UnsafePickleError, match=r"evil.pkl: refused to load global (posix|os)\.system"):
        load_generator(path)
    assert not marker.exists()


def test_hostile_eval_nested_in_a_real_network_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    generator = random_generator()
    code = f"open({str(marker)!r}, 'w').write('x')"
    path = write_nvidia_pickle(generator, tmp_path / "trojan.pkl", extra_entries={"augment_pipe": _Eval(code)})
    with pytest.raises(UnsafePickleError, match=r"trojan.pkl: refused to load global builtins\.eval"):
        load_generator(path)
    assert not marker.exists()


def test_unknown_class_is_refused(tmp_path):
    path = tmp_path / "cls.pkl"
    path.write_bytes(pickle.dumps({"G_ema": collections.Counter(a=1)}))
    with pytest.raises(UnsafePickleError, match=r"collections\.Counter"):
        safe_unpickle(path)


def test_truncated_and_random_files(tmp_path):
    path = write_nvidia_pickle(random_generator(), tmp_path / "net.pkl")
    data = path.read_bytes()
    (tmp_path / "cut.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut.pkl: (truncated|unreadable)"):
        load_generator(tmp_path / "cut.pkl")
    (tmp_path / "noise.pkl").write_bytes(os.urandom(256).replace(b"\x80", b"\x00"))
    with pytest.raises(CheckpointError, match=r"noise.pkl: not a pickle"):
        load_generator(tmp_path / "noise.pkl")
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match=r"other.pkl: no network 'G_ema'.*weights"):
        load_generator(tmp_path / "other.pkl")


def test_easydict_kwargs_become_config(tmp_path):
    generator = random_generator()
    kwargs = nvidia_kwargs(generator)
    kwargs["mapping_kwargs"] = EasyDict(num_layers=2, lr_multiplier=0.01)
    loaded = load_generator(write_nvidia_pickle(generator, tmp_path / "k.pkl", kwargs=kwargs))
    assert loaded.config.mapping_layers == 2 and loaded.config.mapping_lr_multiplier == pytest.approx(0.01)
    assert loaded.metadata["init_kwargs"]["synthesis_kwargs"]["num_fp16_res"] == 4


def test_recorded_conv_clamp_wins_over_missing_kwarg(tmp_path):
    """The stylegan3 repo's blocks default to conv_clamp=256 and its kwargs may omit it."""
    config = GeneratorConfig(**{**TINY.to_dict(), "conv_clamp": 256.0})
    generator = random_generator(config)
    kwargs = nvidia_kwargs(generator)
    del kwargs["synthesis_kwargs"]["conv_clamp"]
    loaded = load_generator(write_nvidia_pickle(generator, tmp_path / "sg3repo.pkl", kwargs=kwargs))
    assert loaded.config.conv_clamp == 256.0


def test_tensorflow_pickle_gets_a_conversion_hint(tmp_path):
    path = tmp_path / "tf.pkl"
    path.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\n)\x81.")  # GLOBAL, EMPTY_TUPLE, NEWOBJ
    with pytest.raises(UnsafePickleError, match=r"tf.pkl: a TensorFlow StyleGAN pickle.*legacy.py"):
        load_generator(path)
