"""Inference batches sized by pixels, not by a fixed image count.

Two budgets bound a batch:
  * network pixels per forward pass, per device type. On a CPU, throughput peaks while a
    layer's activations stay in cache: `benchmarks/bench_inference.py` measured ~65k px
    (one 256x256 image; sixteen 64x64) as fast as any larger batch, and batch 16 at 256x256
    at less than half batch 1's GFLOP/s. A GPU needs many pixels in flight to fill its
    cores, so its budget is large (64 images of 256x256).
  * full-resolution pixels held in host memory per batch (decoded Lab, outputs waiting
    for their PNG encoder; the prefetcher and writer keep about two batches each): a
    4000x3000 photo (12 Mpx, ~144 MB as float32 Lab) goes through alone, so peak memory
    is a few such images whatever the inputs.
The caller's batch size stays an upper bound. Networks here are per-sample in eval mode,
so the batch split never changes the outputs (checked by the tests).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

# Network input pixels per forward pass (see the module docstring).
NET_PX_BUDGET = {"cpu": 256 * 256, "cuda": 64 * 256 * 256}
HOST_PX_BUDGET = 8_000_000  # full-resolution pixels per batch


def device_budget(device: object) -> int:
    """Network pixels per pass on `device` (a torch.device or a string like 'cuda:0')."""
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    return NET_PX_BUDGET.get(kind, NET_PX_BUDGET["cuda"])


def net_batch(device: object, px_per_item: int, cap: int) -> int:
    """Items per forward pass: as many as the device's pixel budget holds, 1 to `cap`."""
    return max(1, min(int(cap), device_budget(device) // max(1, int(px_per_item))))


def plan_batches(
    pixels: Sequence[int], per_batch: int, host_budget: int | None = None
) -> list[list[int]]:
    """Consecutive index batches of at most `per_batch` items whose full-resolution pixels
    sum to at most `host_budget` (default HOST_PX_BUDGET); an item over the budget on its
    own forms its own batch."""
    host_budget = HOST_PX_BUDGET if host_budget is None else host_budget
    batches: list[list[int]] = []
    current: list[int] = []
    held = 0
    for i, px in enumerate(pixels):
        if current and (len(current) >= per_batch or held + px > host_budget):
            batches.append(current)
            current, held = [], 0
        current.append(i)
        held += px
    if current:
        batches.append(current)
    return batches


def header_pixels(path: str | os.PathLike) -> int:
    """width x height from the image header (no pixel decode); 0 when the header is
    unreadable: decoding reports that file later, with its own error."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:
        return 0
    return w * h
