"""`colorbench saliency`: one saliency map per prepared image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _annotations as ann
from colorbench.commands import _options as opt
from colorbench.commands._bind import bind_params


@click.command("saliency")
@opt.prepared_option(required=True, exists=True)
@opt.out_dir_option()
@click.option(
    "--backend",
    type=click.Choice(["masks", "spectral", "deep"]),
    default="masks",
    show_default=True,
)
@ann.annotations_option("masks backend")
@opt.batch_size_option(32, "Batch size (deep).")
@opt.workers_option()
@opt.device_option("deep")
@click.option(
    "--weights",
    "deep_weights",
    default="u2netp",
    show_default=True,
    help="Registry entry of the deep model's weights.",
)
@click.option("--deep-size", default=320, show_default=True, help="Deep model input side.")
@click.option(
    "--deep-stretch/--no-deep-stretch",
    default=False,
    show_default=True,
    help="Min-max stretch each deep map (U^2-Net's test script); default keeps the sigmoid.",
)
@bind_params("saliency")
def command(
    prepared: Path, out: Path, annotations: tuple[str, ...], params: dict, **options: Any
) -> None:
    """Write OUT/<id>.png (uint8 0..255, the prepared size) for every image of PREPARED.

    \b
    backend masks:    union of the COCO instance masks (all-zero without annotations)
    backend spectral: spectral residual (Hou & Zhang 2007) on the L channel, no weights
    backend deep:     U^2-Net-p; install its weights with
                      `colorbench weights import DIR` (DIR holding u2netp.pth)
    """
    from colorbench.saliency import run_saliency

    # Every other option is named after a run_saliency keyword argument.
    s = ann.run_annotated(run_saliency, prepared, out, annotations, params, options)
    msg = f"{out}: {s.images} saliency maps ({options['backend']})"
    if options["backend"] == "masks":
        msg += f", {s.empty} all-zero"
    click.echo(msg)
