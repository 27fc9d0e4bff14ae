"""Profiles: complete params files under profiles/. The active one is params.yaml.

Switching copies a profile over params.yaml, so every stage sees plain top-level keys and
DVC re-runs exactly the stages whose params (or inputs) changed. `dvc exp run -S` keeps
working on params.yaml as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from colorbench.atomic import atomic_file
from colorbench.errors import ColorbenchError
from colorbench.params import PARAMS_FILE, PROFILES_DIR


def available(root: str | os.PathLike = ".") -> list[str]:
    return sorted(p.stem for p in (Path(root) / PROFILES_DIR).glob("*.yaml"))


def active(root: str | os.PathLike = ".") -> str | None:
    path = Path(root) / PARAMS_FILE
    if not path.exists():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get("profile")


def use(name: str, root: str | os.PathLike = ".") -> Path:
    """Make profile `name` the active params.yaml; returns the params path."""
    src = Path(root) / PROFILES_DIR / f"{name}.yaml"
    if not src.exists():
        raise ColorbenchError(
            f"no profile '{name}' (have: {', '.join(available(root)) or 'none'}) in {src.parent}"
        )
    text = src.read_text()
    if (yaml.safe_load(text) or {}).get("profile") != name:
        raise ColorbenchError(f"{src} must set `profile: {name}`")
    dst = Path(root) / PARAMS_FILE
    with atomic_file(dst) as fh:
        fh.write(text)
    return dst
