"""`--params FILE`: a command's settings from a params file, the one way for DVC stages and
people alike. (A leading underscore: cli.py registers no command from this module.)

The command's section of FILE (checked by `colorbench.params_schema`: unknown keys refused
with the closest name, types checked, one-line errors) gives an option's value unless the
option was given on the command line (click's parameter source). The value an option ends
with, from either place, is then checked against the same schema entry, so a setting has
one set of rules whatever its origin. Paths are never read from FILE: dvc.yaml passes each
one as an option.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from colorbench.errors import ColorbenchError

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_MISSING = object()


class CommaList(click.ParamType):
    """`a,b,c` on the command line, a YAML list in the params file; both become a list."""

    name = "LIST"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[str] | None:
        if value is None or isinstance(value, list):
            return value
        return [v.strip() for v in str(value).split(",") if v.strip()]


def _spec(section: str, dotted: str, top: bool = True) -> Any:
    """The schema entry of `dotted` inside `section` (or, with `top`, failing that from the
    file's top: `report.baseline`); None where the schema has none."""
    from colorbench.params import lookup
    from colorbench.params_schema import DERIVED, FILE, GLOBAL, SECTIONS

    for tree in ({**GLOBAL, **DERIVED, **SECTIONS.get(section, {})}, FILE if top else {}):
        spec = lookup(tree, dotted, _MISSING)
        if spec is not _MISSING:
            return spec
    return None


def _schema_value(value: Any) -> Any:
    """A click value as the params file would spell it (Path -> str, tuple -> list)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_schema_value(v) for v in value]
    return value


def bound_settings(
    ctx: click.Context,
    section: str,
    params_file: str | Path | None,
    keys: Mapping[str, str],
    given: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(option values, the section merged with the global keys, the whole file).

    keys: option name -> dotted key looked up in the section (global keys included), then
    from the file's top. An option given on the command line keeps its value."""
    from colorbench.params import load_params, lookup, section_of
    from colorbench.params_schema import check

    full = load_params(params_file, only=section) if params_file else {}
    cfg = section_of(full, section) if params_file else {}
    values = dict(given)
    by_name = {p.name: p for p in ctx.command.params}
    for name, dotted in keys.items():
        from_file = ctx.get_parameter_source(name) in (None, click.core.ParameterSource.DEFAULT)
        raw = lookup(cfg, dotted, _MISSING)
        if raw is _MISSING:
            raw = lookup(full, dotted, _MISSING)
        if from_file and raw is not _MISSING:
            try:
                values[name] = by_name[name].type_cast_value(ctx, raw)
            except click.BadParameter as exc:
                raise ColorbenchError(f"{params_file}: {section}.{dotted}: {exc.message}") from None
        spec = _spec(section, dotted)
        if spec is not None and values[name] is not None:
            check(_schema_value(values[name]), spec, f"{section}.{dotted}")
    return values, cfg, full


def bind_params(
    section: str, keys: Mapping[str, str] | None = None, default: str | None = None
) -> Decorator:
    """Add `--params FILE` and bind the command's options to FILE's `section`.

    keys: option name -> dotted params key, for options named otherwise (`workers` ->
    `num_workers`); every other option named like a key of the section's schema is bound
    by name. The callback receives `cfg` (the section plus the global keys) and `params`
    (the whole file) when it declares them; both are {} without a params file. `default`:
    a FILE read when it exists and --params is not given (`colorbench report`)."""

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        wants = set(inspect.signature(fn).parameters)

        def bind(ctx: click.Context, params_file: str | None, given: dict[str, Any]) -> tuple:
            if params_file is None and default is not None and Path(default).is_file():
                params_file = default
            bound = {
                p.name: (keys or {}).get(p.name, p.name)
                for p in ctx.command.params
                if p.name in (keys or {}) or _spec(section, p.name, top=False) is not None
            }
            bound = {k: v for k, v in bound.items() if k in given}
            return bound_settings(ctx, section, params_file, bound, given)

        @functools.wraps(fn)
        def wrapper(params_file: str | None, **given: Any) -> Any:
            values, cfg, full = bind(click.get_current_context(), params_file, given)
            extra = {"cfg": cfg, "params": full}
            return fn(**values, **{k: v for k, v in extra.items() if k in wants})

        def check_settings(ctx: click.Context) -> None:
            """Bind a parsed command line's settings and check them; run nothing
            (`colorbench profile check`)."""
            given = dict(ctx.params)
            bind(ctx, given.pop("params_file", None), given)

        wrapper.check_settings = check_settings  # type: ignore[attr-defined]

        help = f"Params file: its `{section}` section (and the global keys) gives the defaults; "
        help += "options given here override it."
        return click.option(
            "--params",
            "params_file",
            default=None,
            type=click.Path(exists=True, dir_okay=False),
            help=help + (f" [{default} when present]" if default else ""),
        )(wrapper)

    return apply
