"""Write NVIDIA-style network pickles from aufx generators, with the test's own code.

NVIDIA's ``torch_utils.persistence`` pickles every module as ``_reconstruct_persistent_obj(meta)``
with ``meta = {type: 'class', version, module_src, class_name, state}``. Here stand-in objects
whose ``__reduce_ex__`` returns exactly that are pickled, while fake ``torch_utils.persistence``
and ``dnnlib.util`` modules sit in ``sys.modules`` so that pickle names the same globals.
The embedded ``module_src`` would create a marker file if anyone executed it.
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.gan.networks import Generator

CLASS_NAMES = {
    "Generator": "Generator",
    "MappingNetwork": "MappingNetwork",
    "SynthesisNetwork": "SynthesisNetwork",
    "SynthesisBlock": "SynthesisBlock",
    "SynthesisLayer": "SynthesisLayer",
    "ToRGBLayer": "ToRGBLayer",
    "FullyConnectedLayer": "FullyConnectedLayer",
}


def _reconstruct_persistent_obj(meta: dict) -> Any:  # pragma: no cover - never called by aufx
    raise AssertionError("the stand-in reconstruct function must never run")


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``."""


class _Persistent:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce_ex__(self, protocol: int) -> tuple:
        return (_reconstruct_persistent_obj, (self.meta,))


class LegacyStorageTensor:
    """Pickles a tensor with its storage in torch's legacy (non-zip) ``torch.save`` format, as torch 1.x did."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor.contiguous()

    def __reduce_ex__(self, protocol: int) -> tuple:
        blob = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage deprecation: torch 1.x pickled typed storages
            torch.save(self.tensor.storage(), blob, _use_new_zipfile_serialization=False)
        storage = _StorageBytes(blob.getvalue())
        t = self.tensor
        return (torch._utils._rebuild_tensor_v2, (storage, 0, tuple(t.shape), t.stride(), False, collections.OrderedDict()))


class _StorageBytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: int) -> tuple:
        return (torch.storage._load_from_bytes, (self.data,))


@contextlib.contextmanager
def fake_nvidia_modules() -> Iterator[None]:
    """Make ``torch_utils.persistence._reconstruct_persistent_obj`` and ``dnnlib.util.EasyDict`` picklable names."""
    saved = {name: sys.modules.get(name) for name in ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")}
    torch_utils = types.ModuleType("torch_utils")
    persistence = types.ModuleType("torch_utils.persistence")
    dnnlib = types.ModuleType("dnnlib")
    util = types.ModuleType("dnnlib.util")
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    EasyDict.__module__ = "dnnlib.util"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util.EasyDict = EasyDict
    torch_utils.persistence = persistence
    dnnlib.util = util
    sys.modules.update({"torch_utils": torch_utils, "torch_utils.persistence": persistence, "dnnlib": dnnlib, "dnnlib.util": util})
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _module_src(marker: Path | None) -> str:
    if marker is None:
        return "raise RuntimeError('module source executed')\n"
    return f"open({str(marker)!r}, 'w').write('executed')\nraise RuntimeError('module source executed')\n"


def _class_name(module: torch.nn.Module) -> str:
    return CLASS_NAMES[type(module).__name__]


def record(module: torch.nn.Module, kwargs: dict, marker: Path | None, extra: dict | None = None,
           legacy_buffers: bool = False, architecture: str = "skip") -> _Persistent:  # fmt: skip
    """A persistent stand-in for ``module`` (children recursively), state as NVIDIA's ``__dict__``."""
    children = collections.OrderedDict(
        (name, record(child, {}, marker, legacy_buffers=legacy_buffers, architecture=architecture))
        for name, child in module.named_children()
    )
    buffers: collections.OrderedDict[str, Any] = collections.OrderedDict()
    for name, buf in module._buffers.items():
        buffers[name] = LegacyStorageTensor(buf) if legacy_buffers else buf
    state: dict[str, Any] = {
        "training": False,
        "_parameters": collections.OrderedDict(module._parameters),
        "_buffers": buffers,
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": collections.OrderedDict(),
        "_forward_hooks": collections.OrderedDict(),
        "_modules": children,
        "_init_args": (),
        "_init_kwargs": EasyDict(kwargs),
    }
    for attr in ("z_dim", "c_dim", "w_dim", "num_ws", "img_resolution", "img_channels", "resolution", "activation"):
        if hasattr(module, attr) and isinstance(getattr(module, attr), (int, str)):
            state[attr] = getattr(module, attr)
    if type(module).__name__ == "FullyConnectedLayer":
        state["weight_gain"] = np.float64(module.weight_gain)  # NVIDIA stores numpy scalars here
        state["bias_gain"] = module.bias_gain
    if type(module).__name__ == "MappingNetwork":
        state["num_layers"] = module.num_layers
        state["w_avg_beta"] = module.w_avg_beta
    if type(module).__name__ == "SynthesisBlock":
        state["architecture"] = architecture
    if type(module).__name__ in ("SynthesisLayer", "ToRGBLayer"):
        state["conv_clamp"] = module.conv_clamp
    state.update(extra or {})
    meta = dict(type="class", version=4, module_src=_module_src(marker), class_name=_class_name(module), state=state)
    return _Persistent(meta)


def nvidia_kwargs(generator: Generator, **synthesis_overrides: Any) -> dict:
    c = generator.config
    synthesis = EasyDict(channel_base=c.channel_base, channel_max=c.channel_max, num_fp16_res=4, conv_clamp=c.conv_clamp,
                         architecture="skip")  # fmt: skip
    synthesis.update(synthesis_overrides)
    return EasyDict(
        z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels,
        mapping_kwargs=EasyDict(num_layers=c.mapping_layers), synthesis_kwargs=synthesis,
    )  # fmt: skip


def write_nvidia_pickle(generator: Generator, path: Path, marker: Path | None = None, *, kwargs: dict | None = None,
                        legacy_buffers: bool = False, extra_entries: dict | None = None) -> Path:  # fmt: skip
    """Pickle ``{'G': ..., 'G_ema': ..., 'training_set_kwargs': ...}`` as NVIDIA's training loop does."""
    with fake_nvidia_modules():
        kwargs = dict(kwargs or nvidia_kwargs(generator))
        architecture = kwargs["synthesis_kwargs"].get("architecture", "skip")
        g_ema = record(generator, kwargs, marker, legacy_buffers=legacy_buffers, architecture=architecture)
        data = {
            "G": g_ema,
            "D": None,
            "G_ema": g_ema,
            "augment_pipe": None,
            "training_set_kwargs": EasyDict(path="/data/faces.zip", resolution=generator.img_resolution, xflip=False),
        }
        data.update(extra_entries or {})
        with open(path, "wb") as handle:
            pickle.dump(data, handle, protocol=pickle.DEFAULT_PROTOCOL)
    return path
