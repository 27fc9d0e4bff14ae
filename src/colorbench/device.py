"""`device: auto` resolution, in one place."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def as_device(device: str | torch.device) -> torch.device:
    """'auto' | 'cpu' | 'cuda[:N]' | torch.device -> torch.device, with a clear error when
    CUDA is asked for on a machine without it."""
    from colorbench.errors import ColorbenchError

    try:
        dev = device if isinstance(device, torch.device) else resolve_device(str(device))
    except RuntimeError as exc:
        raise ColorbenchError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ColorbenchError(
            f"device {device} requested but CUDA is not available; use cpu or auto"
        )
    return dev
