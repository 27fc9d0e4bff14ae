"""DVC stage `saliency`: data/prepared (+ COCO annotations of prepare.sources) -> data/saliency/.

Params: section `saliency`, keys named like run_saliency's keyword arguments (backend,
batch_size, num_workers, device, deep_weights, deep_size); absent keys take its defaults.
"""

from __future__ import annotations

import sys

from colorbench.detect.coco import source_annotations
from colorbench.params import section
from colorbench.saliency import run_saliency
from colorbench.stage_utils import call_with_params, run_main


def main() -> None:
    s = call_with_params(
        run_saliency,
        section("saliency"),
        "data/prepared",
        "data/saliency",
        annotations=source_annotations(),
    )
    print(f"saliency: {s.images} maps, {s.empty} all-zero", file=sys.stderr)


if __name__ == "__main__":
    run_main(main, ledger_dir="data/saliency")
