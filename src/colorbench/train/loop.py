"""The shared training loop every colorbench trainer runs on.

A concrete trainer (ParaColorizer's colorizers, the fusion autoencoder, SCGAN, ...) builds a
`TrainLoop`, registers its named modules, optimisers and schedulers, describes its training as
a list of `Phase`s and calls `run`. The loop owns everything that is not the maths of one step.

Usage::

    loop = TrainLoop(LoopConfig(run_name="train_fg", seed=0, batch_size=32,
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
- Checkpoints: `checkpoints/<run_name>/last.pt` every `checkpoint_every` steps, at each
  epoch end and at each phase end, holding all trainable modules, optimisers, schedulers, the
  GradScaler, the position (phase, epoch, batch in epoch, global step) and python/numpy/torch
  /cuda RNG states, tagged with a hash of `run_config`. Written atomically by rank 0 between
  barriers; never from non-finite weights. On start the loop resumes from it when the hash
  matches and the run had not finished; otherwise it starts fresh (`LoopConfig.resume=False`
  forces a fresh start). On CPU a resumed run ends with bit-identical weights to an
  uninterrupted one (tested). A resume with a different world size restarts the interrupted
  epoch from its beginning (the shards would differ).
- Logging (rank 0): dvclive in `logs/<run_name>` (metrics `<phase>/<name>` averaged every
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from colorbench import reference
from colorbench.errors import ColorbenchError
from colorbench.train import checkpointing as ckpt
from colorbench.train.distributed import (
    DistEnv,
    ResumableSampler,
    all_true,
    barrier,
    init_distributed,
    shard_batches,
    shutdown,
)
from colorbench.train.logging import MetricLogger, snapshot_metrics

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
    seed: int = 0
    device: str = "auto"
    batch_size: int = 32
    num_workers: int = 0
    checkpoint_every: int = 200  # steps; 0 = only at epoch and phase ends
    log_every: int = 10
    checkpoint_root: Path = Path("checkpoints")
    log_root: Path = Path("logs")
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


class TrainLoop:
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
        self.checkpoint_path = Path(cfg.checkpoint_root) / cfg.run_name / ckpt.LAST
        self.log_dir = Path(cfg.log_root) / cfg.run_name
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

    # ---- checkpoints ----------------------------------------------------------------------

    def _state(self, finished: bool) -> dict[str, Any]:
        p = self._pos
        return {
            "config_hash": self.config_hash,
            "run_name": self.cfg.run_name,
            "finished": finished,
            "world_size": self.env.world_size,
            "position": {
                "phase": p.phase,
                "epoch": p.epoch,
                "batch": p.batch,
                "epoch_total": p.epoch_total,
                "step": p.step,
                "phase_step": p.phase_step,
                "epoch_sums": dict(p.epoch_sums),
                "epoch_count": p.epoch_count,
                "window": {k: list(v) for k, v in p.window.items()},
            },
            "modules": {n: self._raw[n].state_dict() for n in self._trainable},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            # dvc repro deletes logs/<run> before a resumed stage: keep its history here
            "log_history": snapshot_metrics(self.log_dir) if self.is_main else {},
        }

    def save_checkpoint(self, finished: bool = False) -> None:
        """Rank 0 writes `last.pt` atomically; other ranks wait. Refuses non-finite weights."""
        barrier(self.env)
        if self.is_main:
            bad = ckpt.nonfinite_tensors({n: self._raw[n] for n in self._trainable})
            if bad:
                raise NonFiniteLossError(
                    f"run {self.cfg.run_name!r}: non-finite weights ({', '.join(bad[:3])}) at "
                    f"step {self._pos.step}; not checkpointed. {self._kept_message()}"
                )
            ckpt.save_checkpoint(self.checkpoint_path, self._state(finished))
        self._last_good_step = self._pos.step
        barrier(self.env)

    def _kept_message(self) -> str:
        if self._last_good_step is None:
            return "No checkpoint was written before this point."
        return (
            f"The last good checkpoint (step {self._last_good_step}) is kept at "
            f"{self.checkpoint_path}."
        )

    def _try_resume(self) -> bool:
        barrier(self.env)
        if not self.cfg.resume:
            self._note("resume disabled: starting a fresh run")
            return False
        state = ckpt.load_checkpoint(self.checkpoint_path)
        if state is None:
            return False
        if state.get("config_hash") != self.config_hash:
            self._note(
                f"{self.checkpoint_path} belongs to a different configuration: starting fresh"
            )
            return False
        if state.get("finished"):
            self._note(f"{self.checkpoint_path} is a finished run: starting a new one")
            return False
        missing = set(self._trainable) - set(state["modules"])
        missing |= set(self.optimizers) - set(state["optimizers"])
        if missing:
            self._note(f"checkpoint lacks {sorted(missing)}: starting fresh")
            return False
        for n in self._trainable:
            self._raw[n].load_state_dict(state["modules"][n])
        for n, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][n])
        for n, s in self.schedulers.items():
            if n in state["schedulers"]:
                s.load_state_dict(state["schedulers"][n])
        if state["scaler"] and self.scaler.is_enabled():  # empty when saved without AMP
            self.scaler.load_state_dict(state["scaler"])
        pos = state["position"]
        self._pos = Position(**pos)
        if state.get("world_size") != self.env.world_size:
            # Shards differ with the world size: redo the interrupted epoch from its start.
            self._pos.batch, self._pos.epoch_sums, self._pos.epoch_count = 0, {}, 0
            self._pos.window = {}
        ckpt.set_rng_state(state["rng"])
        if self.env.rank:
            ckpt.seed_all(self.cfg.seed + 7919 * self.env.rank + self._pos.step)
        self._last_good_step = self._pos.step
        self.resumed_from = self._pos.step
        self._log_history = state.get("log_history") or {}
        self._note(f"resuming {self.cfg.run_name} from step {self._pos.step}")
        return True

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

    def run(
        self,
        phases: Sequence[Phase],
        dataset: Dataset,
        *,
        eval_fn: EvalFn | None = None,
        preview_fn: PreviewFn | None = None,
        on_step_end: HookFn | None = None,
    ) -> dict[str, float]:
        """Train through `phases` on `dataset` (resuming when possible).

        Returns the last epoch's metrics (`<phase>/epoch_<name>` and eval metrics).
        `on_step_end(ctx)` runs after every step (before its checkpoint); tests raise from it
        to simulate a kill.
        """
        if not phases:
            raise ValueError("no phases to run")
        datasets = [dataset if p.dataset is None else p.dataset for p in phases]
        for p, ds in zip(phases, datasets, strict=True):
            n = len(ds)  # type: ignore[arg-type]
            if (p.steps or p.epochs) and not self._batches(n):
                raise ColorbenchError(
                    f"run {self.cfg.run_name!r}: {n} training samples (phase {p.name!r}) are "
                    f"fewer than one batch ({self.cfg.batch_size} x {self.env.world_size} "
                    "processes); lower batch_size or add data"
                )
        resumed = self._try_resume()
        if not resumed and self.env.rank:
            ckpt.seed_all(self.cfg.seed + 7919 * self.env.rank)
        self.logger = MetricLogger(
            self.log_dir,
            enabled=self.is_main,
            resume_step=self._pos.step if resumed else None,
            params=self.run_config,
            history=self._log_history,
        )
        last: dict[str, float] = {}
        try:
            while self._pos.phase < len(phases):
                phase = phases[self._pos.phase]
                n = len(datasets[self._pos.phase])  # type: ignore[arg-type]
                sampler = ResumableSampler(
                    n, seed=self.cfg.seed, rank=self.env.rank, world_size=self.env.world_size
                )
                loader = self._loader(datasets[self._pos.phase], sampler)
                per_epoch = self._batches(n)
                last = self._run_phase(phase, loader, sampler, per_epoch, eval_fn, on_step_end)
                if preview_fn is not None and self.is_main:
                    ctx = StepContext(self, phase.name, self._pos)
                    with self._eval_mode():
                        images = preview_fn(ctx)
                    for name, img in images.items():
                        self.logger.image(f"samples/{phase.name}_{name}", img)
                self._pos = Position(
                    phase=self._pos.phase + 1,
                    epoch_total=self._pos.epoch_total,
                    step=self._pos.step,
                )
                self.save_checkpoint(finished=self._pos.phase >= len(phases))
            self.logger.flush()
        finally:
            self.logger.close()
        return last

    def _batches(self, n: int) -> int:
        """Batches per epoch of a dataset of n samples (per process)."""
        return shard_batches(n, self.env.world_size, self.cfg.batch_size)

    def _phase_done(self, phase: Phase) -> bool:
        if phase.steps is not None:
            return self._pos.phase_step >= phase.steps
        return self._pos.epoch >= phase.epochs

    def _run_phase(
        self,
        phase: Phase,
        loader: DataLoader,
        sampler: ResumableSampler,
        per_epoch: int,
        eval_fn: EvalFn | None,
        on_step_end: HookFn | None,
    ) -> dict[str, float]:
        from tqdm import tqdm

        self._set_modes(phase)
        last: dict[str, float] = {}
        every = self.cfg.checkpoint_every
        while not self._phase_done(phase):
            pos = self._pos
            sampler.set_epoch(pos.epoch_total)
            sampler.set_start(pos.batch * self.cfg.batch_size)
            total = "" if phase.steps is not None else f"/{phase.epochs}"
            bar = tqdm(
                total=per_epoch,
                initial=pos.batch,
                desc=f"{self.cfg.run_name} {phase.name} {pos.epoch + 1}{total}",
                file=sys.stderr,
                disable=not (self.is_main and self.cfg.progress),
                leave=False,
                dynamic_ncols=True,
            )
            for batch in loader:
                ctx = StepContext(self, phase.name, pos)
                window = pos.window  # checkpointed: a resumed run logs the same means
                metrics = phase.step_fn(self._to_device(batch), ctx)
                if ctx._stepped_opts:
                    self.scaler.update()
                values = {k: float(v) for k, v in metrics.items()}
                finite = all(np.isfinite(v) for v in values.values())
                if not all_true(self.env, finite):
                    bad = next((k for k, v in values.items() if not np.isfinite(v)), "a loss")
                    self._diverged(f"{bad} (another rank)" if finite else bad, values.get(bad), ctx)
                pos.batch += 1
                pos.step += 1
                pos.phase_step += 1
                for k, v in values.items():
                    pos.epoch_sums[k] = pos.epoch_sums.get(k, 0.0) + v
                    window.setdefault(k, []).append(v)
                pos.epoch_count += 1
                if phase.scheduler_interval == "step":
                    for s in phase.schedulers:
                        self.schedulers[s].step()
                if pos.step % max(1, self.cfg.log_every) == 0:
                    means = {k: float(np.mean(v)) for k, v in window.items()}
                    self.logger.log({f"{phase.name}/{k}": v for k, v in means.items()}, pos.step)
                    bar.set_postfix({k: f"{v:.4g}" for k, v in means.items()}, refresh=False)
                    window.clear()
                bar.update(1)
                if on_step_end is not None:
                    on_step_end(ctx)
                if phase.steps is not None and pos.phase_step >= phase.steps:
                    break
                if every and pos.step % every == 0 and pos.batch < per_epoch:
                    self.save_checkpoint()
            bar.close()
            window = pos.window
            if window:  # what is left of the logging window at the epoch's end
                means = {k: float(np.mean(v)) for k, v in window.items()}
                self.logger.log({f"{phase.name}/{k}": v for k, v in means.items()}, pos.step)
                window.clear()
            last = self._end_epoch(phase, eval_fn)
        return last

    def _end_epoch(self, phase: Phase, eval_fn: EvalFn | None) -> dict[str, float]:
        pos = self._pos
        keys = sorted(pos.epoch_sums)
        sums = torch.tensor(
            [pos.epoch_sums[k] for k in keys] + [pos.epoch_count], dtype=torch.float64
        )
        if self.env.distributed:
            import torch.distributed as dist

            sums = sums.to(self.device)
            dist.all_reduce(sums)
            sums = sums.cpu()
        count = max(1.0, float(sums[-1]))
        out = {f"{phase.name}/epoch_{k}": float(sums[i]) / count for i, k in enumerate(keys)}
        if phase.scheduler_interval == "epoch":
            for s in phase.schedulers:
                self.schedulers[s].step()
        if eval_fn is not None and self.is_main:
            ctx = StepContext(self, phase.name, pos)
            with self._eval_mode():
                out.update({f"{phase.name}/{k}": float(v) for k, v in eval_fn(ctx).items()})
        self.logger.log(out, pos.step)
        self.logger.flush()
        self._pos = Position(
            phase=pos.phase,
            epoch=pos.epoch + 1,
            epoch_total=pos.epoch_total + 1,
            step=pos.step,
            phase_step=pos.phase_step,
        )
        if not self._phase_done(phase):  # the phase end writes its own checkpoint
            self.save_checkpoint()
        return out

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        shutdown(self.env)
