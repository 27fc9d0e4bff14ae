"""`colorbench train fusion`: the DVC stage train_fusion."""

from __future__ import annotations

from typing import Any

import click

from colorbench.commands.train import common, run, settings


@click.command("fusion")
@common
@settings("train_fusion")
def command(cfg: dict[str, Any], **options: Any) -> None:
    """Train the DenseFuse fusion autoencoder (section train_fusion: width, epochs,
    batch_size, lr, lambda_ssim, checkpoint_every)."""
    from colorbench.methods.paracolorizer.train_fusion import train_fusion

    run(train_fusion, cfg=cfg, **options)
