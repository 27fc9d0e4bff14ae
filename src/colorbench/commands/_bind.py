"""`--params FILE`: a command's settings from a params file, the one way for DVC stages and
people alike. (A leading underscore: cli.py registers no command from this module.)

The command's section of FILE (checked by `colorbench.params_schema`: unknown keys refused
with the closest name, types checked, one-line errors) gives an option's value unless the
option was given on the command line (click's parameter source). The value an option ends
with, from either place, is then checked against the same schema entry, so a setting has
one set of rules whatever its origin. Paths are never read from FILE: dvc.yaml passes each
one as an option. A command that takes its whole section (the trainers) adds `--set
KEY=VALUE` overrides of it, checked by the same schema.
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


def _label(section: str, dotted: str, cfg_file: Mapping[str, Any]) -> str:
    """The params key an option is bound to, as a person finds it in the file: `section.key`
    for the section's own keys, the bare key for global keys and keys of other sections
    (`evaluate.fid_mode` bound by `report`, not `report.evaluate.fid_mode`)."""
    from colorbench.params import lookup
    from colorbench.params_schema import SECTIONS

    own = lookup(cfg_file.get(section) or {}, dotted, _MISSING) is not _MISSING
    if own or lookup(SECTIONS.get(section, {}), dotted, _MISSING) is not _MISSING:
        return f"{section}.{dotted}"
    return dotted


def apply_overrides(params: dict[str, Any], sets: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` (YAML value; dotted keys reach nested maps, e.g. generator.width=8)."""
    import yaml

    out = dict(params)
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        node = out
        parts = key.strip().split(".")
        for i, p in enumerate(parts[:-1]):
            child = node.get(p) or {}
            if not isinstance(child, dict):
                raise click.BadParameter(
                    f"{key}: {'.'.join(parts[: i + 1])} is not a map", param_hint="--set"
                )
            node[p] = dict(child)
            node = node[p]
        node[parts[-1]] = value
    return out


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
        label = _label(section, dotted, full)
        if from_file and raw is not _MISSING:
            try:
                values[name] = by_name[name].type_cast_value(ctx, raw)
            except click.BadParameter as exc:
                raise ColorbenchError(f"{params_file}: {label}: {exc.message}") from None
        spec = _spec(section, dotted)
        if spec is not None and values[name] is not None:
            check(_schema_value(values[name]), spec, label)
    return values, cfg, full


def _overridden(section: str, cfg: dict[str, Any], sets: tuple[str, ...]) -> dict[str, Any]:
    """The section (global keys included) with the --set overrides, checked by the schema."""
    from colorbench.params_schema import ParamsError, check_section

    cfg = apply_overrides(cfg, sets)
    try:
        check_section(section, cfg)
    except ParamsError as exc:
        raise ParamsError(f"--set {exc}") from None
    return cfg


def bind_params(
    section: str | Callable[[Mapping[str, Any]], str],
    keys: Mapping[str, str] | None = None,
    default: str | None = None,
    *,
    required: bool = False,
    overrides: bool = False,
    shown: str | None = None,
    preflight: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> Decorator:
    """Add `--params FILE` and bind the command's options to FILE's `section`.

    keys: option name -> dotted params key, for options named otherwise (`workers` ->
    `num_workers`) or kept in another section (`fid_mode` -> `evaluate.fid_mode`); every
    other option named like a key of the section's schema is bound by name. The callback
    receives `cfg` (the section plus the global keys) and `params` (the whole file) when it
    declares them; both are {} without a params file. `default`: a FILE read when it exists
    and --params is not given (`colorbench report`); `required`: --params must be given.
    `section` may be a function of the command's arguments (`train colorizer NAME` reads
    `train_NAME`; `shown` names it in the help). `overrides`: add `--set KEY=VALUE`
    (repeatable, dotted keys for nested maps) changing `cfg`, checked by the schema.
    `preflight(values, params)`: what else `colorbench profile check` verifies for this
    command (names it resolves at run time), raising ColorbenchError."""

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        wants = set(inspect.signature(fn).parameters)

        def bind(ctx: click.Context, params_file: str | None, given: dict[str, Any]) -> tuple:
            """(option values, cfg, the whole file) for one parsed command line."""
            sets = (given.pop("sets", None) or ()) if overrides else ()
            if params_file is None and default is not None and Path(default).is_file():
                params_file = default
            section_name = section(given) if callable(section) else section
            bound = {
                p.name: (keys or {}).get(p.name, p.name)
                for p in ctx.command.params
                if p.name in (keys or {}) or _spec(section_name, p.name, top=False) is not None
            }
            bound = {k: v for k, v in bound.items() if k in given}
            values, cfg, full = bound_settings(ctx, section_name, params_file, bound, given)
            if overrides:
                cfg = _overridden(section_name, cfg, sets)
            return values, cfg, full

        @functools.wraps(fn)
        def wrapper(params_file: str | None, **given: Any) -> Any:
            values, cfg, full = bind(click.get_current_context(), params_file, given)
            extra = {"cfg": cfg, "params": full}
            return fn(**values, **{k: v for k, v in extra.items() if k in wants})

        def check_settings(ctx: click.Context) -> None:
            """Bind a parsed command line's settings and check them; run nothing
            (`colorbench profile check`)."""
            given = dict(ctx.params)
            values, _cfg, full = bind(ctx, given.pop("params_file", None), given)
            if preflight is not None:
                preflight(values, full)

        wrapper.check_settings = check_settings  # type: ignore[attr-defined]

        name = shown or (section if isinstance(section, str) else "the command's")
        help = f"Params file: its `{name}` section (and the global keys) gives the defaults; "
        help += "options given here override it."
        if overrides:
            wrapper = click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="KEY=VALUE",
                help=f"Override a key of the `{name}` section (repeatable; dotted keys for "
                "nested maps, e.g. --set generator.width=8 --set gan_epochs=0).",
            )(wrapper)
        return click.option(
            "--params",
            "params_file",
            type=click.Path(exists=True, dir_okay=False),
            # no default where required: click takes an explicit None for a given value
            **({"required": True} if required else {"default": None}),
            help=help + (f" [{default} when present]" if default else ""),
        )(wrapper)

    return apply
