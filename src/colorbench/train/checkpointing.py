"""Training checkpoints: atomic writes, a config hash so a changed run starts fresh, RNG state.

A checkpoint is one torch file `<checkpoint_dir>/last.pt` holding everything needed to
continue the run bit-for-bit on CPU: module / optimiser / scheduler / GradScaler states, the
position (phase, epoch, batch within the epoch, global step) and the RNG states. It is written
through `atomic_path`, so a kill during the write leaves the previous checkpoint intact, and
it is never written from a state with non-finite weights.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorbench.atomic import atomic_path, clear_stale
from colorbench.errors import ColorbenchError

FORMAT = 1
LAST = "last.pt"


def config_hash(config: Any) -> str:
    """Stable hash of a JSON-like run config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str | None:
    """sha256 of a small file (a manifest), or None when absent: part of a data fingerprint."""
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


def nonfinite_tensors(modules: dict[str, torch.nn.Module]) -> list[str]:
    """Names of parameters/buffers holding NaN or Inf (empty when the state is good)."""
    bad = []
    for mname, module in modules.items():
        for pname, t in list(module.named_parameters()) + list(module.named_buffers()):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                bad.append(f"{mname}.{pname}")
    return bad


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write `state` atomically (temp sibling + rename)."""
    state = {"format": FORMAT, **state}
    clear_stale(path)  # temp files of killed earlier saves
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None when there is none. A corrupt file is an error."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        # Our own file: it holds RNG states (numpy arrays, tuples), so not weights_only.
        state = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same thing
        raise ColorbenchError(
            f"cannot read checkpoint {p} ({exc}); delete it to start the run from scratch"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ColorbenchError(
            f"{p} is not a colorbench training checkpoint (format {FORMAT}); delete it to "
            "start the run from scratch"
        )
    return state
