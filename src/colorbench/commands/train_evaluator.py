"""`colorbench train-evaluator`: the synthetic profile's classifier (Top-1 and the Fréchet
distance on its features), the DVC stage `train_evaluator`."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands import _options as opt
from colorbench.commands._bind import bind_params


@click.command("train-evaluator")
@opt.prepared_option(required=True, exists=True)
@opt.file_option("--out", required=True, help="The checkpoint, e.g. models/evaluator.pt.")
@opt.dir_option("--logs", required=True, help="dvclive folder, e.g. logs/train_evaluator.")
@click.option(
    "--arch",
    type=click.Choice(["small_cnn", "none"]),
    default="small_cnn",
    show_default=True,
    help="none: write a marker checkpoint (profiles without an evaluator).",
)
@click.option("--width", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--epochs", default=8, show_default=True, type=click.IntRange(min=0),
              help="0 with --arch none (profiles without an evaluator).")  # fmt: skip
@opt.batch_size_option(64)
@click.option("--lr", default=0.002, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@opt.device_option()
@opt.workers_option(2, "DataLoader worker processes.")
@bind_params("train_evaluator")
def command(prepared: Path, out: Path, logs: Path, **settings: object) -> None:
    """Train the image classifier on PREPARED's labels and write OUT."""
    import logging
    import sys

    from colorbench.metrics.train_evaluator import train_evaluator

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    result = train_evaluator(prepared, out, logs, **settings)
    click.echo(f"evaluator: val acc {result['val_acc']} on {len(result['classes'])} classes")
