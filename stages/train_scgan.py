"""DVC stage `train_scgan`: SCGAN (two phases, two critics, Table II ablations as params)
on data/prepared + data/saliency (+ models/global.pt, models/evaluator.pt) -> models/scgan.pt."""

from __future__ import annotations

import sys

from colorbench.methods.scgan.train import train_scgan
from colorbench.params import section
from colorbench.stage_utils import run_main


def main() -> None:
    metrics = train_scgan(
        section("train_scgan"),
        prepared_dir="data/prepared",
        saliency_dir="data/saliency",
        global_path="models/global.pt",
        evaluator_path="models/evaluator.pt",
        out="models/scgan.pt",
    )
    shown = {k: round(v, 4) for k, v in metrics.items() if "/val_" in k}
    print(f"train_scgan: {shown}", file=sys.stderr)


if __name__ == "__main__":
    run_main(main, ledger_dir="logs/train_scgan")
