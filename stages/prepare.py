"""DVC stage `prepare`: data/raw/... (params prepare.sources) -> data/prepared/."""

from __future__ import annotations

import sys

from colorbench.data.prepare import prepare
from colorbench.errors import ColorbenchError
from colorbench.params import section

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
    try:
        main()
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
