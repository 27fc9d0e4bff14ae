"""DVC stage `train_fusion`: data/prepared -> models/fusion.pt (params: section train_fusion).

Multi-GPU: torchrun --nproc_per_node=N stages/train_fusion.py
"""

from __future__ import annotations

from colorbench.methods.paracolorizer.train_fusion import train_fusion
from colorbench.params import section
from colorbench.stage_utils import run_main


def main() -> None:
    train_fusion(section("train_fusion"))


if __name__ == "__main__":
    run_main(main)
