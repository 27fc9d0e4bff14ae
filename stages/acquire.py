"""DVC stage acquire@<dataset>: data/raw/<dataset>/ (params: acquire, seed)."""

from __future__ import annotations

import sys

from colorbench.data.acquire import acquire
from colorbench.errors import ColorbenchError
from colorbench.params import section


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python stages/acquire.py {synthetic|coco|places|imagenet|folder}",
            file=sys.stderr,
        )
        return 2
    try:
        summary = acquire(argv[0], section("acquire"))
    except ColorbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
