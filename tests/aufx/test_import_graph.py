"""The metric and analyzer modules import one another one way only (issue 16, item 7).

The graph is read from the source with :mod:`ast`, so imports inside functions (lazy imports)
count as much as those at module level. Importing ``a.b.c`` also runs the ``__init__`` of ``a``
and ``a.b``, so those packages are edges too (except the importer's own packages, which are
already being imported when it runs).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "aufx"

#: The modules whose imports once formed a circle:
#: aufx.metrics -> aufx.edit.analyzer -> aufx.real.analyzer -> aufx.real.metrics -> aufx.metrics.
WATCHED = ("aufx.metrics", "aufx.edit.analyzer", "aufx.real.analyzer", "aufx.real.metrics")


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file of the package."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _ancestors(name: str) -> list[str]:
    """``a.b.c`` -> [``a``, ``a.b``]."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports anywhere in its file (function bodies included)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importer's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets.add(source)
            # `from pkg import submodule` imports the submodule
            targets.update(f"{source}.{alias.name}" for alias in node.names)
    own = set(_ancestors(name)) | {name}
    edges = set()
    for target in targets:
        if target not in modules:
            continue
        edges.update(m for m in [*_ancestors(target), target] if m in modules and m not in own)
    return edges


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (directed edges)."""
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A shortest import path from ``start`` back to ``start`` ([start, ..., start]), or ``None``."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def test_the_parser_sees_lazy_imports() -> None:
    """The graph is not empty by mistake: an import inside a function body is an edge."""
    graph = import_graph()
    assert set(WATCHED) <= set(graph)
    assert "aufx.metrics" in graph["aufx.real.metrics"]  # module level
    assert "aufx.real.analyzer" in graph["aufx.edit.analyzer"]  # inside landmark_analyzer()


@pytest.mark.parametrize("module", WATCHED)
def test_no_import_cycle_through(module: str) -> None:
    cycle = _cycle_through(import_graph(), module)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
