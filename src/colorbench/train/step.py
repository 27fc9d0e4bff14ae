"""What a training step sees: the phase and loop settings, the run's position and the
`StepContext` handed to step/eval/preview functions (see colorbench.train.loop)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from colorbench.errors import ColorbenchError
from colorbench.train.distributed import all_true

if TYPE_CHECKING:
    from colorbench.train.loop import TrainLoop

Metrics = Mapping[str, "float | torch.Tensor"]
StepFn = Callable[[dict[str, Any], "StepContext"], Metrics]
EvalFn = Callable[["StepContext"], Mapping[str, float]]
PreviewFn = Callable[["StepContext"], Mapping[str, np.ndarray]]
HookFn = Callable[["StepContext"], None]


class NonFiniteLossError(ColorbenchError):
    """A loss became NaN/Inf; the last good checkpoint is kept."""


@dataclass
class Phase:
    """One stage of training with its own step function (see the module docstring)."""

    name: str
    step_fn: StepFn
    epochs: int = 1
    steps: int | None = None
    schedulers: Sequence[str] = ()
    scheduler_interval: str = "epoch"  # "epoch" | "step"
    train: Sequence[str] | None = None
    # The phase's own training data (e.g. ParaColorizer pretrains on COCO train only and
    # adds object crops for the GAN phase); None: the dataset given to `run`.
    dataset: Dataset | None = None

    def __post_init__(self) -> None:
        if self.scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"scheduler_interval must be epoch|step, not {self.scheduler_interval}"
            )
        if self.steps is None and self.epochs < 0:
            raise ValueError("epochs must be >= 0")


@dataclass
class LoopConfig:
    run_name: str
    checkpoint_dir: Path  # last.pt lives here (no default: the caller names the folder)
    log_dir: Path  # the dvclive folder
    seed: int = 0
    device: str = "auto"
    batch_size: int = 32
    num_workers: int = 0
    checkpoint_every: int = 200  # steps; 0 = only at epoch and phase ends
    log_every: int = 10
    amp: bool | None = None  # None: on CUDA only
    channels_last: bool | None = None  # None: on CUDA only
    resume: bool = True
    progress: bool = True


@dataclass
class Position:
    """Where the run is: the next step to execute."""

    phase: int = 0
    epoch: int = 0  # epoch within the phase
    batch: int = 0  # batches already done in this epoch
    epoch_total: int = 0  # epochs started before this one, over all phases (sampler seed)
    step: int = 0  # global steps done
    phase_step: int = 0
    epoch_sums: dict[str, float] = field(default_factory=dict)
    epoch_count: int = 0
    window: dict[str, list[float]] = field(default_factory=dict)  # values not yet logged


class StepContext:
    """What a step function (and eval/preview functions) may use; see the module docstring."""

    def __init__(self, loop: TrainLoop, phase: str, pos: Position) -> None:
        self.loop = loop
        self.phase = phase
        self.epoch = pos.epoch
        self.global_step = pos.step  # optimisation steps completed before this one
        self.phase_step = pos.phase_step
        self.batch_index = pos.batch
        self._stepped = False
        self._stepped_opts: set[str] = set()

    @property
    def device(self) -> torch.device:
        return self.loop.device

    @property
    def scaler(self) -> torch.amp.GradScaler:
        return self.loop.scaler

    @property
    def amp(self) -> bool:
        return self.loop.amp

    def module(self, name: str) -> nn.Module:
        return self.loop.modules[name]

    def unwrap(self, name: str) -> nn.Module:
        return self.loop.unwrap(name)

    def optimizer(self, name: str) -> torch.optim.Optimizer:
        return self.loop.optimizers[name]

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(
            device_type=self.device.type, dtype=torch.float16, enabled=self.loop.amp
        )

    def zero_grad(self, *names: str) -> None:
        for n in names:
            self.loop.optimizers[n].zero_grad(set_to_none=True)

    def backward(self, loss: torch.Tensor, name: str = "loss", retain_graph: bool = False) -> None:
        """Backpropagate `loss` (scaled under AMP) after checking it is finite on every rank."""
        finite = bool(torch.isfinite(loss.detach()).all())
        if not all_true(self.loop.env, finite):
            self.loop._diverged(name, loss, self)
        self.loop.scaler.scale(loss).backward(retain_graph=retain_graph)

    def step(self, name: str, clip: float | None = None) -> None:
        """Optimiser step through the GradScaler; optional gradient-norm clipping."""
        opt = self.loop.optimizers[name]
        if name in self._stepped_opts and self.loop.scaler.is_enabled():
            # A second step of one optimiser within a training step (e.g. several critic
            # iterations): GradScaler needs an update() between the two.
            self.loop.scaler.update()
            self._stepped_opts.clear()
        if clip is not None:
            self.loop.scaler.unscale_(opt)
            params = [p for g in opt.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip)
        self.loop.scaler.step(opt)
        self._stepped_opts.add(name)
        self._stepped = True


class EpochKeyed(Dataset):
    """Adapts a dataset to the sampler's (epoch, index) keys."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._fn = getattr(dataset, "getitem_epoch", None)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if callable(self._fn):
            return self._fn(index, epoch)
        return self.dataset[index]
