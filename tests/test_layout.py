"""The core's architecture, checked from the source: imports flow one way, plugins use the public API.

The import graph is read with ``ast`` from every module of ``zoo_core``, imports inside functions and
``TYPE_CHECKING`` blocks included: a cycle hidden in a function body is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "zoo_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path, prefix: str) -> set[str]:
    """The ``prefix`` modules that ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == prefix)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != prefix:
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    """``module -> modules of zoo_core it imports`` for every module of ``zoo_core``."""
    graph = {}
    for path in sorted(CORE.rglob("*.py")):
        name = _module_name(path)
        graph[name] = {m for m in _imports(path, "zoo_core") if m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 40 and "zoo_core.host.hookspecs" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_plugins_import_only_the_public_api():
    bad = []
    for path in sorted((ROOT / "plugins").glob("*/src/**/*.py")):
        for module in _imports(path, "zoo_core"):
            if module not in ("zoo_core", "zoo_core.api"):
                bad.append(f"{path.relative_to(ROOT)}: {module}")
    assert not bad, "plugins may import zoo_core.api only:\n" + "\n".join(bad)


def test_private_torch_apis_stay_in_the_speed_path():
    """Only ``zoo_core/fast`` may call ``torch._*`` (private, version-bound APIs)."""
    bad = []
    for path in sorted([*CORE.rglob("*.py"), *(ROOT / "plugins").glob("*/src/**/*.py")]):
        if path.is_relative_to(CORE / "fast"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id == "torch"):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: torch.{node.attr}")
    assert not bad, "private torch APIs outside zoo_core/fast:\n" + "\n".join(bad)


def test_test_modules_have_unique_names_across_the_core_and_the_plugins():
    # One pytest run collects tests/ and every plugins/*/tests/ as top-level modules (no packages):
    # two files of one name fail collection with "import file mismatch".
    paths = [*(ROOT / "tests").glob("test_*.py"), *(ROOT / "plugins").glob("*/tests/test_*.py")]
    seen: dict[str, Path] = {}
    clashes = [f"{p.relative_to(ROOT)} and {seen[p.name].relative_to(ROOT)}" for p in paths
               if seen.setdefault(p.name, p) != p]
    assert not clashes, "test files sharing a name: " + "; ".join(clashes)
