"""The library's shape (README: Architecture): short files, no import cycles, and lower
layers (core helpers, data/, models/, metrics/) never importing higher ones (commands/,
report/, methods/, the CLI). Read from the source with ast: nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

SRC = REPO / "src"
PKG = SRC / "colorbench"
MAX_LINES = 400
# Over the limit until the method-registry work (issue 11 part A) splits them; an entry
# that is short again must leave this list.
PENDING_SPLIT: set[str] = set()
# Lazy imports in both directions, untangled by the same work.
PENDING_CYCLES: list[set[str]] = []
HIGHER = ("colorbench.commands", "colorbench.report", "colorbench.methods", "colorbench.cli")
LOWER_PACKAGES = ("data", "models", "metrics")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (lazy ones too), except `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """colorbench module -> the colorbench modules it imports (a submodule imported as
    `from package import sub` counts as `sub`; a module's own packages are not edges)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            subs = {f"{base}.{a.name}" for a in node.names} & set(mods)
            targets |= subs if len(subs) == len(node.names) else subs | {base}
        graph[name] = {
            t for t in targets if t in mods and t != name and not name.startswith(t + ".")
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_library_files_are_short() -> None:
    lengths = {str(p.relative_to(PKG)): len(p.read_text().splitlines()) for p in PKG.rglob("*.py")}
    long = {f: n for f, n in lengths.items() if n > MAX_LINES and f not in PENDING_SPLIT}
    assert not long, f"split these by concern (README: Architecture): {long}"
    short_again = {f for f in PENDING_SPLIT if lengths.get(f, 0) <= MAX_LINES}
    assert not short_again, f"drop {short_again} from PENDING_SPLIT"


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    new = [c for c in found if c not in PENDING_CYCLES]
    assert not new, f"import cycles: {new}"
    gone = [c for c in PENDING_CYCLES if c not in found]
    assert not gone, f"drop {gone} from PENDING_CYCLES"


def test_lower_layers_never_import_higher_ones() -> None:
    def lower(name: str) -> bool:
        parts = name.split(".")
        return len(parts) == 2 or (len(parts) > 2 and parts[1] in LOWER_PACKAGES)

    graph = import_graph()
    bad = {
        name: sorted(t for t in targets if t.startswith(HIGHER))
        for name, targets in graph.items()
        if lower(name) and not name.startswith(HIGHER) and name != "colorbench.__main__"
    }
    assert not {k: v for k, v in bad.items() if v}, bad


def test_the_checks_can_fail() -> None:
    """The graph sees lazy and relative imports and skips TYPE_CHECKING ones."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n"
        "def f():\n    from . import b\n"
    )
    names = [getattr(n, "module", None) or n.names[0].name for n in _runtime_imports(tree)]
    assert names == ["typing", "b"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
    graph = import_graph()
    assert "colorbench.params_schema" in graph["colorbench.commands._bind"]
    assert "colorbench.train.step" in graph["colorbench.train.loop"]
    assert "colorbench.train.loop" not in graph["colorbench.train.step"]  # TYPE_CHECKING only
