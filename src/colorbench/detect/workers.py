"""Machinery shared by the per-image stages (crops, saliency): input checks, process
pools and batched prediction with a bounded decode-ahead.

Workers only decode images, cut crops and write PNGs. Where the parent process runs no
torch (masks, spectral, annotation boxes), Linux `fork` is used after importing the
workers' modules once in the parent, so workers start in milliseconds instead of each
importing torch/skimage again. Where the parent runs a network (maybe on CUDA), `spawn`
keeps the workers clear of its CUDA context and thread pools.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, TypeVar

from colorbench.errors import ColorbenchError

T = TypeVar("T")
Imap = Callable[..., Iterator[Any]]  # imap(fn, items, chunksize=16), ordered like items


def check_inputs(
    stage: str, backend: str, backends: Sequence[str], prepared_dir: str | os.PathLike
) -> Path:
    """The prepared dir as a Path, after checking the backend name and its manifest."""
    if backend not in backends:
        raise ColorbenchError(
            f"unknown {stage} backend '{backend}'; use one of {', '.join(backends)}"
        )
    prepared_dir = Path(prepared_dir)
    if not (prepared_dir / "manifest.csv").is_file():
        raise ColorbenchError(f"{prepared_dir}/manifest.csv not found; run the prepare stage first")
    return prepared_dir


def make_pool(
    num_workers: int, *, parent_runs_torch: bool, preload: Iterable[str] = ()
) -> Pool | None:
    """A pool of `num_workers` processes (negative: every available core), or None for
    in-process work (0 or 1 worker)."""
    if num_workers is not None and num_workers < 0:
        from colorbench.data.prepare import available_cores

        num_workers = available_cores()
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
    from colorbench.interrupts import quiet_worker

    return mp.get_context("fork" if use_fork else "spawn").Pool(num_workers, quiet_worker)


@contextmanager
def worker_map(
    num_workers: int, *, parent_runs_torch: bool, preload: Iterable[str] = ()
) -> Iterator[Imap]:
    """An ordered `imap(fn, items, chunksize=16)` over a `make_pool` pool, or the built-in
    map in this process; the pool is closed on exit."""
    pool = make_pool(num_workers, parent_runs_torch=parent_runs_torch, preload=preload)

    def imap(fn: Callable, items: Iterable, chunksize: int = 16) -> Iterator:
        return pool.imap(fn, items, chunksize=chunksize) if pool is not None else map(fn, items)

    try:
        yield imap
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def predict_batches(
    predict: Callable[[list[Any]], Sequence[Any]],
    items: Sequence[T],
    load: Callable[[Any], Any],
    tasks: Sequence[Any],
    imap: Imap,
    *,
    batch_size: int,
    window: int,
    what: str,
) -> Iterator[tuple[T, Any, Any]]:
    """(item, decoded image, prediction) for every item, in order.

    The workers decode `load(tasks[i])` one window at a time (memory stays flat at any
    dataset size) while `predict` runs on batches of `batch_size` images in this process.
    `what` names the predictor in the error raised when it returns a wrong count.
    """
    for w0 in range(0, len(items), window):
        images = list(imap(load, tasks[w0 : w0 + window]))
        for b0 in range(0, len(images), batch_size):
            batch = images[b0 : b0 + batch_size]
            preds = predict(batch)
            if len(preds) != len(batch):
                raise ColorbenchError(
                    f"{what} returned {len(preds)} results for {len(batch)} images"
                )
            yield from zip(items[w0 + b0 : w0 + b0 + len(batch)], batch, preds, strict=True)
