"""Load a script of ``benchmarks/`` as a module (the folder is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_benchmark(stem: str) -> ModuleType:
    """``benchmarks/<stem>.py`` imported under the name ``stem``."""
    spec = importlib.util.spec_from_file_location(stem, ROOT / "benchmarks" / f"{stem}.py")
    assert spec is not None and spec.loader is not None, stem
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module  # dataclasses of the script look their module up there
    spec.loader.exec_module(module)
    return module
