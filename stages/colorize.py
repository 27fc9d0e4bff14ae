"""DVC stages colorize_*: the test split colorized by one method -> outputs/<method>/."""

from __future__ import annotations

import argparse

from colorbench.colorize_stage import run_stage
from colorbench.params import section
from colorbench.stage_utils import run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("method", help="gray | unet | fg | bg | scgan | overlay | fused | external")
    parser.add_argument("--alpha", help="overlay weight of fg (folder overlay_a<ALPHA>)")
    parser.add_argument("--name", help="external method declared in colorize.external")
    args = parser.parse_args()
    run_stage(args.method, section("colorize"), alpha=args.alpha, name=args.name)


if __name__ == "__main__":
    run_main(main)
