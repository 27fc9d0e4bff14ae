"""DVC stages colorize_*: one evaluation protocol's images colorized by one method ->
outputs/<protocol>/<method>/ (without --protocol: the test split -> outputs/<method>/)."""

from __future__ import annotations

import argparse

from colorbench.colorize.stage import run_stage
from colorbench.methods import registry
from colorbench.params import load_params, section
from colorbench.protocols import get
from colorbench.stage_utils import run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("method", help=" | ".join(registry.names()))
    parser.add_argument("--alpha", help="overlay weight of fg (folder overlay_a<ALPHA>)")
    parser.add_argument("--name", help="external method declared in colorize.external")
    parser.add_argument("--protocol", help="evaluation set declared in params protocols")
    args = parser.parse_args()
    protocol = get(load_params(), args.protocol) if args.protocol else None
    run_stage(args.method, section("colorize"), alpha=args.alpha, name=args.name, protocol=protocol)


if __name__ == "__main__":
    run_main(main)
