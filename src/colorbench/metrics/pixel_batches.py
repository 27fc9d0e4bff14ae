"""Decode-once batches of image pairs with their pixel metrics (numpy only, no torch).

Each batch item is decoded once to uint8 HxWx3 and its pixel metrics (PSNR, SSIM,
colourfulness, CNI) computed with exact integer numpy kernels, in the worker that decoded
it. Pixel metrics alone run in worker threads (zlib, Pillow and numpy release the GIL);
with networks, `colorbench.metrics.net_pass` hands the same items to DataLoader worker
processes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.errors import ColorbenchError
from colorbench.metrics.colorfulness import colorfulness_np
from colorbench.metrics.decode import read_rgb as _read_hwc
from colorbench.metrics.fidelity import SSIM_WIN, psnr_np, ssim_np
from colorbench.metrics.pairing import PIXEL


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """HxWx3 uint8 RGB (grey replicated, alpha on white), writable; see
    `colorbench.metrics.decode`.

    PIL, not torchvision.io: libpng was no faster here on small files, and importing
    torchvision costs seconds per process.
    """
    return np.array(_read_hwc(path))


class PairBatches:
    """Item = a list of pair indices -> one decoded batch with its pixel metrics (a map-style
    dataset: DataLoader takes it as is)."""

    def __init__(
        self, pairs: list[tuple[str, Path, Path]], keys: frozenset[str], pixels: tuple[bool, bool]
    ) -> None:
        self.pairs, self.keys, self.pixels = pairs, keys, pixels

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, idxs: list[int]) -> dict[str, Any]:
        try:
            return self._load(idxs)
        except ColorbenchError as exc:
            return {"error": str(exc)}

    def _load(self, idxs: list[int]) -> dict[str, Any]:
        names, preds, gts = [], [], []
        for i in idxs:
            name, pp, gp = self.pairs[i]
            p, g = _decode(pp), _decode(gp)  # HxWx3 uint8
            if p.shape != g.shape:
                raise ColorbenchError(
                    f"{name}: prediction is {p.shape[1]}x{p.shape[0]} but ground truth is "
                    f"{g.shape[1]}x{g.shape[0]}; colorize at the ground-truth size"
                )
            if "ssim" in self.keys and min(p.shape[:2]) < SSIM_WIN:
                raise ColorbenchError(f"{name}: {p.shape[1]}x{p.shape[0]} px is below SSIM's 7x7")
            names.append(name)
            preds.append(p)
            gts.append(g)
        n = len(names)
        values: dict[str, np.ndarray] = {k: np.empty(n) for k in self.keys & PIXEL}
        cf_gt = np.empty(n)
        for pos, p, g in by_shape(preds, gts):  # BxHxWx3 uint8 each
            if "psnr" in values:
                values["psnr"][pos] = psnr_np(p, g)
            if "ssim" in values:
                values["ssim"][pos] = ssim_np(p, g)
            if "colorfulness" in values:
                m, m_abs = colorfulness_np(p, with_abs="colorfulness_abs" in values)
                values["colorfulness"][pos] = m
                if m_abs is not None:
                    values["colorfulness_abs"][pos] = m_abs
            if "delta_colorful" in self.keys:
                cf_gt[pos] = colorfulness_np(g, with_abs=False)[0]
            if "cni" in values:
                from colorbench.metrics.cni import cni_batch

                values["cni"][pos] = cni_batch(p)
        keep_pred, keep_gt = self.pixels
        return {
            "error": None,
            "names": names,
            "values": values,
            "cf_gt": cf_gt if "delta_colorful" in self.keys else None,
            "pred": preds if keep_pred else None,
            "gt": gts if keep_gt else None,
        }


def _decode(path: Path) -> np.ndarray:
    try:
        return _read_hwc(path)
    except Exception as exc:  # any decoder failure is the file's fault
        raise ColorbenchError(f"cannot decode {path}: {exc}") from exc


def by_shape(*lists: list[np.ndarray]) -> Iterable[tuple[np.ndarray, ...]]:
    """Group parallel lists of HxWx3 arrays by shape -> (positions, stacked arrays...)."""
    if all(a.shape == lists[0][0].shape for a in lists[0]):  # the usual case: one size
        yield (np.arange(len(lists[0])), *(np.stack(lst) for lst in lists))
        return
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(lists[0]):
        groups.setdefault(t.shape, []).append(i)
    for pos in groups.values():
        yield (np.array(pos), *(np.stack([lst[i] for i in pos]) for lst in lists))


def batch_indices(n: int, batch_size: int) -> list[list[int]]:
    """[0..n) in consecutive batches of `batch_size` (the last one may be shorter)."""
    return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]


def pixel_batches(
    ds: PairBatches, batch_size: int, num_workers: int
) -> Iterator[dict[str, Any]] | Iterable[dict[str, Any]]:
    """The decoded batches with their pixel metrics, in order, on up to `num_workers`
    threads (< 0: one per core): no fork, pickling or worker teardown, which cost
    ~0.1-0.2 s per run with DataLoader processes. At most 2 batches per thread are in
    flight, so memory stays flat in N."""
    sampler = batch_indices(len(ds), batch_size)
    from colorbench.parallel import available_cores, worker_count

    cores = available_cores()
    workers = worker_count(num_workers)
    workers = min(workers, len(sampler)) if len(sampler) > 1 else 0
    # Threads beyond the idle cores only queue for them and evict each other's cache-sized
    # SSIM tiles (measured 10-30% slower than one thread on a busy machine), so take at
    # most the idle cores, as `make -l` does.
    workers = min(workers, _idle_cores(cores))
    if workers <= 1:
        return (ds[idxs] for idxs in sampler)
    return _threaded(ds, sampler, workers)


def _idle_cores(cores: int) -> int:
    """Cores free for this evaluation by the 1-minute load average, at least 1. The load
    counts the calling thread itself (it ran the imports and pairing just before), so
    that one is added back."""
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return cores
    return max(1, min(cores, round(cores - busy) + 1))


def _threaded(
    ds: PairBatches, sampler: Iterable[list[int]], workers: int
) -> Iterable[dict[str, Any]]:
    """`ds[idxs]` for each sampled batch on `workers` threads, yielded in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="colorbench-evaluate") as pool:
        pending: deque = deque()
        try:
            for idxs in sampler:
                pending.append(pool.submit(ds.__getitem__, idxs))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # an error batch stops the caller: drop the batches not yet started
            for f in pending:
                f.cancel()
