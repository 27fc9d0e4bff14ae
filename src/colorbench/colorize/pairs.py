"""Two colorized sets of the same images, paired for combining (overlay, fusion)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from colorbench.errors import ColorbenchError
from colorbench.infer import load_rgb, output_paths


def pairs(
    fg_paths: Sequence, bg_paths: Sequence, out_dir: str | os.PathLike, names: Sequence[str] | None
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(fg, bg) input pairs and their output paths; creates out_dir, which must hold
    neither a foreground nor a background input."""
    if len(fg_paths) != len(bg_paths):
        raise ColorbenchError(f"{len(fg_paths)} foreground vs {len(bg_paths)} background images")
    pairs = [(Path(a), Path(b)) for a, b in zip(fg_paths, bg_paths, strict=True)]
    outs = output_paths([p[0] for p in pairs], out_dir, names)
    output_paths([p[1] for p in pairs], out_dir, names)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return pairs, outs


def load_pair(pair: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    a, b = load_rgb(pair[0]), load_rgb(pair[1])
    if a.shape != b.shape:
        raise ColorbenchError(
            f"{pair[0]} ({a.shape[1]}x{a.shape[0]}) and {pair[1]} ({b.shape[1]}x{b.shape[0]}) "
            "differ in size; both must be colorizations of the same image"
        )
    return a, b
