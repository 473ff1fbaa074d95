"""Dependencies in ``baselines/`` run one way: shared modules never import method modules, no cycles.

Imports are read with ``ast`` from every module, including imports inside functions (lazy ones).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "baselines"
SHARED = {"base", "nets", "data", "checkpoints", "provenance", "training"}


def imported_modules(source: str, package: str = "baselines") -> set[str]:
    """Short names of the ``package`` modules that ``source`` imports anywhere (top level or lazily)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = node.module.split(".")[0] if node.module else None
                names = [f"{package}.{base}"] if base else [f"{package}.{a.name}" for a in node.names]
            elif node.module == package:
                names = [f"{package}.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith(f"{package}.")}
    return found


def import_graph(folder: Path = PACKAGE) -> dict[str, set[str]]:
    """Module short name -> the package's modules it imports (only modules that exist in ``folder``)."""
    modules = {path.stem: path for path in folder.glob("*.py") if path.stem != "__init__"}
    return {name: imported_modules(path.read_text()) & set(modules) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_parser_sees_lazy_relative_and_package_imports():
    source = (
        "from baselines.nets import PatchCritic\n"
        "import baselines.data\n"
        "from baselines import registry\n"
        "from .checkpoints import x\n"
        "def f():\n    from baselines.stargan import StarGAN\n"
    )
    assert imported_modules(source) == {"nets", "data", "registry", "checkpoints", "stargan"}


def test_cycle_finder_finds_mutual_and_longer_cycles():
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_shared_modules_exist():
    assert SHARED <= {path.stem for path in PACKAGE.glob("*.py")}


@pytest.mark.parametrize("module", sorted(SHARED))
def test_shared_module_imports_no_method_module(module):
    outside = import_graph()[module] - SHARED
    assert not outside, f"baselines/{module}.py imports {sorted(outside)}; shared modules import only {sorted(SHARED)}"


def test_no_import_cycles_in_baselines():
    assert find_cycle(import_graph()) is None, f"import cycle: {' -> '.join(find_cycle(import_graph()))}"


def test_every_trainable_method_owns_its_trainer():
    """The trainers ``aufx train`` offers live in their method's module and build the adapter's config."""
    from baselines import registry
    from baselines.train_cli import TRAINERS, trainer_class

    for method, target in TRAINERS.items():
        trainer = trainer_class(method)
        adapter = registry.adapter_class(method)
        assert target.split(":")[0] == adapter.__module__ == trainer.__module__
        assert adapter.trainer_class is trainer and trainer.method == method
        config = trainer.config_for(32, 8)
        assert config.image_size == 32 and config.d_repeat_num == 4
