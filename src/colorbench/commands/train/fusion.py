"""`colorbench train fusion`: the DVC stage train_fusion."""

from __future__ import annotations

from typing import Any

import click

from colorbench.commands.train import common, run


@click.command("fusion")
@common
def command(**options: Any) -> None:
    """Train the DenseFuse fusion autoencoder (section train_fusion: width, epochs,
    batch_size, lr, lambda_ssim, checkpoint_every)."""
    from colorbench.methods.paracolorizer.train_fusion import train_fusion

    run(train_fusion, "train_fusion", **options)
