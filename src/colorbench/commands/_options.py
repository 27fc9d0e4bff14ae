"""Click options shared by several commands, defined once so that a flag has the same
type, default and meaning everywhere. (A leading underscore: cli.py registers no command
from this module.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

PREPARED_HELP = "Prepared data dir (manifest.csv, images/)."


def options(*decorators: Decorator) -> Decorator:
    """Several options as one decorator; --help lists them in the order given."""

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def _path_option(*decls: str, path: click.Path, **kw: Any) -> Decorator:
    kw.setdefault("show_default", kw.get("default") is not None)
    return click.option(*decls, type=path, **kw)


def dir_option(*decls: str, exists: bool = False, **kw: Any) -> Decorator:
    """A folder (never a file), passed as a Path; a default is shown in --help."""
    return _path_option(
        *decls, path=click.Path(exists=exists, file_okay=False, path_type=Path), **kw
    )


def file_option(*decls: str, exists: bool = False, **kw: Any) -> Decorator:
    """A file (never a folder), passed as a Path; a default is shown in --help."""
    return _path_option(
        *decls, path=click.Path(exists=exists, dir_okay=False, path_type=Path), **kw
    )


def prepared_option(**kw: Any) -> Decorator:
    """--prepared: the prepare stage's output folder."""
    kw.setdefault("help", PREPARED_HELP)
    return dir_option("--prepared", **kw)


def out_dir_option(**kw: Any) -> Decorator:
    """--out: a required output folder, replaced atomically."""
    kw.setdefault("help", "Output dir (replaced atomically).")
    return dir_option("--out", required=True, **kw)


def batch_size_option(default: int, help: str | None = None) -> Decorator:
    return click.option(
        "--batch-size", default=default, show_default=True, type=click.IntRange(min=1), help=help
    )


def workers_option(default: int = 0, help: str = "Worker processes (-1: all cores).") -> Decorator:
    """--workers, passed as `num_workers` (the library's name)."""
    return click.option(
        "--workers", "num_workers", default=default, show_default=True, type=int, help=help
    )


def device_option(note: str = "") -> Decorator:
    help = "auto | cpu | cuda[:N]" + (f" ({note})." if note else ".")
    return click.option("--device", default="auto", show_default=True, help=help)
