"""Pieces every concrete trainer shares: params checks, loop settings, quick PSNR, previews."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorbench.errors import ColorbenchError
from colorbench.train.checkpointing import file_digest
from colorbench.train.loop import LoopConfig

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


def loop_config(
    run_name: str,
    params: Mapping[str, Any],
    *,
    checkpoint_root: str | os.PathLike = "checkpoints",
    log_root: str | os.PathLike = "logs",
    resume: bool = True,
    progress: bool = True,
) -> LoopConfig:
    return LoopConfig(
        run_name=run_name,
        seed=int(params.get("seed", 0)),
        device=str(params.get("device", "auto")),
        batch_size=int(params["batch_size"]),
        num_workers=int(params.get("num_workers", 0)),
        checkpoint_every=int(params.get("checkpoint_every", 200)),
        log_every=int(params.get("log_every", 10)),
        checkpoint_root=Path(checkpoint_root),
        log_root=Path(log_root),
        resume=resume,
        progress=progress,
    )


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
