"""Pieces every concrete trainer shares: params checks, the loop's setup and teardown,
the val-batch hooks, saving the trained model, quick PSNR, previews."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorbench.errors import ColorbenchError
from colorbench.train.checkpointing import file_digest
from colorbench.train.loop import LoopConfig, Phase, StepContext, TrainLoop

# Global params keys that do not change what a run computes (so not in the config hash).
NOT_HASHED = ("num_workers", "profile")


def require(params: Mapping[str, Any], keys: Iterable[str], section: str) -> None:
    missing = [k for k in keys if k not in params]
    if missing:
        raise ColorbenchError(f"params.yaml section {section!r} lacks {missing}; add them")


def positive(params: Mapping[str, Any], keys: Iterable[str], section: str) -> None:
    for k in keys:
        v = params.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            raise ColorbenchError(f"{section}.{k} must be a non-negative number, got {v!r}")


def run_config(params: Mapping[str, Any], data_files: Iterable[str | os.PathLike]) -> dict:
    """What identifies a run: its params plus fingerprints of the data manifests it reads,
    so new data (same params) starts a fresh run instead of resuming the old one."""
    cfg = {k: v for k, v in params.items() if k not in NOT_HASHED}
    cfg["data"] = {str(p): file_digest(p) for p in data_files}
    return cfg


@dataclass(frozen=True)
class TrainRun:
    """Where a trainer reads and writes, and how it runs: the same for every trainer, so
    each takes `(params, run)` and the caller (the CLI, from dvc.yaml's cmd) names every
    path; the library has no default for any of them."""

    prepared_dir: Path  # the prepared data (manifest.csv, images/)
    out: Path  # the trained model file
    checkpoint_dir: Path  # last.pt, resumed after a kill
    log_dir: Path  # dvclive: metrics, samples, weights_loaded.json
    resume: bool = True
    progress: bool = True
    on_step_end: Any = None  # a hook after each step (tests stop a run with it)

    def __post_init__(self) -> None:
        for name in ("prepared_dir", "out", "checkpoint_dir", "log_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))

    @property
    def manifest(self) -> Path:
        return Path(self.prepared_dir) / "manifest.csv"


def loop_config(
    run_name: str,
    params: Mapping[str, Any],
    run: TrainRun,
    *,
    channels_last: bool | None = None,
) -> LoopConfig:
    return LoopConfig(
        run_name=run_name,
        checkpoint_dir=Path(run.checkpoint_dir),
        log_dir=Path(run.log_dir),
        seed=int(params.get("seed", 0)),
        device=str(params.get("device", "auto")),
        batch_size=int(params["batch_size"]),
        num_workers=int(params.get("num_workers", 0)),
        checkpoint_every=int(params.get("checkpoint_every", 200)),
        log_every=int(params.get("log_every", 10)),
        resume=run.resume,
        progress=run.progress,
        channels_last=channels_last,
    )


@contextmanager
def open_loop(
    run_name: str,
    params: Mapping[str, Any],
    run: TrainRun,
    data_files: Iterable[str | os.PathLike],
    *,
    loop_params: Mapping[str, Any] | None = None,
    channels_last: bool | None = None,
) -> Iterator[TrainLoop]:
    """A run's TrainLoop, closed on the way out. Its identity (what decides resume) is
    `params` + the data fingerprints; its settings come from `loop_params` (default
    `params`) so a trainer can pass validated values without changing that identity."""
    cfg = loop_config(
        run_name, params if loop_params is None else loop_params, run, channels_last=channels_last
    )
    loop = TrainLoop(cfg, run_config=run_config(params, data_files))
    try:
        yield loop
    finally:
        loop.close()


def with_epochs(phases: Sequence[Phase]) -> list[Phase]:
    """The phases that train at all (params may set a phase's epochs to 0)."""
    return [p for p in phases if p.epochs > 0]


def save_trained(
    loop: TrainLoop,
    run: TrainRun,
    kind: str,
    config: Mapping[str, Any],
    module: str,
    *,
    train_samples: int,
    metrics: Mapping[str, float],
    **meta: Any,
) -> dict[str, float]:
    """Rank 0 writes the loop's `module` as the run's model file (`run.out`); meta = `meta`
    plus what every trainer records (train_samples, steps, metrics). Returns `metrics`, the
    trainer's result."""
    from colorbench.models.checkpoint import save_model

    if loop.is_main:
        meta = {
            **meta,
            "train_samples": int(train_samples),
            "steps": int(loop.global_step),
            "metrics": dict(metrics),
        }
        save_model(run.out, kind, dict(config), loop.unwrap(module), meta)
    return dict(metrics)


class ValBatchHooks:
    """The loop's eval/preview hooks on one fixed val batch; without one (no val images)
    they report nothing. Subclasses implement `score` and `images`."""

    PREVIEW_ROWS = 6

    def __init__(self, eval_batch: dict[str, torch.Tensor] | None) -> None:
        self.eval_batch = eval_batch

    def val_batch(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        return {k: v.to(ctx.device) for k, v in (self.eval_batch or {}).items()}

    def score(self, ctx: StepContext) -> dict[str, float]:
        raise NotImplementedError

    def images(self, ctx: StepContext) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def evaluate(self, ctx: StepContext) -> dict[str, float]:
        return self.score(ctx) if self.eval_batch else {}

    def preview(self, ctx: StepContext) -> dict[str, np.ndarray]:
        return self.images(ctx) if self.eval_batch else {}

    def run(
        self, loop: TrainLoop, phases: Sequence[Phase], dataset: Any, run: TrainRun
    ) -> dict[str, float]:
        """`loop.run` with these hooks; the last epoch's metrics."""
        return loop.run(
            phases,
            dataset,
            eval_fn=self.evaluate,
            preview_fn=self.preview,
            on_step_end=run.on_step_end,
        )


def val_images(prepared_dir: str | os.PathLike, limit: int = 64) -> tuple[Any, dict | None]:
    """(the first `limit` val images, them stacked into one batch or None when there are none)."""
    from colorbench.train.data import eval_images, stack

    eval_set = eval_images(prepared_dir, "val", limit=limit)
    return eval_set, (stack(eval_set, range(len(eval_set))) if len(eval_set) else None)


def to_u8(rgb: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW in [0, 1] -> the uint8 values (as float) the metrics see."""
    return rgb.detach().float().clamp(0, 1).mul(255.0).round()


def psnr_u8(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR of Bx3xHxW images in [0, 1] after uint8 quantisation (data range 255),
    as skimage.metrics.peak_signal_noise_ratio computes it on uint8 RGB."""
    mse = (to_u8(pred).double() - to_u8(target).double()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(255.0**2 / mse.clamp_min(1e-10))


def grid(rows: list[torch.Tensor]) -> np.ndarray:
    """Columns of Bx3xHxW images in [0, 1] side by side, one image per row: HxWx3 uint8."""
    cols = [torch.cat(list(r.detach().float().clamp(0, 1).cpu()), dim=1) for r in rows]
    img = torch.cat(cols, dim=2)
    return img.mul(255).round().byte().permute(1, 2, 0).numpy()
