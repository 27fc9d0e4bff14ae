"""Multi-process training under `torchrun`: process-group set-up and a resumable sampler.

`torchrun --nproc_per_node=N` sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT;
with WORLD_SIZE > 1 we join a process group (nccl on CUDA, gloo on CPU) and every rank trains
on its own shard of each epoch. Only rank 0 writes (checkpoints, logs, the final model).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from colorbench.device import resolve_device


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits: its rank among `world_size` and the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False  # True when we created the process group (and so destroy it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device_name: str = "auto") -> DistEnv:
    """Join the torchrun process group when WORLD_SIZE > 1; otherwise a single-process env.

    A process group created by the caller beforehand (tests, notebooks) is reused.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not (dist.is_available() and dist.is_initialized()):
        return DistEnv(0, 1, 0, resolve_device(device_name))
    device = resolve_device(device_name)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        owns = True
    return DistEnv(dist.get_rank(), dist.get_world_size(), local_rank, device, owns)


def barrier(env: DistEnv) -> None:
    if env.distributed:
        if env.device.type == "cuda":
            dist.barrier(device_ids=[env.device.index])
        else:
            dist.barrier()


def all_true(env: DistEnv, flag: bool) -> bool:
    """True only when `flag` is True on every rank (so all ranks take the same branch)."""
    if not env.distributed:
        return flag
    t = torch.tensor([0.0 if flag else 1.0], device=env.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.item() == 0.0


def shutdown(env: DistEnv) -> None:
    if env.owns_group and dist.is_initialized():
        dist.destroy_process_group()


class ResumableSampler(DistributedSampler):
    """DistributedSampler (seeded by seed + epoch, sharded by rank) that can start mid-epoch.

    The permutation depends only on (seed, epoch), never on global RNG state, so a resumed run
    sees exactly the data order of an uninterrupted one. `set_start(k)` skips the first k
    samples of this rank's shard (k = batches already done x batch size). It yields
    `(epoch, index)` keys so that datasets can draw per-epoch augmentation deterministically
    even inside persistent DataLoader workers (see `EpochKeyed`).
    """

    def __init__(
        self, n: int, *, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True
    ) -> None:
        # DistributedSampler only needs len(dataset); a range avoids holding the dataset here.
        super().__init__(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
        self._start = 0

    def set_start(self, k: int) -> None:
        self._start = max(0, int(k))

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = list(super().__iter__())[self._start :]
        epoch = self.epoch
        return iter([(epoch, i) for i in indices])

    def __len__(self) -> int:
        return max(0, self.num_samples - self._start)


def shard_batches(n: int, world_size: int, batch_size: int) -> int:
    """Full batches per rank per epoch (drop_last=True), as the DataLoader will yield them."""
    return math.ceil(n / world_size) // batch_size
