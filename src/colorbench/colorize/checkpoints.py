"""Run a model file through the colorize engine: load it, check its kind, pick its
predictor (colorbench.models.registry) and the size it was trained at."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from colorbench.colorize.engine import DEFAULT_MODEL_SIZE, colorize_images, model_size
from colorbench.device import resolve_device
from colorbench.errors import ColorbenchError
from colorbench.models import registry
from colorbench.models.checkpoint import Loaded, load_checkpoint


def load_kind(
    checkpoint: str | os.PathLike, device: str | torch.device, kind: str | None, user: str
) -> tuple[Loaded, torch.device]:
    """The checkpoint on the resolved device; when `kind` is given the checkpoint must hold
    that kind (`user` names who needs it in the error)."""
    device = resolve_device(device)
    loaded = load_checkpoint(checkpoint, device)
    if kind is not None and loaded.kind != kind:
        raise ColorbenchError(
            f"{user} needs a {kind} checkpoint; {checkpoint} holds kind {loaded.kind!r}"
        )
    return loaded, device


def colorize_with_checkpoint(
    checkpoint: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    kind: str,
    method: str,
    check: Callable[[Loaded], None] | None = None,
    size: int | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    names: Sequence[str] | None = None,
    workers: int = 2,
    fallback_size: int = DEFAULT_MODEL_SIZE,
    rejects: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Colorize `paths` with a model file of `kind` (a checkpoint of another network is
    refused, never silently used); `check(loaded)` may refuse it further."""
    loaded, device = load_kind(checkpoint, device, kind, f"--method {method}")
    if check is not None:
        check(loaded)
    return colorize_images(
        loaded.model,
        paths,
        out_dir,
        model_size(loaded, size, fallback_size),
        batch_size,
        device,
        predictor=registry.predictor(loaded.kind),
        names=names,
        workers=workers,
        rejects=rejects,
    )
