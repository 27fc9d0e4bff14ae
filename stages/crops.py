"""DVC stage `crops`: data/prepared (+ COCO annotations of prepare.sources) -> data/crops/."""

from __future__ import annotations

import os
import sys

from colorbench.detect import run_crops
from colorbench.detect.coco import annotations_from_sources
from colorbench.errors import ColorbenchError
from colorbench.params import section

PREPARED = "data/prepared"
OUT = "data/crops"


def main() -> None:
    p = section("crops")
    workers = int(p.get("num_workers", 0))
    s = run_crops(
        PREPARED,
        OUT,
        backend=p.get("backend", "annotations"),
        annotations=annotations_from_sources(section("prepare").get("sources", [])),
        score_threshold=p.get("score_threshold", 0.7),
        top_k=p.get("top_k", 8),
        min_box=p.get("min_box", 8),
        size=p.get("size", 64),
        materialize=p.get("materialize", True),
        batch_size=p.get("batch_size", 8),
        num_workers=(os.cpu_count() or 1) if workers < 0 else workers,
        device=p.get("device", "auto"),
        detector_min_size=p.get("detector_min_size", 800),
    )
    print(
        f"crops: {s.boxes} boxes in {s.images_with_boxes} of {s.images} main images",
        file=sys.stderr,
    )


if __name__ == "__main__":
    try:
        main()
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
