"""The shared training loop every colorbench trainer runs on.

A concrete trainer (ParaColorizer's colorizers, the fusion autoencoder, SCGAN, ...) builds a
`TrainLoop`, registers its named modules, optimisers and schedulers, describes its training as
a list of `Phase`s and calls `run`. The loop owns everything that is not the maths of one step.

Usage::

    loop = TrainLoop(LoopConfig(run_name="train_fg", checkpoint_dir=Path("checkpoints/train_fg"),
                                log_dir=Path("logs/train_fg"), seed=0, batch_size=32,
                                checkpoint_every=200), run_config=cfg)   # seeds all RNGs
    G = loop.add_module("G", build_generator(cfg["generator"]))   # -> device (+DDP, +channels_last)
    D = loop.add_module("D", build_discriminator(cfg["discriminator"]))
    vgg = loop.add_module("vgg", net, trainable=False)  # frozen: eval, no DDP, not checkpointed
    loop.add_optimizer("g", torch.optim.Adam(loop.parameters("G"), lr=2e-4, betas=(0.5, 0.999)))
    loop.add_optimizer("d", torch.optim.Adam(loop.parameters("D"), lr=2e-4, betas=(0.5, 0.999)))
    loop.add_scheduler("g_sched", torch.optim.lr_scheduler.StepLR(loop.optimizers["g"], 10, 0.5))

    def gan_step(batch, ctx):                       # batch: the collated dict, already on device
        with ctx.autocast():
            fake = ctx.module("G")(batch["L"])
            d_loss = ...
        ctx.zero_grad("d"); ctx.backward(d_loss, "d_loss"); ctx.step("d")
        with ctx.autocast():
            g_loss = ...
        ctx.zero_grad("g"); ctx.backward(g_loss, "g_loss"); ctx.step("g")
        return {"d_loss": d_loss, "g_loss": g_loss}   # floats or 0-d tensors, logged

    loop.run([Phase("pretrain", pre_step, epochs=6),
              Phase("gan", gan_step, epochs=2, schedulers=["g_sched"])],
             dataset, eval_fn=..., preview_fn=...)
    if loop.is_main: save_model(..., loop.unwrap("G"), ...)
    loop.close()

What the loop does
- Device placement: modules and every tensor of each batch go to the resolved device
  (`device: auto` = CUDA when present); AMP (autocast fp16 + one shared GradScaler) and
  channels_last on CUDA only (`LoopConfig.amp` / `channels_last` override).
- Data: a DataLoader (workers, pinned memory on CUDA, persistent workers, drop_last) over
  a `ResumableSampler`: the order depends only on (seed, epoch) and each rank gets its shard.
  Datasets may define `getitem_epoch(index, epoch)` to draw per-epoch augmentation
  deterministically (colorbench.train.data does); otherwise `dataset[index]` is used.
  A phase may bring its own dataset (`Phase(dataset=...)`); the others use `run`'s.
  Batch size is per process (global batch = batch_size x world size).
- Phases run in sequence (e.g. L1 pretraining, then adversarial). A phase lasts `epochs`
  epochs, or `steps` steps when given. Its `schedulers` step once per epoch (or per step with
  `scheduler_interval="step"`). `train` names the modules put in train() mode (the others
  eval()); default: all trainable modules.
- The step function does forward, backward and optimiser steps through the context:
  `ctx.autocast()`, `ctx.backward(loss, name)` (AMP loss scaling; raises `NonFiniteLossError`
  *before* a NaN/Inf loss can touch the weights, agreed across DDP ranks), `ctx.step(opt,
  clip=None)`, `ctx.zero_grad(*opts)`; `ctx.module(name)` is the (DDP-wrapped) module to train
  with, `ctx.unwrap(name)` the plain one, `ctx.scaler` the GradScaler (for gradient penalties
  under AMP: scale the outputs before autograd.grad and divide by `ctx.scaler.get_scale()`).
  `ctx.global_step` / `ctx.phase_step` / `ctx.epoch` / `ctx.batch_index` say where the step
  is. The loop calls `scaler.update()` after the step function (and `ctx.step` does it
  between two steps of one optimiser, e.g. several critic iterations per batch). Don't
  toggle `requires_grad` of a DDP module between steps: clear its grads instead.
  The returned metrics are checked for NaN/Inf too (the run stops, nothing is saved).
- Checkpoints: `<checkpoint_dir>/last.pt` every `checkpoint_every` steps, at each
  epoch end and at each phase end, holding all trainable modules, optimisers, schedulers, the
  GradScaler, the position (phase, epoch, batch in epoch, global step) and python/numpy/torch
  /cuda RNG states, tagged with a hash of `run_config`. Written atomically by rank 0 between
  barriers; never from non-finite weights. On start the loop resumes from it when the hash
  matches and the run had not finished; otherwise it starts fresh (`LoopConfig.resume=False`
  forces a fresh start). On CPU a resumed run ends with bit-identical weights to an
  uninterrupted one (tested). A resume with a different world size restarts the interrupted
  epoch from its beginning (the shards would differ).
- Logging (rank 0): dvclive in `log_dir` (metrics `<phase>/<name>` averaged every
  `log_every` steps, epoch means `<phase>/epoch_<name>` averaged over ranks, whatever
  `eval_fn` returns as `<phase>/<key>`, `preview_fn` images at phase ends under
  plots/images/samples/); tqdm progress on stderr.
- DDP under `torchrun` (WORLD_SIZE > 1): nccl on CUDA, gloo on CPU. `eval_fn` and
  `preview_fn` run on rank 0 only, with every module in eval(), and must use `ctx.unwrap`
  (a DDP forward is a collective and would hang).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from colorbench import reference
from colorbench.train import checkpointing as ckpt
from colorbench.train.distributed import DistEnv, ResumableSampler, init_distributed, shutdown
from colorbench.train.epochs import EpochsMixin
from colorbench.train.logging import MetricLogger
from colorbench.train.resume import ResumeMixin
from colorbench.train.step import (  # the loop's public names, importable from here
    EpochKeyed,
    EvalFn,
    HookFn,
    LoopConfig,
    Metrics,
    NonFiniteLossError,
    Phase,
    Position,
    PreviewFn,
    StepContext,
    StepFn,
)

__all__ = [
    "EvalFn", "HookFn", "LoopConfig", "Metrics", "NonFiniteLossError", "Phase", "Position",
    "PreviewFn", "StepContext", "StepFn", "TrainLoop",
]  # fmt: skip


class TrainLoop(ResumeMixin, EpochsMixin):
    """Named modules + optimisers + schedulers, trained through a list of phases."""

    def __init__(self, cfg: LoopConfig, run_config: Mapping[str, Any] | None = None) -> None:
        self.cfg = cfg
        self.env: DistEnv = init_distributed(cfg.device)
        self.device = self.env.device
        cuda = self.device.type == "cuda"
        self.amp = cuda if cfg.amp is None else (cfg.amp and cuda)
        self.channels_last = cuda if cfg.channels_last is None else cfg.channels_last
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.run_config = dict(run_config or {})
        self.config_hash = ckpt.config_hash(self.run_config)
        self.checkpoint_path = Path(cfg.checkpoint_dir) / ckpt.LAST
        self.log_dir = Path(cfg.log_dir)
        self.modules: dict[str, nn.Module] = {}
        self._raw: dict[str, nn.Module] = {}
        self._trainable: list[str] = []
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.logger: MetricLogger | None = None
        self.resumed_from: int | None = None
        self._log_history: dict[str, str] = {}
        self._last_good_step: int | None = None
        self._pos = Position()
        reference.apply_torch()  # `colorbench reference`: pinned kernels (no-op otherwise)
        # Model initialisation after this point is reproducible from the seed.
        ckpt.seed_all(cfg.seed)

    # ---- registration ---------------------------------------------------------------------

    @property
    def is_main(self) -> bool:
        return self.env.is_main

    @property
    def global_step(self) -> int:
        """Optimisation steps done so far (over all phases)."""
        return self._pos.step

    def add_module(self, name: str, module: nn.Module, *, trainable: bool = True) -> nn.Module:
        """Move to the device (channels_last on CUDA), wrap in DDP when distributed.

        Returns the module to train with (DDP-wrapped or plain). Frozen modules
        (`trainable=False`) stay in eval(), get no gradients and are not checkpointed.
        """
        if name in self._raw:
            raise ValueError(f"module {name!r} registered twice")
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)
        self._raw[name] = module
        if not trainable:
            module.eval().requires_grad_(False)
            self.modules[name] = module
            return module
        self._trainable.append(name)
        if self.env.distributed and any(p.requires_grad for p in module.parameters()):
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped: nn.Module = DDP(module, device_ids=ids)
        else:
            wrapped = module
        self.modules[name] = wrapped
        return wrapped

    def unwrap(self, name: str) -> nn.Module:
        return self._raw[name]

    def parameters(self, *names: str) -> list[nn.Parameter]:
        return [p for n in names for p in self._raw[n].parameters() if p.requires_grad]

    def add_optimizer(self, name: str, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        self.optimizers[name] = optimizer
        return optimizer

    def add_scheduler(self, name: str, scheduler: Any) -> Any:
        self.schedulers[name] = scheduler
        return scheduler

    def _note(self, msg: str) -> None:
        if self.is_main:
            from tqdm import tqdm

            tqdm.write(f"[{self.cfg.run_name}] {msg}", file=sys.stderr)

    def _diverged(self, name: str, value: Any, ctx: StepContext | None) -> None:
        where = f"phase {ctx.phase!r}, epoch {ctx.epoch}, step {ctx.global_step + 1}" if ctx else ""
        try:
            val = float(torch.as_tensor(value).detach().float().mean())
        except Exception:  # noqa: BLE001 - only for the message
            val = float("nan")
        raise NonFiniteLossError(
            f"run {self.cfg.run_name!r} diverged: {name} = {val} ({where}). "
            f"{self._kept_message()} Lower the learning rate or check the data; a changed "
            "configuration starts a fresh run."
        )

    # ---- the loop -------------------------------------------------------------------------

    def _to_device(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            t = batch.to(self.device, non_blocking=True)
            if self.channels_last and t.dim() == 4 and t.is_floating_point():
                t = t.contiguous(memory_format=torch.channels_last)
            return t
        if isinstance(batch, Mapping):
            return {k: self._to_device(v) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)) and not isinstance(batch, str):
            return type(batch)(self._to_device(v) for v in batch)
        return batch

    def _loader(self, dataset: Dataset, sampler: ResumableSampler) -> DataLoader:
        workers = self.cfg.num_workers
        return DataLoader(
            EpochKeyed(dataset),
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            drop_last=True,
            # Own generator: iterator creation must not consume the global RNG, or a resumed
            # run would draw different dropout masks than an uninterrupted one.
            generator=torch.Generator().manual_seed(self.cfg.seed),
        )

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        modes = {n: m.training for n, m in self._raw.items()}
        for m in self._raw.values():
            m.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            for n, m in self._raw.items():
                m.train(modes[n])

    def _set_modes(self, phase: Phase) -> None:
        active = set(self._trainable if phase.train is None else phase.train)
        for n in self._trainable:
            self._raw[n].train(n in active)

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        shutdown(self.env)
