"""`colorbench train global`: the DVC stage train_global. (The file is global_.py because
`global` is a Python keyword.)"""

from __future__ import annotations

from typing import Any

import click

from colorbench.commands.train import common, run, settings


@click.command("global")
@common
@click.option(
    "--global-net",
    "global_net",
    type=click.Choice(["pretrained", "random", "none"]),
    default="pretrained",
    show_default=True,
    help="train_scgan.global_net: unless pretrained, nothing is trained and OUT says why.",
)
@settings("train_global", keys={"global_net": "train_scgan.global_net"})
def command(global_net: str, cfg: dict[str, Any], params: dict[str, Any], **options: Any) -> None:
    """Train SCGAN's global-feature network: a VGG-16-layout classifier on gray images
    (section train_global: width, epochs, batch_size, lr). Labels: the manifest's classes,
    else the COCO categories of the annotations declared in prepare.sources. With
    train_scgan.global_net random or none nothing is trained and OUT records that."""
    from colorbench.detect.coco import annotations_from_sources
    from colorbench.methods.scgan.train_global import train_global

    sources = (params.get("prepare") or {}).get("sources", [])
    metrics = run(train_global, cfg=cfg, annotations=annotations_from_sources(sources),
                  global_net=global_net, **options)  # fmt: skip
    # The saved network's BatchNorm statistics are recalibrated after training.
    top1 = metrics.get("classify/val_top1_recalibrated", metrics.get("classify/val_top1"))
    if top1 is not None:
        click.echo(f"train_global: val top-1 {top1:.3f}", err=True)
