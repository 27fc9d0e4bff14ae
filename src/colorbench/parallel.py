"""Process pools, in one place: an ordered parallel map whose workers ignore Ctrl-C (the
parent cleans up), `fork` where the parent's state may be shared, and an in-process map
when one worker (or too little work) makes a pool pointless."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any, TypeVar

T = TypeVar("T")
Imap = Callable[..., Iterator[Any]]  # imap(fn, items, chunksize=16), ordered like items


def available_cores() -> int:
    """The cores this process may run on (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(workers: int | None) -> int:
    """`workers` processes; negative (or None): every available core."""
    return available_cores() if workers is None or int(workers) < 0 else int(workers)


def make_pool(workers: int, *, spawn: bool = False) -> Pool:
    """A pool of quiet workers: `fork` (they inherit the parent's imports at no cost), or
    `spawn` where the parent holds state a child must not share (a CUDA context)."""
    from colorbench.interrupts import quiet_worker

    fork = not spawn and "fork" in mp.get_all_start_methods()
    return mp.get_context("fork" if fork else "spawn").Pool(workers, quiet_worker)


def parallel_map(
    fn: Callable[[Any], T],
    items: Iterable[Any],
    workers: int | None,
    *,
    spawn: bool = False,
    chunksize: int | None = None,
    min_items: int = 2,
) -> Iterator[T]:
    """fn(item) for every item, in order, over `workers` processes (negative: every core);
    in this process when there is one worker or fewer than `min_items` items. The default
    chunk gives each worker about 8 chunks of at most 64 items."""
    items = list(items)
    n = min(worker_count(workers), len(items))
    if n <= 1 or len(items) < max(2, min_items):
        yield from map(fn, items)
        return
    chunk = chunksize or max(1, min(64, len(items) // (n * 8)))
    with make_pool(n, spawn=spawn) as pool:
        yield from pool.imap(fn, items, chunksize=chunk)


@contextmanager
def pool_map(workers: int | None, *, spawn: bool = False) -> Iterator[Imap]:
    """An ordered `imap(fn, items, chunksize=16)` over one pool kept for several maps (or
    the built-in map with at most one worker); the pool is closed on exit."""
    n = worker_count(workers)
    pool = make_pool(n, spawn=spawn) if n > 1 else None

    def imap(fn: Callable, items: Iterable, chunksize: int = 16) -> Iterator:
        return pool.imap(fn, items, chunksize=chunksize) if pool is not None else map(fn, items)

    try:
        yield imap
    finally:
        if pool is not None:
            pool.close()
            pool.join()
