"""colorbench.parallel: the one process-pool map (prepare, synth, crops, saliency)."""

from __future__ import annotations

import pytest

from colorbench.parallel import available_cores, make_pool, parallel_map, pool_map, worker_count


def _square(x: int) -> int:
    return x * x


def test_negative_workers_mean_every_available_core() -> None:
    assert worker_count(-1) == worker_count(None) == available_cores() >= 1
    assert worker_count(0) == 0 and worker_count(3) == 3
    with make_pool(2) as pool:
        assert pool._processes == 2


@pytest.mark.parametrize("workers", [0, 1, 2, -1])
def test_parallel_map_keeps_the_order_of_map(workers: int) -> None:
    items = list(range(203))
    assert list(parallel_map(_square, items, workers)) == [x * x for x in items]
    assert list(parallel_map(_square, items, workers, spawn=True, chunksize=7)) == [
        x * x for x in items
    ]
    assert list(parallel_map(_square, [], workers)) == []


def test_pool_map_serves_several_maps() -> None:
    with pool_map(2) as imap:
        assert list(imap(_square, range(5))) == [0, 1, 4, 9, 16]
        assert list(imap(_square, range(3), chunksize=1)) == [0, 1, 4]
