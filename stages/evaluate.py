"""DVC stage `evaluate`: outputs/<protocol>/<method>/ on each protocol's evaluation set ->
reports/metrics.json (the primary protocol at the top level, every protocol under
`protocols`) and reports/per_image/[<protocol>/]<method>.csv."""

from __future__ import annotations

import logging
import sys

from colorbench.metrics.stage import evaluate_protocols
from colorbench.params import load_params, section
from colorbench.stage_utils import run_main


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    p = section("evaluate")
    evaluate_protocols(
        load_params(),
        metrics=p.get("metrics"),
        fid_mode=p.get("fid_mode", "standard"),
        bootstrap=int(p.get("bootstrap", 1000)),
        batch_size=int(p.get("batch_size", 32)),
        num_workers=int(p.get("num_workers", 2)),
        device=str(p.get("device", "auto")),
        seed=int(p.get("seed", 0)),
        profile=str(p.get("profile", "synthetic")),
        baseline=str(section("report").get("baseline", "gray")),
    )


if __name__ == "__main__":
    run_main(main, ledger_dir="reports/per_image")
