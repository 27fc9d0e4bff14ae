"""Reading params.yaml (the active profile) for the commands' `--params`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = "params.yaml"
PROFILES_DIR = "profiles"


def load_params(
    path: str | os.PathLike = PARAMS_FILE, *, only: str | None = None
) -> dict[str, Any]:
    """params.yaml, checked against `colorbench.params_schema` (every section, or only the
    section `only` plus the global keys); a mismatch is one line naming the file and key."""
    from colorbench.errors import ColorbenchError
    from colorbench.params_schema import ParamsError, check_params

    try:
        with open(path) as fh:
            params = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ColorbenchError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(params, dict):
        raise ColorbenchError(f"{path}: expected a map of sections, got {type(params).__name__}")
    try:
        check_params(params, only)
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
    return params


# Sections whose `seed` is the global `train_seed` when that is set: `colorbench seeds` varies
# the methods' training alone, while the data, the split and the evaluator stay fixed.
TRAIN_SEED_SECTIONS = (
    "train_unet", "train_fg", "train_bg", "train_fusion", "train_global", "train_scgan",
)  # fmt: skip


def section(name: str, path: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    """One top-level section of params.yaml, plus the global keys (`seed`, `device`, ...)."""
    return section_of(load_params(path, only=name), name)


def section_of(params: dict[str, Any], name: str) -> dict[str, Any]:
    """`section` of params already loaded (and checked) by load_params."""
    out = {k: v for k, v in params.items() if not isinstance(v, dict)}
    out.update(params.get(name, {}))
    # `data_seed` keeps the global seed for data choices made inside a trainer (SCGAN's subset).
    out["data_seed"] = out.get("seed", 0)
    if name in TRAIN_SEED_SECTIONS and out.get("train_seed") is not None:
        out["seed"] = out["train_seed"]
    return out


def lookup(tree: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """tree["a"]["b"] for "a.b", or `default` where a key is missing."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def profile_path(name: str, root: str | os.PathLike = ".") -> Path:
    return Path(root) / PROFILES_DIR / f"{name}.yaml"
