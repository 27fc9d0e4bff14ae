"""Process pools for the crops and saliency stages.

Workers only decode images, cut crops and write PNGs. Where the parent process runs no
torch (masks, spectral, annotation boxes), Linux `fork` is used after importing the
workers' modules once in the parent, so workers start in milliseconds instead of each
importing torch/skimage again. Where the parent runs a network (maybe on CUDA), `spawn`
keeps the workers clear of its CUDA context and thread pools.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import sys
from collections.abc import Iterable
from multiprocessing.pool import Pool


def make_pool(
    num_workers: int, *, parent_runs_torch: bool, preload: Iterable[str] = ()
) -> Pool | None:
    """A pool of `num_workers` processes, or None for in-process work (0 or 1 worker)."""
    if num_workers is None or num_workers <= 1:
        return None
    use_fork = (
        not parent_runs_torch
        and sys.platform.startswith("linux")
        and "fork" in mp.get_all_start_methods()
    )
    if use_fork:
        for name in preload:
            importlib.import_module(name)
    return mp.get_context("fork" if use_fork else "spawn").Pool(num_workers)
