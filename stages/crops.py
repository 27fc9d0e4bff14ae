"""DVC stage `crops`: data/prepared (+ COCO annotations of prepare.sources) -> data/crops/.

Params: section `crops`, keys named like run_crops' keyword arguments (backend,
score_threshold, top_k, min_box, size, materialize, batch_size, num_workers, device,
detector_min_size); absent keys take run_crops' defaults.
"""

from __future__ import annotations

import sys

from colorbench.detect import run_crops
from colorbench.detect.coco import source_annotations
from colorbench.params import section
from colorbench.stage_utils import call_with_params, run_main


def main() -> None:
    s = call_with_params(
        run_crops, section("crops"), "data/prepared", "data/crops", annotations=source_annotations()
    )
    print(
        f"crops: {s.boxes} boxes in {s.images_with_boxes} of {s.images} main images",
        file=sys.stderr,
    )


if __name__ == "__main__":
    run_main(main, ledger_dir="data/crops")
