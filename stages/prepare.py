"""DVC stage `prepare`: data/raw/... (params prepare.sources) -> data/prepared/."""

from __future__ import annotations

import sys

from colorbench.data.prepare import prepare
from colorbench.params import section
from colorbench.stage_utils import run_main

OUT = "data/prepared"


def main() -> None:
    p = section("prepare")
    summary = prepare(
        sources=p["sources"],
        out_dir=OUT,
        size=p["size"],
        seed=p["seed"],
        split=p.get("split", {}),
        gray_chroma_threshold=p.get("gray_chroma_threshold", 4.0),
        keep_grayscale=p.get("keep_grayscale", False),
        max_pixels=p.get("max_pixels", 89_478_485),
        workers=p.get("num_workers", -1),
        compress_level=p.get("png_compress_level", 1),
    )
    print(summary.describe(), file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
