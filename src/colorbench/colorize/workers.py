"""Thread-pool helpers of the colorize engine: decode the next batch while the model runs,
encode PNGs at most one batch behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor


def batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Prefetcher:
    """Decodes the next batch in worker threads while the model runs on this one."""

    def __init__(self, pool: ThreadPoolExecutor, fn: Callable, batches: list[Sequence]) -> None:
        self.pool, self.fn, self.batches = pool, fn, batches

    def _submit(self, batch: Sequence) -> list[Future]:
        return [self.pool.submit(self.fn, item) for item in batch]

    def __iter__(self) -> Iterator[tuple[Sequence, list]]:
        pending = self._submit(self.batches[0]) if self.batches else []
        for i, batch in enumerate(self.batches):
            current = [f.result() for f in pending]
            pending = self._submit(self.batches[i + 1]) if i + 1 < len(self.batches) else []
            yield batch, current


class Writer:
    """PNG encoding in worker threads, at most one batch behind (bounded memory)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.previous: list[Future] = []
        self.current: list[Future] = []

    def submit(self, fn: Callable, *args) -> None:
        self.current.append(self.pool.submit(fn, *args))

    def end_batch(self) -> None:
        for fut in self.previous:
            fut.result()
        self.previous, self.current = self.current, []

    def close(self) -> None:
        self.end_batch()
        self.end_batch()
