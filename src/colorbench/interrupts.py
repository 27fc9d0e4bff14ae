"""SIGTERM handled like Ctrl-C: raised as an exception in the main thread, so every
`atomic_*` context removes its temporary output and pools shut their workers down; then
the process exits quietly with the shell's codes (130 for SIGINT, 143 for SIGTERM)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM; a KeyboardInterrupt so code that cleans up after Ctrl-C does the same."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Turn SIGTERM into `Terminated` (main thread only: Python runs handlers there)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def exit_interrupted(exc: KeyboardInterrupt) -> None:
    """One line on stderr and the conventional exit code (128 + signal number)."""
    term = isinstance(exc, Terminated)
    print("terminated" if term else "interrupted", file=sys.stderr)
    sys.exit(128 + (signal.SIGTERM if term else signal.SIGINT))


def quiet_worker() -> None:
    """Initializer for pool worker processes: Ctrl-C goes to the parent (which shuts the
    pool down), and SIGTERM from the pool's terminate() ends a worker silently instead of
    raising (and printing tracebacks) in it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
