"""DVC stage `train_evaluator`: the synthetic profile's classifier -> models/evaluator.pt
(+ dvclive logs in logs/train_evaluator)."""

from __future__ import annotations

import logging
import sys

from colorbench.metrics.train_evaluator import train_evaluator
from colorbench.params import section
from colorbench.stage_utils import run_main


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    p = section("train_evaluator")
    result = train_evaluator(
        arch=p.get("arch", "small_cnn"),
        width=int(p.get("width", 32)),
        epochs=int(p.get("epochs", 8)),
        batch_size=int(p.get("batch_size", 64)),
        lr=float(p.get("lr", 0.002)),
        seed=int(p.get("seed", 0)),
        device=str(p.get("device", "auto")),
        num_workers=int(p.get("num_workers", 2)),
    )
    print(f"evaluator: val acc {result['val_acc']} on {len(result['classes'])} classes",
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    run_main(main)
