"""`colorbench train colorizer NAME`: the DVC stage train_colorizer@NAME."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.commands.train import common, run, settings
from colorbench.methods.paracolorizer import GENERATORS


@click.command("colorizer")
@click.argument("name", type=click.Choice(list(GENERATORS)))
@common
@opt.dir_option(
    "--crops", required=True, help="Crops dir (boxes.csv, crops/) for use_crops, e.g. data/crops."
)
@settings(lambda given: f"train_{given['name']}", shown="train_NAME")
def command(name: str, crops: Path, cfg: dict[str, Any], **options: Any) -> None:
    """Train colorizer NAME: unet (pix2pix V1), fg (foreground GAN), bg (background GAN).

    Params: section train_NAME of --params (generator, discriminator, pretrain_epochs,
    gan_epochs, batch_size, lr_pretrain, lr_gan, lambda_l1, lambda_edge, use_crops,
    use_background, checkpoint_every) and the global seed, device, num_workers.
    """
    from colorbench.methods.paracolorizer.train_colorizer import train_colorizer

    # the ledger names the ImageNet encoder it loaded
    run(train_colorizer, name, cfg=cfg, crops_dir=crops, ledger=True, **options)
