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
from colorbench.commands._bind import bind_params

# Paths have no defaults: dvc.yaml (or the person) spells each one, the exact folder.
# The settings come from the params section through the one binder (commands/_bind.py):
# `--params FILE` (required) and `--set KEY=VALUE` overrides, checked by params_schema.
common = opt.options(
    opt.prepared_option(required=True, exists=True),
    opt.dir_option(
        "--checkpoints",
        required=True,
        help="The run's checkpoint folder, e.g. checkpoints/train_fg: last.pt, resumed after "
        "a kill.",
    ),
    opt.dir_option(
        "--logs",
        required=True,
        help="The run's dvclive folder, e.g. logs/train_fg (metrics, samples, "
        "weights_loaded.json).",
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
    Runs resume from CHECKPOINTS/last.pt after a kill (same params and data), log
    metrics with dvclive to LOGS/, and scale out with torchrun:
      torchrun --nproc_per_node=4 --no-python colorbench train colorizer fg \\
          --params params.yaml --prepared data/prepared --crops data/crops \\
          --checkpoints checkpoints/train_fg --logs logs/train_fg --out models/fg.pt
    """


def settings(section: str | Callable[[dict[str, Any]], str], **kw: Any) -> Callable:
    """A trainer's `--params FILE` (required) and `--set` overrides of its section."""
    return bind_params(section, required=True, overrides=True, **kw)


def run(
    train: Callable[..., dict[str, float]],
    *args: Any,
    cfg: dict[str, Any],
    prepared: Path,
    checkpoints: Path,
    logs: Path,
    out: Path,
    fresh: bool,
    quiet: bool,
    ledger: bool = False,
    **extra: Any,
) -> dict[str, float]:
    """train(*args, cfg, TrainRun(...), ...) with the `common` options; prints the final
    metrics. `ledger`: list the pretrained files it loaded in LOGS/weights_loaded.json (the
    report shows them)."""
    from colorbench.train.common import TrainRun

    where = TrainRun(prepared, out, checkpoints, logs, resume=not fresh, progress=not quiet)
    metrics = train(*args, cfg, where, **extra)
    if ledger:
        from colorbench.weights_manifest import write_ledger

        write_ledger(Path(logs))
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
