"""The saliency stage: one map per prepared image (every role), OUT/<id>.png, uint8 gray
0..255, the prepared image's size. Written atomically.

Backends: `masks` (union of COCO instance masks; all-zero where an image has none),
`spectral` (spectral residual on the L channel, no weights) and `deep` (U^2-Net-p from a
local weights file via the registry). masks/spectral run in a process pool; deep in batches.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.atomic import atomic_dir
from colorbench.detect.workers import check_inputs, predict_batches, worker_map
from colorbench.errors import ColorbenchError

BACKENDS = ("masks", "spectral", "deep")


@dataclass
class SaliencySummary:
    images: int = 0
    empty: int = 0  # masks backend: images with no annotation (all-zero map)
    notes: list[str] = field(default_factory=list)


def _save(path: Path, sal: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(sal, dtype=np.uint8)).save(path)


def _masks_task(task: tuple[str, list, tuple[int, int], tuple[int, int]]) -> bool:
    """Pool worker: write one union-of-masks map; returns whether it is non-empty."""
    from colorbench.saliency.masks import mask_saliency

    out_path, segms, frame_hw, out_hw = task
    sal = mask_saliency(segms, frame_hw, out_hw) if segms else np.zeros(out_hw, dtype=np.uint8)
    _save(Path(out_path), sal)
    return bool(sal.any())


def _spectral_task(task: tuple[str, str, str]) -> bool:
    """Pool worker: read a prepared image, write its spectral-residual map."""
    from colorbench.data.manifest import image_path
    from colorbench.metrics.decode import read_rgb
    from colorbench.saliency.spectral import spectral_saliency

    prepared_dir, image_id, out_path = task
    _save(Path(out_path), spectral_saliency(read_rgb(image_path(prepared_dir, image_id))))
    return True


def _read_task(task: tuple[str, str]) -> np.ndarray:
    from colorbench.data.manifest import image_path
    from colorbench.metrics.decode import read_rgb

    return read_rgb(image_path(*task))


def _mask_tasks(
    df: Any, sources: Mapping[str, Any], out: Path, summary: SaliencySummary
) -> Iterator[tuple[str, list, tuple[int, int], tuple[int, int]]]:
    from colorbench.detect.coco import find_record

    unmatched = mismatch = 0
    for row in df.itertuples(index=False):
        out_hw = (int(row.height), int(row.width))
        src, rec, usable = find_record(sources, row)
        segms: list = []
        if usable:
            segms = [
                a["segmentation"] for a in src.anns(rec["id"], crowd=True) if "segmentation" in a
            ]
        elif rec is not None:
            mismatch += 1
        elif src is not None and row.role == "main":
            unmatched += 1
        frame_hw = (int(row.orig_height), int(row.orig_width))
        yield str(out / f"{row.id}.png"), segms, frame_hw, out_hw
    if unmatched:
        summary.notes.append(f"{unmatched} main image(s) had no annotation record: all-zero maps")
    if mismatch:
        summary.notes.append(
            f"{mismatch} image(s) got all-zero maps: annotation width/height differ from the "
            "file's upright size (EXIF rotation?)"
        )


def run_saliency(
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    backend: str = "masks",
    annotations: Mapping[str, str | os.PathLike] | None = None,
    batch_size: int = 32,
    num_workers: int = 0,
    device: str = "auto",
    deep_weights: str = "u2netp",
    deep_size: int = 320,
    deep_stretch: bool = False,
    model: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
    progress: bool = True,
) -> SaliencySummary:
    """Write OUT/<id>.png for every prepared image.

    `model` (deep backend) defaults to U^2-Net-p loaded from the registry entry
    `deep_weights`; any callable mapping a list of RGB uint8 images to a list of uint8 maps
    of the same sizes can be passed instead; its maps keep the sigmoid output in [0, 1]
    unless `deep_stretch` (per-image min-max, as the U^2-Net test script). `num_workers`:
    decoding and writing processes (0: in this process, -1: every available core).
    """
    from tqdm import tqdm

    from colorbench.data.manifest import read_manifest

    prepared_dir = check_inputs("saliency", backend, BACKENDS, prepared_dir)
    if batch_size < 1:
        raise ColorbenchError("saliency: batch_size must be >= 1")
    df = read_manifest(prepared_dir)
    summary = SaliencySummary(images=len(df))
    annotations = dict(annotations or {})
    if backend == "masks" and not set(df["source"]) & set(annotations):
        raise ColorbenchError(
            "saliency backend 'masks' needs COCO annotations for the prepared images' sources; "
            "set `annotations` in prepare.sources (or pass --annotations), or use "
            "backend spectral or deep"
        )
    sources: dict[str, Any] = {}
    if backend == "masks":
        from colorbench.detect.coco import load_sources

        sources = load_sources({s: p for s, p in annotations.items() if s in set(df["source"])})
    if backend == "deep" and model is None:
        from colorbench import weights
        from colorbench.device import resolve_device
        from colorbench.saliency.deep import DeepSaliency, load_u2netp

        path = weights.require(deep_weights)
        model = DeepSaliency(
            load_u2netp(path),
            device=resolve_device(device),
            size=deep_size,
            stretch=deep_stretch,
        )

    preload = {
        "masks": ("PIL.Image", "pycocotools.mask", "colorbench.saliency.masks"),
        "spectral": (
            "PIL.Image",
            "scipy.ndimage",
            "colorbench.saliency.spectral",
            "colorbench.color",
        ),
        "deep": (),
    }[backend]
    with (
        worker_map(
            num_workers if len(df) > 1 else 0, parent_runs_torch=backend == "deep", preload=preload
        ) as imap,
        atomic_dir(out_dir) as tmp,
    ):
        bar = tqdm(
            total=len(df), desc=f"saliency ({backend})", file=sys.stderr, disable=not progress
        )
        if backend == "masks":
            # Lazy task stream: pool.imap pulls annotations as workers free up.
            for nonempty in imap(_masks_task, _mask_tasks(df, sources, tmp, summary)):
                summary.empty += not nonempty
                bar.update(1)
        elif backend == "spectral":
            tasks = [(str(prepared_dir), i, str(tmp / f"{i}.png")) for i in df["id"]]
            for _ in imap(_spectral_task, tasks):
                bar.update(1)
        else:
            assert model is not None
            ids = list(df["id"])
            for image_id, im, sal in predict_batches(
                model,
                ids,
                _read_task,
                [(str(prepared_dir), i) for i in ids],
                imap,
                batch_size=batch_size,
                window=max(batch_size * 4, 64),
                what="saliency model",
            ):
                if sal.shape != im.shape[:2]:
                    raise ColorbenchError(
                        f"saliency model returned {sal.shape} for {image_id} of size {im.shape[:2]}"
                    )
                _save(tmp / f"{image_id}.png", sal)
                bar.update(1)
        bar.close()
    for note in summary.notes:
        print(f"saliency: warning: {note}", file=sys.stderr)
    return summary
