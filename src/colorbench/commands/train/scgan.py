"""`colorbench train scgan`: the DVC stage train_scgan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.commands.train import common, run, settings


@click.command("scgan")
@common
@opt.dir_option("--saliency", required=True, exists=True,
                help="Ground-truth saliency maps, e.g. data/saliency.")  # fmt: skip
@opt.file_option("--global-net", "global_path", required=True,
                 help="From `train global`, e.g. models/global.pt.")  # fmt: skip
@opt.file_option("--evaluator", "evaluator_path", required=True,
                 help="Perceptual features when perceptual_net is evaluator, e.g. "
                 "models/evaluator.pt.")  # fmt: skip
@settings("train_scgan")
def command(
    saliency: Path, global_path: Path, evaluator_path: Path, cfg: dict[str, Any], **options: Any
) -> None:
    """Train SCGAN in two phases (section train_scgan; Table II ablations are its switches:
    gan, attention_loss, perceptual, global_net, pixel_loss)."""
    from colorbench.methods.scgan.train import train_scgan

    run(train_scgan, cfg=cfg, saliency_dir=saliency, global_path=global_path,
        evaluator_path=evaluator_path, ledger=True, **options)  # fmt: skip
