"""Registry of editing methods: ``get(name)`` builds an adapter, ``names()`` lists them in order.

The baselines register here (four image-to-image or reference methods, then the latent-space
InterFaceGAN and StyleSpace); aufx's own modes can be added with :func:`register` (by an adapter
module in ``baselines/`` that wraps the engine — the engine never imports ``baselines``).
Adapters are built lazily, so listing names imports no network code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baselines.base import Baseline


@dataclass(frozen=True)
class Entry:
    """A registered method: its name, a one-line description and ``module:Class`` of its adapter."""

    name: str
    description: str
    target: str  # "module:attribute", resolved on first use
    conditioning: str


_REGISTRY: dict[str, Entry] = {}


def register(name: str, description: str, target: str, conditioning: str) -> None:
    """Add a method (``target`` = ``"package.module:AdapterClass"`` or a factory function)."""
    if name in _REGISTRY and _REGISTRY[name].target != target:
        raise ValueError(f"method {name!r} is already registered as {_REGISTRY[name].target}")
    _REGISTRY[name] = Entry(name, description, target, conditioning)


register("stargan", "StarGAN (Choi et al. 2018): emotion-class conditioned image-to-image translation",
         "baselines.stargan:StarGAN", "emotion")
register("ganimation", "GANimation (Pumarola et al. 2018): AU-vector conditioned colour + attention generator",
         "baselines.ganimation:GANimation", "au-vector")
register("cascade-efgan", "Cascade EF-GAN (Wu et al. 2020): progressive AU editing with eyes/nose/mouth branches",
         "baselines.cascade_efgan:CascadeEFGAN", "au-vector")
register("gan-local-editing", "GAN Local Editing (Collins et al. 2020): region style transfer from a reference face",
         "baselines.gan_local_editing:GanLocalEditing", "reference-region")
register("interfacegan", "InterFaceGAN (Shen et al. 2020): linear SVM boundary per AU in W, edits along its normal",
         "baselines.interfacegan:InterFaceGAN", "au-vector")
register("stylespace", "StyleSpace (Wu et al. 2021): locally-active, AU-specific style channels moved by multiples of their std",
         "baselines.stylespace:StyleSpace", "au-vector")


def names() -> list[str]:
    """Registered method names in registration order."""
    return list(_REGISTRY)


def entries() -> list[Entry]:
    return list(_REGISTRY.values())


def adapter_class(name: str) -> Callable[..., Baseline]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; methods are: {', '.join(_REGISTRY)}")
    module_name, _, attribute = _REGISTRY[name].target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def get(name: str, load: bool = False, **kwargs: Any) -> Baseline:
    """Build the adapter ``name`` (keyword arguments go to its constructor).

    ``load=True`` also loads its bundled weights (an error says how to make them if absent).
    """
    adapter = adapter_class(name)(**kwargs)
    if load:
        adapter.load()
    return adapter
