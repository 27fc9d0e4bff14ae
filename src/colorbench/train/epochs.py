"""The epoch loop of a TrainLoop: phases, batches, logging windows, epoch means, eval and
previews, and when checkpoints are written (see colorbench.train.loop)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from colorbench.errors import ColorbenchError
from colorbench.train import checkpointing as ckpt
from colorbench.train.distributed import ResumableSampler, all_true, shard_batches
from colorbench.train.logging import MetricLogger
from colorbench.train.step import EvalFn, HookFn, Phase, Position, PreviewFn, StepContext


class EpochsMixin:
    """TrainLoop's `run` and the phase/epoch loop (the attributes are TrainLoop's)."""

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
