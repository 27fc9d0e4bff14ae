"""Model files: {"format", "kind", "config", "state_dict", "meta"} written atomically.

`load_model` rebuilds the module from its kind and config through the registry and loads
the state dict strictly, so a file from another architecture or width fails loudly with a
ColorbenchError, never a silently half-initialised model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorbench.atomic import atomic_path, clear_stale
from colorbench.errors import ColorbenchError
from colorbench.models import registry

FORMAT = 1
KEYS = ("kind", "config", "state_dict")


@dataclass
class Loaded:
    kind: str
    model: nn.Module
    config: dict[str, Any]
    meta: dict[str, Any]


def save_model(
    path: str | os.PathLike,
    kind: str,
    cfg: dict[str, Any],
    model: nn.Module,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write `model`'s weights with what rebuilds it. `meta` holds plain values (numbers,
    strings, lists, dicts), e.g. {"image_size": 256, "epoch": 15}."""
    if kind not in registry.KINDS:
        registry.kind_builder(kind)  # loads plugins; raises for a kind nobody can rebuild
    # Unwrap DDP / torch.compile wrappers so the keys load into a plain module.
    inner = model
    for attr in ("module", "_orig_mod"):
        if isinstance(getattr(inner, attr, None), nn.Module):
            inner = getattr(inner, attr)
    state = {k: v.detach().cpu() for k, v in inner.state_dict().items()}
    payload = {
        "format": FORMAT,
        "kind": kind,
        "config": dict(cfg),
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    path = Path(path)
    clear_stale(path)  # temp files of killed earlier saves
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw payload, validated (tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise ColorbenchError(f"checkpoint {path} not found; train it first (dvc repro)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, foreign objects: all "corrupt"
        if _is_training_checkpoint(path):
            raise ColorbenchError(
                f"{path} is a training checkpoint (the resume state `colorbench train` keeps "
                "in checkpoints/<run>/last.pt), not a model file; use the model the run "
                "wrote when it finished (models/<name>.pt)"
            ) from None
        raise ColorbenchError(
            f"checkpoint {path} is unreadable or corrupt ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); delete it and retrain"
        ) from exc
    if not isinstance(payload, dict) or any(k not in payload for k in KEYS):
        raise ColorbenchError(
            f"{path} is not a colorbench model file (needs keys {list(KEYS)}); "
            "was it written by colorbench's save_model?"
        )
    if payload.get("format", FORMAT) > FORMAT:
        raise ColorbenchError(
            f"{path} has format {payload['format']}, newer than this colorbench ({FORMAT}); "
            "upgrade colorbench"
        )
    return payload


def _is_training_checkpoint(path: Path) -> bool:
    """Whether `path` is colorbench.train.checkpointing's last.pt, judged from the names
    in its pickle (read as bytes, never unpickled: the file may be anyone's)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            pkl = next((n for n in zf.namelist() if n.endswith("/data.pkl")), None)
            data = zf.read(pkl) if pkl else b""
    except (zipfile.BadZipFile, OSError, KeyError):
        return False
    return all(k in data for k in (b"config_hash", b"optimizers", b"position", b"rng"))


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Loaded:
    payload = read_checkpoint(path)
    kind, cfg = payload["kind"], payload["config"]
    builder = registry.kind_builder(kind)
    with registry.from_checkpoint():
        model = builder(dict(cfg))
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:400]
        raise ColorbenchError(
            f"{path}: weights do not fit a {kind} built from {cfg} ({detail}); "
            "the file and its config disagree — retrain"
        ) from exc
    from colorbench.device import resolve_device

    model.to(resolve_device(device)).eval()
    return Loaded(kind, model, dict(cfg), dict(payload.get("meta") or {}))


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """(model in eval mode on `device`, its config, its meta). Call .train() to resume."""
    loaded = load_checkpoint(path, device)
    return loaded.model, loaded.config, loaded.meta
