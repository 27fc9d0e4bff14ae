"""Method lookup by name. Every module in colorbench.methods, and every folder's method.py,
declares `NAMES` (the methods it provides) and, for output folders named after a pattern,
`PATTERNS` (e.g. `overlay_a<alpha>`): literals this registry reads from the source without
importing the module. Looking one method up imports only the module declaring it, so a
colorize stage runs (and its DVC deps list, tools/stage_deps.py) that method's code alone;
listing every method (the CLI's help, the report's order and labels) imports every
declaration. Adding a method never touches a dispatcher, a CLI choice list or a report
table. Method modules keep heavy imports (torch) inside `colorize`."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.methods.base import Method

_NOT_METHODS = {"base", "registry"}
_HOLE = re.compile(r"<[^<>]+>")


def literal_names(path: Path, name: str) -> tuple[str, ...]:
    """The strings a module-level `NAME = (...)` (or `NAME: T = (...)`) assigns, read from
    source without importing it; () when the file has none."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            try:
                found = ast.literal_eval(value)
            except ValueError:
                found = None
            if not isinstance(found, (tuple, list)) or not all(isinstance(x, str) for x in found):
                raise ColorbenchError(
                    f"{path}: {name} must be a literal tuple of strings (the registry reads "
                    "it without importing the file)"
                )
            return tuple(found)
    return ()


def _pattern(spelling: str) -> re.Pattern[str]:
    """`overlay_a<alpha>` -> a regex matching `overlay_a` and anything after it."""
    parts = _HOLE.split(spelling)
    return re.compile(".+".join(re.escape(p) for p in parts))


@functools.cache
def declared() -> dict[str, tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]]:
    """module -> (its NAMES, its PATTERNS compiled), read from the source of every method
    file (a one-file method, or a folder's method.py whose __init__ stays bare)."""
    base = Path(__file__).parent
    out = {}
    for path in sorted(base.iterdir(), key=lambda p: p.name):
        stem = path.stem if path.suffix == ".py" else path.name
        if stem in _NOT_METHODS or stem.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "method.py").is_file():
            module, source = f"{__package__}.{path.name}.method", path / "method.py"
        elif path.suffix == ".py":
            module, source = f"{__package__}.{stem}", path
        else:
            continue
        names = literal_names(source, "NAMES")
        out[module] = (names, tuple(_pattern(p) for p in literal_names(source, "PATTERNS")))
    return out


@functools.cache
def _methods_of(module_name: str) -> tuple[Method, ...]:
    module = importlib.import_module(module_name)
    methods = tuple(getattr(module, "METHODS", ()))
    declared_names = tuple(getattr(module, "NAMES", ()))
    if tuple(m.name for m in methods) != declared_names:
        raise ColorbenchError(
            f"{module.__name__}: NAMES {declared_names} must list its METHODS' names in order"
        )
    return methods


@functools.cache
def all_methods() -> tuple[Method, ...]:
    """Every method, in table order (imports every method declaration)."""
    found = [m for module in declared() for m in _methods_of(module)]
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise ColorbenchError(f"two methods share a name: {sorted(names)}")
    return tuple(sorted(found, key=lambda m: m.sort_key(m.name)))


def names() -> list[str]:
    return [m.name for m in all_methods()]


def find(name: str) -> Method | None:
    """The method producing output folder `name` (an exact name first, then patterns such
    as overlay_a<α>), or None. Imports only the module declaring it."""
    table = declared()
    owners = [module for module, (names_, _) in table.items() if name in names_]
    if len(owners) > 1:
        raise ColorbenchError(f"two methods share a name: {name!r} ({', '.join(owners)})")
    for module in owners:
        return next(m for m in _methods_of(module) if m.name == name)
    for module, (_, patterns) in table.items():
        if any(p.fullmatch(name) for p in patterns):
            found = next((m for m in _methods_of(module) if m.matches(name)), None)
            if found is not None:
                return found
    return None


def get(name: str) -> Method:
    method = find(name)
    if method is None:
        raise ColorbenchError(f"unknown method {name!r}; use one of {', '.join(choices())}")
    return method


def choices() -> list[str]:
    return [getattr(m, "spelling", m.name) for m in all_methods()]


def trained() -> list[str]:
    return [m.name for m in all_methods() if m.trained]


def label(name: str) -> str:
    """A results folder's row label in the report; unknown folders (external) keep the name."""
    method = find(name)
    return method.label_for(name) if method else name


def order(names: list[str]) -> list[str]:
    """Results folders in table order: by each method's order, then name; unknown last."""

    def key(name: str) -> tuple:
        method = find(name)
        return method.sort_key(name) if method else (10_000, name)

    return sorted(names, key=key)
