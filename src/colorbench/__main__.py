"""`python -m colorbench ...`: the CLI (e.g. under `torchrun --no-python` alternatives)."""

from colorbench.cli import main

main(prog_name="colorbench")
