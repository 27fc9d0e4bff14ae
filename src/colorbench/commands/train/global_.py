"""`colorbench train global`: the DVC stage train_global. (The file is global_.py because
`global` is a Python keyword.)"""

from __future__ import annotations

from typing import Any

import click

from colorbench.commands.train import common, run


@click.command("global")
@common
def command(**options: Any) -> None:
    """Train SCGAN's global-feature network: a VGG-16-layout classifier on gray images
    (section train_global: width, epochs, batch_size, lr). Labels: the manifest's classes,
    else the COCO categories of the annotations declared in prepare.sources. With
    train_scgan.global_net random or none nothing is trained and OUT records that."""
    from colorbench.detect.coco import annotations_from_sources
    from colorbench.methods.scgan.train_global import train_global
    from colorbench.params import load_params

    full = load_params(options["params_file"])
    sources = (full.get("prepare") or {}).get("sources", [])
    global_net = str((full.get("train_scgan") or {}).get("global_net", "pretrained"))
    metrics = run(train_global, "train_global", annotations=annotations_from_sources(sources),
                  global_net=global_net, **options)  # fmt: skip
    # The saved network's BatchNorm statistics are recalibrated after training.
    top1 = metrics.get("classify/val_top1_recalibrated", metrics.get("classify/val_top1"))
    if top1 is not None:
        click.echo(f"train_global: val top-1 {top1:.3f}", err=True)
