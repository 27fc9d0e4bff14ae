"""`device: auto` resolution, in one place."""

from __future__ import annotations

import torch

from colorbench.errors import ColorbenchError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' (CUDA when present) | 'cpu' | 'cuda[:N]' | torch.device -> torch.device; a bad
    name, or CUDA on a machine without it, is a one-line ColorbenchError."""
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(str(device))
        except RuntimeError:
            raise ColorbenchError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ColorbenchError(
            f"device {device} requested but CUDA is not available; use cpu or auto"
        )
    return dev
