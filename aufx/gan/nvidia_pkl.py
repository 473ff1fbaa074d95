"""Read NVIDIA StyleGAN2 network pickles (stylegan2-ada-pytorch, stylegan3 repo) without running their code.

NVIDIA's pickles store every network through ``torch_utils.persistence``: each module is
pickled as a call ``_reconstruct_persistent_obj(meta)`` where ``meta`` is a plain dict
``{type: 'class', version, module_src: <the Python source of its module>, class_name, state}``,
and the official loader *executes* ``module_src``. aufx instead unpickles with a restricted
:class:`pickle.Unpickler` whose ``find_class`` answers only an explicit allow-list of harmless
globals; ``_reconstruct_persistent_obj`` is answered by :func:`_record_persistent_obj`, which
returns the recorded state as data (:class:`PersistentRecord`) and never looks at the source.
Any other global (``os.system``, ``builtins.eval``, a class of some package ...) is refused with
:class:`UnsafePickleError` naming it, before anything is called.

The ``G_ema`` record is then turned into an aufx :class:`~aufx.gan.networks.Generator`: its init
kwargs give the :class:`~aufx.gan.networks.GeneratorConfig`, its module tree the state dict
(NVIDIA's names equal aufx's).
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.gan.checkpoint import CheckpointError, load_state_dict_strict
from aufx.gan.networks import Generator, GeneratorConfig

#: The FIR taps every StyleGAN2 in aufx uses; other taps are refused.
_STANDARD_FILTER = [1, 3, 3, 1]


class UnsafePickleError(CheckpointError):
    """A pickle asks for a global outside the allow-list (it could run code); nothing was run."""


@dataclass
class PersistentRecord:
    """What a persistent NVIDIA object recorded: its class name and state, as plain data.

    ``state`` is the object's ``__dict__`` at pickling time (``_parameters``, ``_buffers``,
    ``_modules``, ``_init_kwargs``, plain attributes ...). ``source_sha256`` identifies the
    embedded module source, which is never executed (nor kept).
    """

    class_name: str
    state: dict
    version: int | None = None
    source_sha256: str = ""
    source_chars: int = 0

    @property
    def init_kwargs(self) -> dict:
        kwargs = self.state.get("_init_kwargs") or {}
        return dict(kwargs) if isinstance(kwargs, Mapping) else {}

    @property
    def init_args(self) -> tuple:
        args = self.state.get("_init_args") or ()
        return tuple(args) if isinstance(args, (tuple, list)) else ()

    def child(self, name: str) -> PersistentRecord | None:
        modules = self.state.get("_modules") or {}
        value = modules.get(name) if isinstance(modules, Mapping) else None
        return value if isinstance(value, PersistentRecord) else None

    def attr(self, name: str, default: Any = None) -> Any:
        return self.state.get(name, default)


class _EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a plain dict (attribute access is not needed)."""


def _record_persistent_obj(meta: Any) -> PersistentRecord:
    """Safe replacement of ``torch_utils.persistence._reconstruct_persistent_obj``: data only."""
    if not isinstance(meta, Mapping):
        raise pickle.UnpicklingError(f"persistent object meta is a {type(meta).__name__}, not a dict")
    if meta.get("type") != "class":
        raise pickle.UnpicklingError(f"persistent object of type {meta.get('type')!r} (expected 'class')")
    class_name = meta.get("class_name")
    state = meta.get("state")
    if not isinstance(class_name, str) or not isinstance(state, Mapping):
        raise pickle.UnpicklingError("persistent object meta lacks class_name/state")
    src = meta.get("module_src")
    src_bytes = src.encode("utf-8", "replace") if isinstance(src, str) else b""
    return PersistentRecord(
        class_name=class_name,
        state=dict(state),
        version=meta.get("version") if isinstance(meta.get("version"), int) else None,
        source_sha256=hashlib.sha256(src_bytes).hexdigest() if src_bytes else "",
        source_chars=len(src_bytes),
    )


def _load_storage_from_bytes(data: bytes) -> Any:
    """Safe ``torch.storage._load_from_bytes``: the bytes are a ``torch.save`` of one storage."""
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("storage payload is not bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation
        storage = torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError(f"storage payload holds a {type(storage).__name__}, not a storage")
    return storage


def _rebuild_tensor_v2(storage: Any, offset: int, size: Any, stride: Any, *rest: Any) -> torch.Tensor:
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError(f"tensor rebuilt from a {type(storage).__name__}, not a storage")
    requires_grad = bool(rest[0]) if rest else False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensor = torch._utils._rebuild_tensor(storage, int(offset), tuple(size), tuple(stride))
    return tensor.requires_grad_(requires_grad) if tensor.is_floating_point() else tensor


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any) -> torch.Tensor:
    return _rebuild_tensor_v2(storage, offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any = True, backward_hooks: Any = None, *rest: Any) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError(f"parameter rebuilt from a {type(data).__name__}, not a tensor")
    if backward_hooks:
        raise pickle.UnpicklingError("parameter carries backward hooks")
    return torch.nn.Parameter(data.detach(), requires_grad=bool(requires_grad))


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> torch.Tensor:
    if func not in (_rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter):
        raise pickle.UnpicklingError("tensor subclass rebuilt with a function outside the allow-list")
    tensor = func(*args)
    return torch.nn.Parameter(tensor) if new_type is torch.nn.Parameter else tensor


def _check_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        raise pickle.UnpicklingError("numpy object dtype (it could hold arbitrary objects)")
    return dtype


def _numpy_dtype(*args: Any) -> np.dtype:
    return _check_dtype(np.dtype(*args))


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    _check_dtype(dtype)
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _numpy_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("numpy array of a subclass")
    return np.ndarray.__new__(np.ndarray, shape, dtype=np.uint8)  # real dtype comes from __setstate__


def _allow_list() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _record_persistent_obj,
        ("dnnlib.util", "EasyDict"): _EasyDict,
        ("dnnlib", "EasyDict"): _EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("builtins", "complex"): complex,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
        ("torch", "Tensor"): torch.Tensor,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("numpy", "dtype"): _numpy_dtype,
        ("numpy", "ndarray"): np.ndarray,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "scalar")] = _numpy_scalar
        allowed[(module, "_reconstruct")] = _numpy_reconstruct
    for name in dir(torch):  # dtypes such as torch.float32 pickle as globals
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[("torch", name)] = getattr(torch, name)
    return allowed


_ALLOWED = _allow_list()


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only allow-listed globals; see the module docstring."""

    def __init__(self, file: Any, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            if module.startswith("dnnlib.tflib"):
                raise UnsafePickleError(
                    f"{self.source}: a TensorFlow StyleGAN pickle ({module}.{name}); convert it to the "
                    "PyTorch format with NVIDIA's stylegan2-ada-pytorch legacy.py first"
                ) from None
            raise UnsafePickleError(
                f"{self.source}: refused to load global {module}.{name} "
                "(not on the allow-list of harmless globals; nothing was executed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source}: pickle uses persistent ids ({str(pid)[:40]}); not a network pickle")


def safe_unpickle(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` with :class:`SafeUnpickler`; raises :class:`CheckpointError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(b"PK"):
            raise CheckpointError(f"{path}: is a zip/torch.save file, not a network pickle (.pkl)")
        if not head.startswith(b"\x80"):
            raise CheckpointError(f"{path}: not a pickle (file starts with {head!r})")
        handle.seek(0)
        try:
            return SafeUnpickler(handle, str(path)).load()
        except CheckpointError:
            raise
        except EOFError:
            raise CheckpointError(f"{path}: truncated pickle (ended before the data was complete)") from None
        except Exception as error:  # pickle raises many types on corrupt input
            message = str(error).splitlines()[0] if str(error) else ""
            raise CheckpointError(f"{path}: unreadable pickle ({type(error).__name__}: {message})") from None


def collect_state_dict(record: PersistentRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a recorded module tree into ``{dotted name: tensor}`` like ``Module.state_dict()``."""
    out: dict[str, torch.Tensor] = {}
    skip = record.attr("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        entries = record.attr(group) or {}
        for name, value in entries.items():
            if value is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{prefix}{name} is a {type(value).__name__}, not a tensor")
            out[prefix + name] = value.detach()
    for name, child in (record.attr("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise CheckpointError(f"{prefix}{name} is a {type(child).__name__}, not a recorded module")
        out.update(collect_state_dict(child, f"{prefix}{name}."))
    return out


_GENERATOR_POSITIONAL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")


def config_from_record(record: PersistentRecord, source: str) -> GeneratorConfig:
    """Read NVIDIA ``Generator`` init kwargs (and recorded attributes) into a :class:`GeneratorConfig`."""
    kwargs = dict(zip(_GENERATOR_POSITIONAL, record.init_args, strict=False))
    kwargs.update(record.init_kwargs)
    for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        if name not in kwargs and record.attr(name) is not None:
            kwargs[name] = record.attr(name)
    missing = [n for n in ("z_dim", "w_dim", "img_resolution") if n not in kwargs]
    if missing:
        raise CheckpointError(f"{source}: G_ema records no {', '.join(missing)}")
    mapping_kwargs = dict(kwargs.get("mapping_kwargs") or {})
    synthesis_kwargs = dict(kwargs.get("synthesis_kwargs") or {})
    synthesis = record.child("synthesis")
    mapping = record.child("mapping")
    if synthesis is None or mapping is None:
        raise CheckpointError(f"{source}: G_ema has no synthesis/mapping sub-networks")
    if synthesis.child("b4") is None:
        layers = ", ".join(list((synthesis.attr("_modules") or {}).keys())[:4])
        raise CheckpointError(
            f"{source}: unknown architecture: synthesis layers are {layers} ... "
            "(not StyleGAN2 blocks b4, b8, ...; StyleGAN3 generators are not supported)"
        )
    architecture = synthesis.child("b4").attr("architecture", synthesis_kwargs.get("architecture", "skip"))
    if architecture != "skip":
        raise CheckpointError(f"{source}: unknown architecture {architecture!r}: aufx supports StyleGAN2 'skip' generators")
    taps = synthesis_kwargs.get("resample_filter", _STANDARD_FILTER)
    if [float(t) for t in taps] != [float(t) for t in _STANDARD_FILTER]:
        raise CheckpointError(f"{source}: resample_filter {list(taps)} is not supported (expected {_STANDARD_FILTER})")
    for key, default in (("embed_features", None), ("layer_features", None), ("activation", "lrelu")):
        value = mapping_kwargs.get(key, default)
        if value not in (default, kwargs["w_dim"]):
            raise CheckpointError(f"{source}: mapping_kwargs {key}={value!r} is not supported")
    layer_kwargs = dict(synthesis_kwargs.get("layer_kwargs") or {})
    for key, default in (("use_noise", True), ("activation", "lrelu"), ("kernel_size", 3)):
        if layer_kwargs.get(key, default) != default:
            raise CheckpointError(f"{source}: synthesis layer_kwargs {key}={layer_kwargs[key]!r} is not supported")
    fc0 = mapping.child("fc0")
    lr_multiplier = mapping_kwargs.get("lr_multiplier", 0.01)
    if fc0 is not None and fc0.attr("bias_gain") is not None:
        lr_multiplier = float(fc0.attr("bias_gain"))
    w_avg_beta = mapping.attr("w_avg_beta", mapping_kwargs.get("w_avg_beta", 0.995))
    # The recorded layer attribute wins: the stylegan3 repo's blocks default to conv_clamp=256,
    # stylegan2-ada-pytorch's to None, and kwargs omit defaults.
    conv_clamp = synthesis_kwargs.get("conv_clamp")
    first_layer = synthesis.child("b4").child("conv1")
    if first_layer is not None and "conv_clamp" in first_layer.state:
        conv_clamp = first_layer.attr("conv_clamp")
    try:
        return GeneratorConfig(
            img_resolution=int(kwargs["img_resolution"]),
            z_dim=int(kwargs["z_dim"]),
            w_dim=int(kwargs["w_dim"]),
            c_dim=int(kwargs.get("c_dim", 0)),
            img_channels=int(kwargs.get("img_channels", 3)),
            channel_base=int(synthesis_kwargs.get("channel_base", 32768)),
            channel_max=int(synthesis_kwargs.get("channel_max", 512)),
            mapping_layers=int(mapping.attr("num_layers", mapping_kwargs.get("num_layers", 8))),
            mapping_lr_multiplier=float(lr_multiplier),
            w_avg_beta=float(w_avg_beta) if w_avg_beta is not None else 0.995,
            conv_clamp=float(conv_clamp) if conv_clamp is not None else None,
        )
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: bad generator settings: {error}") from None


def _plain(value: Any, depth: int = 0) -> Any:
    """Reduce recorded metadata (EasyDicts, numpy scalars) to JSON-friendly values."""
    if depth > 6:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def load_nvidia_pkl(path: str | os.PathLike, key: str = "G_ema") -> tuple[Generator, dict]:
    """Load the StyleGAN2 ``G_ema`` of an NVIDIA ``.pkl``; returns (generator in eval mode, metadata)."""
    path = Path(path)
    data = safe_unpickle(path)
    if isinstance(data, PersistentRecord):
        record = data
    elif isinstance(data, Mapping):
        record = data.get(key)
        if not isinstance(record, PersistentRecord):
            keys = ", ".join(map(str, data.keys())) or "none"
            raise CheckpointError(f"{path}: no network {key!r} in the pickle (its keys: {keys})")
    else:
        raise CheckpointError(f"{path}: pickle holds a {type(data).__name__}, not NVIDIA's dict of networks")
    if record.class_name != "Generator":
        raise CheckpointError(f"{path}: {key} is a {record.class_name}, not a Generator")
    config = config_from_record(record, str(path))
    generator = Generator(config)
    load_state_dict_strict(generator, collect_state_dict(record), str(path))
    metadata: dict[str, Any] = {
        "class_name": record.class_name,
        "module_src_sha256": record.source_sha256,
        "init_kwargs": _plain(record.init_kwargs),
    }
    if isinstance(data, Mapping) and isinstance(data.get("training_set_kwargs"), Mapping):
        metadata["training_set_kwargs"] = _plain(data["training_set_kwargs"])
    return generator.eval().requires_grad_(False), metadata


__all__: list[str] = [
    "PersistentRecord",
    "SafeUnpickler",
    "UnsafePickleError",
    "collect_state_dict",
    "config_from_record",
    "load_nvidia_pkl",
    "safe_unpickle",
]
