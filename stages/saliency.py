"""DVC stage `saliency`: data/prepared (+ COCO annotations of prepare.sources) -> data/saliency/."""

from __future__ import annotations

import os
import sys

from colorbench.detect.coco import annotations_from_sources
from colorbench.errors import ColorbenchError
from colorbench.params import section
from colorbench.saliency import run_saliency

PREPARED = "data/prepared"
OUT = "data/saliency"


def main() -> None:
    p = section("saliency")
    workers = int(p.get("num_workers", 0))
    s = run_saliency(
        PREPARED,
        OUT,
        backend=p.get("backend", "masks"),
        annotations=annotations_from_sources(section("prepare").get("sources", [])),
        batch_size=p.get("batch_size", 32),
        num_workers=(os.cpu_count() or 1) if workers < 0 else workers,
        device=p.get("device", "auto"),
        deep_weights=p.get("deep_weights", "u2netp"),
        deep_size=p.get("deep_size", 320),
    )
    print(f"saliency: {s.images} maps, {s.empty} all-zero", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
