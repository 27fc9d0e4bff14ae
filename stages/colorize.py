"""DVC stages colorize_*: the test split colorized by one method -> outputs/<method>/."""

from __future__ import annotations

import argparse
import sys

from colorbench.colorize_stage import run_stage
from colorbench.errors import ColorbenchError
from colorbench.params import section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("method", help="gray | unet | fg | bg | scgan | overlay | fused | external")
    parser.add_argument("--alpha", help="overlay weight of fg (folder overlay_a<ALPHA>)")
    parser.add_argument("--name", help="external method declared in colorize.external")
    args = parser.parse_args()
    try:
        run_stage(args.method, section("colorize"), alpha=args.alpha, name=args.name)
    except ColorbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
