"""`colorbench train`: ParaColorizer's GANs and fusion autoencoder; SCGAN and its global net.

One module per subcommand (colorizer, fusion, global_, scgan), found at run time like cli.py
finds commands, so a DVC stage's code is this file plus the one trainer it runs
(tools/stage_deps.py): editing SCGAN never re-runs the colorizers' training.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt


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


# Paths have no defaults: dvc.yaml (or the person) spells each one.
common = opt.options(
    opt.file_option(
        "--params",
        "params_file",
        required=True,
        exists=True,
        help="Parameter file (the active profile), e.g. params.yaml.",
    ),
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a key of the params section (repeatable; dotted keys for nested "
        "maps, e.g. --set generator.width=8 --set gan_epochs=0).",
    ),
    opt.prepared_option(required=True, exists=True),
    opt.dir_option(
        "--checkpoints",
        required=True,
        help="Checkpoint root, e.g. checkpoints: <root>/<run>/last.pt, resumed after a kill.",
    ),
    opt.dir_option(
        "--logs",
        required=True,
        help="dvclive root, e.g. logs: <root>/<run>/ (metrics, samples, weights_loaded.json).",
    ),
    opt.file_option("--out", required=True, help="The trained model file, e.g. models/fg.pt."),
    click.option(
        "--fresh", is_flag=True, help="Ignore an existing checkpoint and start from scratch."
    ),
    click.option("--quiet", is_flag=True, help="No progress bars."),
)


@click.group("train")
def command() -> None:
    """Train a network (the DVC stages train_colorizer@*, train_fusion, train_global, train_scgan).

    \b
    Runs resume from CHECKPOINTS/<run>/last.pt after a kill (same params and data),
    log metrics with dvclive to LOGS/<run>/, and scale out with torchrun:
      torchrun --nproc_per_node=4 --no-python colorbench train colorizer fg \\
          --params params.yaml --prepared data/prepared --crops data/crops \\
          --checkpoints checkpoints --logs logs --out models/fg.pt
    """


def section_settings(section_name: str, params_file: Path, sets: tuple[str, ...]) -> dict:
    """The params section with the --set overrides, checked by params.yaml's schema."""
    from colorbench.params import section
    from colorbench.params_schema import ParamsError, check_section

    params = apply_overrides(section(section_name, params_file), sets)
    try:
        check_section(section_name, params)
    except ParamsError as exc:
        raise ParamsError(f"--set {exc}") from None
    return params


def run(
    train: Callable[..., dict[str, float]],
    section_name: str,
    *args: Any,
    params_file: Path,
    sets: tuple[str, ...],
    prepared: Path,
    checkpoints: Path,
    logs: Path,
    fresh: bool,
    quiet: bool,
    ledger: bool = False,
    **extra: Any,
) -> dict[str, float]:
    """train(*args, params, ...) with the `common` options; prints the final metrics.
    `ledger`: list the pretrained files it loaded in LOGS/<run>/weights_loaded.json (the
    report shows them)."""
    params = section_settings(section_name, params_file, sets)
    metrics = train(
        *args,
        params,
        prepared_dir=prepared,
        checkpoint_root=checkpoints,
        log_root=logs,
        resume=not fresh,
        progress=not quiet,
        **extra,
    )
    if ledger:
        from colorbench.weights_manifest import write_ledger

        write_ledger(Path(logs) / section_name)
    shown = {k: v for k, v in metrics.items() if "val" in k or "epoch_loss" in k}
    if shown:
        click.echo("  ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items())), err=True)
    return metrics


def _register() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        sub = getattr(importlib.import_module(f"{__name__}.{mod.name}"), "command", None)
        if isinstance(sub, click.Command):
            command.add_command(sub)


_register()
