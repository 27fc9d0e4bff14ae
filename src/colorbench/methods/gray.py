"""Method `gray`: the colourless input itself (colorbench.lab.gray_rgb), a floor for every
table. Also the helpers the other inference-only methods share (split ids, a process map)."""

from __future__ import annotations

import os
from pathlib import Path

from colorbench.atomic import atomic_dir
from colorbench.errors import ColorbenchError
from colorbench.methods.base import ColorizeJob, Method

NAMES = ("gray",)


def split_ids(prepared_dir: str | os.PathLike, split: str) -> list[str]:
    from colorbench.data.manifest import read_manifest, select

    if not (Path(prepared_dir) / "manifest.csv").is_file():
        raise ColorbenchError(f"{prepared_dir}/manifest.csv not found; run `dvc repro prepare`")
    ids = select(read_manifest(prepared_dir), split=split, role="main")["id"].tolist()
    if not ids:
        raise ColorbenchError(f"the prepared data in {prepared_dir} has no '{split}' images")
    return ids


def _gray_one(args: tuple[Path, Path]) -> None:
    from PIL import Image

    from colorbench.lab import gray_rgb
    from colorbench.metrics.decode import read_rgb

    src, dst = args
    Image.fromarray(gray_rgb(read_rgb(src))).save(dst)


def write_gray(
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    split: str = "test",
    workers: int = 0,
    ids: list[str] | None = None,
) -> int:
    """out_dir/<id>.png = colorbench.lab.gray_rgb(image) for the split's images (or the
    given `ids`); returns the number written."""
    from colorbench.data.manifest import image_path

    ids = split_ids(prepared_dir, split) if ids is None else ids
    with atomic_dir(out_dir) as tmp:
        gray_images([image_path(prepared_dir, i) for i in ids], ids, tmp, workers)
    return len(ids)


def gray_images(paths: list[Path], ids: list[str], out_dir: Path, workers: int = 0) -> list[Path]:
    """out_dir/<id>.png = the gray version of each input, as RGB (out_dir made if new)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    outs = [Path(out_dir) / f"{i}.png" for i in ids]
    from tqdm import tqdm

    from colorbench.parallel import parallel_map

    jobs = list(zip(paths, outs, strict=True))
    for _ in tqdm(parallel_map(_gray_one, jobs, workers), total=len(jobs), desc="gray"):
        pass
    return outs


class Gray(Method):
    name, label, order = "gray", "gray (input)", 0
    help = "the gray input itself (a floor)"

    def colorize(self, job: ColorizeJob) -> list[Path]:
        return gray_images(job.inputs, job.ids, job.out_dir, job.workers)


METHODS = [Gray()]
