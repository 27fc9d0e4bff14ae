"""DVC stage `train_colorizer@NAME`: data/prepared (+ data/crops) -> models/NAME.pt.

Usage: python stages/train_colorizer.py unet|fg|bg   (params: section train_NAME).
Multi-GPU: torchrun --nproc_per_node=N stages/train_colorizer.py NAME
"""

from __future__ import annotations

import sys

from colorbench.errors import ColorbenchError
from colorbench.methods.paracolorizer import GENERATORS as NAMES
from colorbench.methods.paracolorizer.train_colorizer import train_colorizer
from colorbench.params import section
from colorbench.stage_utils import run_main
from colorbench.weights_manifest import write_ledger


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) != 1 or argv[0] not in NAMES:
        raise ColorbenchError(f"usage: python stages/train_colorizer.py {'|'.join(NAMES)}")
    name = argv[0]
    train_colorizer(name, section(f"train_{name}"))
    write_ledger(f"logs/train_{name}")  # the ImageNet encoder it loaded, for the report


if __name__ == "__main__":
    run_main(main)
