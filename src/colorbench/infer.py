"""Image files for colorizing: listing a folder, reading any format as RGB, writing PNGs
atomically, and choosing output paths that never overwrite an input. The colorize engine
(colorbench.colorize.engine) and the methods use them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from colorbench.atomic import atomic_path
from colorbench.errors import ColorbenchError
from colorbench.imagefiles import IMAGE_EXTS, is_image_name


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ColorbenchError(f"input folder {folder} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p))
    if not paths:
        raise ColorbenchError(f"no images ({', '.join(IMAGE_EXTS)}) in {folder}")
    return paths


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Any PIL-readable image as HxWx3 uint8 RGB, decoded as prepare and evaluate decode
    (`colorbench.metrics.decode.read_rgb`); an unreadable file is a ColorbenchError naming it."""
    from colorbench.metrics.decode import read_rgb

    try:
        return np.array(read_rgb(path))
    except Exception as exc:  # any decoder failure is the file's fault: name it
        raise ColorbenchError(f"cannot read image {path}: {exc}") from exc


def save_png(path: Path, rgb: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG")


def output_paths(
    inputs: Sequence[Path], out_dir: str | os.PathLike, names: Sequence[str] | None = None
) -> list[Path]:
    """out_dir/<name>.png per input (name = input stem by default); refuses to write into an
    input's folder, onto an input file, or two outputs to one file."""
    out_dir = Path(out_dir)
    names = [Path(p).stem for p in inputs] if names is None else list(names)
    if len(names) != len(inputs):
        raise ValueError("names and inputs differ in length")
    seen: dict[str, Path] = {}
    for name, src in zip(names, inputs, strict=True):
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ColorbenchError(f"output name {name!r} for {src} is not a plain file name")
        if name in seen:
            raise ColorbenchError(
                f"{seen[name]} and {src} would both be written to {name}.png; rename one"
            )
        seen[name] = Path(src)
    out_res = out_dir.resolve()
    outs = [out_dir / f"{n}.png" for n in names]
    input_files = {Path(p).resolve() for p in inputs}
    for src in inputs:
        if Path(src).resolve().parent == out_res:
            raise ColorbenchError(
                f"output folder {out_dir} is the folder of input {src}; "
                "choose another --out so inputs are never overwritten"
            )
    for out in outs:
        if out.resolve() in input_files:
            raise ColorbenchError(f"output {out} would overwrite an input; choose another --out")
    return outs
