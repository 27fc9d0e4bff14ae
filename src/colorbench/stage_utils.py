"""Running a stage script's main (the stages not yet converted to `colorbench <command>`)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from colorbench.errors import ColorbenchError


def run_main(main: Callable[[], int | None], ledger_dir: str | None = None) -> None:
    """Run a stage's main() and exit with its return code; a ColorbenchError ends the
    stage with one line `error: ...` and exit code 1, Ctrl-C / SIGTERM with 130 / 143
    after cleaning up, never a traceback.

    `ledger_dir`: a folder among the stage's outputs that receives the list of pretrained
    files the stage loaded (weights_loaded.json), which the report shows."""
    from colorbench import reference
    from colorbench.interrupts import exit_interrupted, handle_sigterm

    handle_sigterm()
    reference.apply_torch()  # only under `colorbench reference` (torch is imported then only)
    try:
        code = main()
        if ledger_dir is not None and not code:
            from colorbench.weights_manifest import write_ledger

            write_ledger(ledger_dir)
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt as exc:
        exit_interrupted(exc)
    sys.exit(code)
