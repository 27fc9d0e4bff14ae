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
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from colorbench.errors import ColorbenchError
from colorbench.parallel import Imap, pool_map, worker_count

T = TypeVar("T")


def check_inputs(
    stage: str, backend: str, backends: Sequence[str], prepared_dir: str | os.PathLike
) -> Path:
    """The prepared dir as a Path, after checking the backend name and its manifest."""
    if backend not in backends:
        raise ColorbenchError(
            f"unknown {stage} backend '{backend}'; use one of {', '.join(backends)}"
        )
    from colorbench.data.manifest import manifest_file

    return manifest_file(prepared_dir).parent


@contextmanager
def worker_map(
    num_workers: int, *, parent_runs_torch: bool, preload: Iterable[str] = ()
) -> Iterator[Imap]:
    """`colorbench.parallel.pool_map`: fork where the parent runs no torch, after importing
    `preload` once so that the workers inherit it; spawn otherwise."""
    spawn = parent_runs_torch or not sys.platform.startswith("linux")
    if not spawn and worker_count(num_workers) > 1:
        for name in preload:
            importlib.import_module(name)
    with pool_map(num_workers, spawn=spawn) as imap:
        yield imap


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
