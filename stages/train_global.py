"""DVC stage `train_global`: SCGAN's global-feature network (VGG-16-Gray classifier on the
prepared train images' L channel) -> models/global.pt."""

from __future__ import annotations

import sys

from colorbench.errors import ColorbenchError
from colorbench.params import section
from colorbench.train.global_net import train_global


def main() -> None:
    metrics = train_global(
        section("train_global"), prepared_dir="data/prepared", out="models/global.pt"
    )
    top1 = metrics.get("classify/val_top1")
    if top1 is not None:
        print(f"train_global: val top-1 {top1:.3f}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
