"""Method lookup by name. Every module in colorbench.methods, and every folder's method.py,
that declares `METHODS` is found here, so adding a method never touches a dispatcher, a CLI
choice list or a report table. Modules are imported on first lookup; they keep heavy imports
(torch) inside `colorize`, so the report and the CLI's help stay light."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from colorbench.errors import ColorbenchError
from colorbench.methods.base import Method

_NOT_METHODS = {"base", "registry"}


@functools.cache
def all_methods() -> tuple[Method, ...]:
    import colorbench.methods as pkg

    found: list[Method] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name in _NOT_METHODS or info.name.startswith("_"):
            continue
        # a one-file method, or a folder whose method.py declares it (its __init__ stays
        # bare, so training code never imports colorize code)
        suffix = ".method" if info.ispkg else ""
        module = importlib.import_module(f"{pkg.__name__}.{info.name}{suffix}")
        methods = list(getattr(module, "METHODS", ()))
        declared = tuple(getattr(module, "NAMES", ()))
        if tuple(m.name for m in methods) != declared:
            raise ColorbenchError(
                f"{module.__name__}: NAMES {declared} must list its METHODS' names in order"
            )
        found += methods
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise ColorbenchError(f"two methods share a name: {sorted(names)}")
    return tuple(sorted(found, key=lambda m: m.sort_key(m.name)))


def names() -> list[str]:
    return [m.name for m in all_methods()]


def find(name: str) -> Method | None:
    """The method producing output folder `name` (an exact name first, then patterns such
    as overlay_a<α>), or None."""
    methods = all_methods()
    for m in methods:
        if m.name == name:
            return m
    return next((m for m in methods if m.matches(name)), None)


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
