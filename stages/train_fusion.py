"""DVC stage `train_fusion`: data/prepared -> models/fusion.pt (params: section train_fusion).

Multi-GPU: torchrun --nproc_per_node=N stages/train_fusion.py
"""

from __future__ import annotations

import sys

from colorbench.errors import ColorbenchError
from colorbench.params import section
from colorbench.train.fusion import train_fusion

if __name__ == "__main__":
    try:
        train_fusion(section("train_fusion"))
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
