"""The crops stage: object boxes for every `main` image, and optionally the crop PNGs.

Output (atomic): OUT/boxes.csv (columns `BOX_COLUMNS`: pixels in the prepared image and in
the original) and, when `materialize`, OUT/crops/<image_id>_<k>.png at size x size.
`source: original` (the paper's way, default) detects on, and cuts from, the original
full-resolution image (the manifest's `orig_path`, resolved against the working directory,
as prepare recorded it), then resizes; `source: prepared` uses the prepared image. At COCO scale keep
`materialize: false` and cut crops in the loader with `load_crop` (DVC slows down past a
few hundred thousand files). Images without boxes have no rows; they stay in the dataset.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.atomic import atomic_dir
from colorbench.detect.boxes import (
    BOX_COLUMNS,
    cut_crop,
    scale_boxes,
    select_boxes,
    to_pixel_boxes,
)
from colorbench.detect.workers import Imap, check_inputs, predict_batches, worker_map
from colorbench.errors import ColorbenchError
from colorbench.metrics.decode import read_rgb

BOXES_CSV = "boxes.csv"
CROPS_SUBDIR = "crops"
BACKENDS = ("annotations", "maskrcnn")
SOURCES = ("original", "prepared")


@dataclass
class CropsSummary:
    images: int = 0
    images_with_boxes: int = 0
    boxes: int = 0
    unmatched: int = 0  # main images with no annotation record (annotations backend)
    frame_mismatch: int = 0  # annotation frame differs from the file's upright size
    notes: list[str] = field(default_factory=list)


def _box_rows(
    image_id: str,
    px: np.ndarray,
    scores: Sequence[float],
    cats: Sequence[str],
    materialize: bool,
    orig_px: np.ndarray,
    orig_path: str,
) -> list[dict[str, Any]]:
    rows = []
    for k, (box, score, cat) in enumerate(zip(px, scores, cats, strict=True)):
        ob = orig_px[k]
        rows.append(
            {
                "image_id": image_id,
                "box_index": k,
                "x0": int(box[0]),
                "y0": int(box[1]),
                "x1": int(box[2]),
                "y1": int(box[3]),
                "score": round(float(score), 6),
                "category": cat,
                "crop_path": f"{CROPS_SUBDIR}/{image_id}_{k}.png" if materialize else "",
                "orig_path": orig_path,
                "ox0": int(ob[0]),
                "oy0": int(ob[1]),
                "ox1": int(ob[2]),
                "oy1": int(ob[3]),
            }
        )
    return rows


def _write_crops(task: tuple[str, str, str, list[tuple[int, int, int, int]], int]) -> None:
    """Pool worker: cut one image's crops (from `path`, original or prepared) and save them."""
    from PIL import Image

    path, out_dir, image_id, boxes, size = task
    img = read_rgb(path)
    for k, box in enumerate(boxes):
        Image.fromarray(cut_crop(img, box, size)).save(Path(out_dir) / f"{image_id}_{k}.png")


def _load_gray(path: str) -> np.ndarray:
    """Pool worker: an image's gray version (L channel) as 3-channel uint8."""
    from colorbench.lab import gray_rgb

    return gray_rgb(read_rgb(path))


def _image_for(row: Any, prepared_dir: Path, source: str) -> str:
    """The image crops of a manifest row are detected on and cut from."""
    from colorbench.data.manifest import image_path

    return str(row.orig_path) if source == "original" else str(image_path(prepared_dir, row.id))


def _check_originals(main: Any) -> None:
    missing = [str(p) for p in main["orig_path"] if not Path(str(p)).is_file()]
    if missing:
        raise ColorbenchError(
            f"crops source 'original': {len(missing)} original image(s) not found, e.g. "
            f"{missing[0]} (the manifest's orig_path, relative to the working directory); "
            "run from the directory prepare ran in, or set crops.source: prepared"
        )


def _annotation_sources(main: Any, annotations: Mapping[str, str | os.PathLike]) -> dict:
    from colorbench.detect.coco import load_sources

    used = sorted(set(main["source"]) & set(annotations))
    if not used:
        raise ColorbenchError(
            "crops backend 'annotations' needs COCO annotations for the main images' sources "
            f"({', '.join(sorted(set(main['source']))) or 'none'}); set `annotations` in "
            "prepare.sources (or pass --annotations), or use backend maskrcnn"
        )
    return load_sources({s: annotations[s] for s in used})


def _annotation_boxes(
    main: Any,
    sources: Mapping[str, Any],
    rules: dict[str, Any],
    materialize: bool,
    summary: CropsSummary,
    source: str,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    from colorbench.detect.coco import find_record

    for row in main.itertuples(index=False):
        src, rec, usable = find_record(sources, row)
        if not usable:
            if rec is None:
                summary.unmatched += 1
            else:
                summary.frame_mismatch += 1
            yield row.id, []
            continue
        anns = [a for a in src.anns(rec["id"], crowd=False) if len(a.get("bbox", [])) == 4]
        if not anns:
            yield row.id, []
            continue
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float64)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        boxes = scale_boxes(xyxy, row.orig_width, row.orig_height, row.width, row.height)
        idx, px = select_boxes(
            boxes, np.ones(len(anns)), width=row.width, height=row.height, order="area", **rules
        )
        cats = [src.category(anns[i]["category_id"]) for i in idx]
        orig_px = to_pixel_boxes(xyxy[idx], row.orig_width, row.orig_height)
        orig = str(row.orig_path) if source == "original" else ""
        yield row.id, _box_rows(row.id, px, [1.0] * len(idx), cats, materialize, orig_px, orig)


def _detector_boxes(
    main: Any,
    prepared_dir: Path,
    detector: Callable[[list[np.ndarray]], list[Any]],
    rules: dict[str, Any],
    materialize: bool,
    batch_size: int,
    imap: Imap,
    source: str,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rows = list(main.itertuples(index=False))
    for row, img, det in predict_batches(
        detector,
        rows,
        _load_gray,
        [_image_for(r, prepared_dir, source) for r in rows],
        imap,
        batch_size=batch_size,
        window=max(batch_size * 8, 64),
        what="detector",
    ):
        # Boxes in the frame the detector saw; the rules (min_box) apply in prepared pixels.
        seen_h, seen_w = img.shape[:2]
        boxes = np.asarray(det.boxes, dtype=np.float64).reshape(-1, 4)
        prep = scale_boxes(boxes, seen_w, seen_h, row.width, row.height)
        idx, px = select_boxes(
            prep, det.scores, width=row.width, height=row.height, order="score", **rules
        )
        orig = scale_boxes(boxes[idx], seen_w, seen_h, row.orig_width, row.orig_height)
        orig_px = to_pixel_boxes(orig, row.orig_width, row.orig_height)
        scores = [float(det.scores[i]) for i in idx]
        cats = [det.categories[i] for i in idx]
        path = str(row.orig_path) if source == "original" else ""
        yield row.id, _box_rows(row.id, px, scores, cats, materialize, orig_px, path)


def run_crops(
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    backend: str = "annotations",
    annotations: Mapping[str, str | os.PathLike] | None = None,
    score_threshold: float = 0.7,
    top_k: int = 8,
    min_box: int = 8,
    size: int = 64,
    materialize: bool = True,
    source: str = "original",
    batch_size: int = 8,
    num_workers: int = 0,
    device: str = "auto",
    detector_min_size: int = 800,
    detector: Callable[[list[np.ndarray]], list[Any]] | None = None,
    progress: bool = True,
) -> CropsSummary:
    """Write OUT/boxes.csv (+ OUT/crops/*.png when `materialize`) for the prepared images.

    `detector` (maskrcnn backend) defaults to torchvision Mask R-CNN with registry weights;
    any callable with the same interface (list of gray uint8 HxWx3 -> list of objects with
    `boxes`, `scores`, `categories`) can be passed instead. `num_workers`: decoding and
    crop-writing processes (0: in this process, -1: every available core). `source`:
    detect on and cut from the original image (`original`, the paper's way) or the prepared
    one (`prepared`).
    """
    from tqdm import tqdm

    from colorbench.data.manifest import image_path, read_manifest, select

    prepared_dir = check_inputs("crops", backend, BACKENDS, prepared_dir)
    if size < 1 or top_k < 0 or batch_size < 1:
        raise ColorbenchError("crops: size and batch_size must be >= 1 and top_k >= 0")
    if source not in SOURCES:
        raise ColorbenchError(f"crops: source must be one of {', '.join(SOURCES)}, not {source!r}")
    main = select(read_manifest(prepared_dir), role="main")
    if source == "original":
        _check_originals(main)
    rules = {
        "score_threshold": float(score_threshold),
        "top_k": int(top_k),
        "min_box": int(min_box),
    }
    summary = CropsSummary(images=len(main))

    if backend == "annotations":
        sources = _annotation_sources(main, annotations or {})
    with worker_map(
        num_workers if len(main) > 1 else 0,
        parent_runs_torch=backend == "maskrcnn",
        preload=("PIL.Image", "colorbench.data.manifest"),
    ) as imap:
        if backend == "annotations":
            per_image = _annotation_boxes(main, sources, rules, materialize, summary, source)
        else:
            if detector is None:
                from colorbench import weights
                from colorbench.detect.maskrcnn import WEIGHTS_NAME, MaskRCNNDetector
                from colorbench.device import resolve_device

                detector = MaskRCNNDetector(
                    weights.require(WEIGHTS_NAME),
                    device=resolve_device(device),
                    min_size=detector_min_size,
                    score_threshold=float(score_threshold),
                )
            per_image = _detector_boxes(
                main, prepared_dir, detector, rules, materialize, batch_size, imap, source
            )

        with atomic_dir(out_dir) as tmp:
            crops_dir = tmp / CROPS_SUBDIR
            if materialize:
                crops_dir.mkdir()
            with open(tmp / BOXES_CSV, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=BOX_COLUMNS)
                writer.writeheader()
                bar = tqdm(
                    total=len(main),
                    desc=f"crops ({backend})",
                    file=sys.stderr,
                    disable=not progress,
                )
                pending: list[tuple[str, str, str, list, int]] = []

                def flush() -> None:
                    for _ in imap(_write_crops, pending):
                        pass
                    pending.clear()

                for image_id, rows in per_image:
                    writer.writerows(rows)
                    if rows:
                        summary.images_with_boxes += 1
                        summary.boxes += len(rows)
                        if materialize:
                            keys = ("ox0", "oy0", "ox1", "oy1")
                            if source == "prepared":
                                keys = ("x0", "y0", "x1", "y1")
                            boxes = [tuple(r[k] for k in keys) for r in rows]
                            path = rows[0]["orig_path"] or str(image_path(prepared_dir, image_id))
                            pending.append((path, str(crops_dir), image_id, boxes, size))
                            if len(pending) >= 256:
                                flush()
                    bar.update(1)
                flush()
                bar.close()
    if summary.unmatched:
        summary.notes.append(
            f"{summary.unmatched} main image(s) had no annotation record (matched by file name)"
        )
    if summary.frame_mismatch:
        summary.notes.append(
            f"{summary.frame_mismatch} image(s) skipped: annotation width/height differ from the "
            "file's upright size (EXIF rotation?)"
        )
    for note in summary.notes:
        print(f"crops: warning: {note}", file=sys.stderr)
    return summary
