"""A tiny COCO-format dataset and a prepared dir built from it, for the crops and saliency
tests. Known objects per image: rectangles (polygon), a triangle (polygon), an RLE blob and
a crowd region, with their exact boxes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from pycocotools import mask as mask_utils

from colorbench.data.manifest import COLUMNS, IMAGES, MANIFEST

SOURCE = "coco"  # the manifest source name of make_dataset's main images


@dataclass
class CocoDataset:
    raw: Path
    prepared: Path
    annotations: Path
    ids: list[str]  # main images, in manifest order
    background_ids: list[str]
    # per main id: list of (category, [x0, y0, x1, y1]) in original pixels, non-crowd only
    boxes: dict[str, list[tuple[str, list[float]]]] = field(default_factory=dict)
    orig_size: tuple[int, int] = (48, 48)  # (width, height)
    size: int = 48

    @property
    def by_source(self) -> dict[str, Path]:
        """The `annotations` argument of run_crops / run_saliency for this dataset."""
        return {SOURCE: self.annotations}


def _rect_poly(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def _box_area(box: list[float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _ann(
    ann_id: int, img_id: int, cat: int, bbox: list[float], area: float, segm, crowd: int = 0
) -> dict:
    """A COCO annotation; `bbox` is x, y, width, height."""
    return {
        "id": ann_id,
        "image_id": img_id,
        "category_id": cat,
        "bbox": bbox,
        "area": area,
        "iscrowd": crowd,
        "segmentation": segm,
    }


def _row(
    image_id: str, source: str, role: str, orig_path: str, orig_wh: tuple[int, int], size_wh
) -> dict:
    """A manifest row (split train, colour content, no label)."""
    return {
        "id": image_id,
        "source": source,
        "role": role,
        "split": "train",
        "grayscale": False,
        "label": "",
        "orig_path": orig_path,
        "orig_width": orig_wh[0],
        "orig_height": orig_wh[1],
        "width": size_wh[0],
        "height": size_wh[1],
    }


def invoke_stage_cli(command: str, prepared: Path, out: Path, *args: str):
    """`colorbench COMMAND --prepared PREPARED --out OUT ARGS...` in-process (click result)."""
    from click.testing import CliRunner

    from colorbench.cli import main

    return CliRunner().invoke(
        main, [command, "--prepared", str(prepared), "--out", str(out), *args]
    )


def make_dataset(
    root: Path, *, n: int = 2, orig_size: tuple[int, int] = (48, 48), size: int = 48, seed: int = 0
) -> CocoDataset:
    rng = np.random.default_rng(seed)
    w, h = orig_size
    raw = root / "raw"
    prepared = root / "prepared"
    (raw / "images").mkdir(parents=True)
    (prepared / IMAGES).mkdir(parents=True)
    cats = [{"id": 1, "name": "box"}, {"id": 2, "name": "tri"}, {"id": 3, "name": "blob"}]
    images, anns, rows = [], [], []
    ds = CocoDataset(raw, prepared, raw / "instances.json", [], [], {}, orig_size, size)
    ann_id = 1
    sx, sy = w / 48.0, h / 48.0
    for i in range(n):
        img_id = 100 + i
        name = f"img{i:03d}.jpg"  # COCO-style name; the raw file here is a PNG with that name
        pix = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(pix).save(raw / "images" / name, format="PNG")
        images.append({"id": img_id, "file_name": name, "width": w, "height": h})
        image_key = f"img{i:03d}"
        objs: list[tuple[str, list[float]]] = []
        # A big rectangle and a small one (their order by area is known), shifted per image.
        big = [2 * sx + i, 4 * sy, 30 * sx + i, 28 * sy]
        small = [36 * sx, 30 * sy, 42 * sx, 34 * sy]
        tri = [10 * sx, 32 * sy, 20 * sx, 32 * sy, 10 * sx, 44 * sy]
        tri_box = [10 * sx, 32 * sy, 20 * sx, 44 * sy]
        for cat, cat_name, box, segm, area in (
            (1, "box", big, [_rect_poly(*big)], _box_area(big)),
            (1, "box", small, [_rect_poly(*small)], _box_area(small)),
            (2, "tri", tri_box, [tri], _box_area(tri_box) / 2),  # a right triangle
        ):
            xywh = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            anns.append(_ann(ann_id, img_id, cat, xywh, area, segm))
            objs.append((cat_name, box))
            ann_id += 1
        # A compressed-RLE blob (a disc) and a crowd region (uncompressed RLE).
        yy, xx = np.mgrid[:h, :w]
        disc = ((xx - 38 * sx) ** 2 + (yy - 12 * sy) ** 2 <= (5 * min(sx, sy)) ** 2).astype(
            np.uint8
        )
        rle = mask_utils.encode(np.asfortranarray(disc))
        rle["counts"] = rle["counts"].decode("ascii")
        x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
        anns.append(_ann(ann_id, img_id, 3, [x, y, bw, bh], float(disc.sum()), rle))
        objs.append(("blob", [x, y, x + bw, y + bh]))
        ann_id += 1
        crowd = np.zeros((h, w), dtype=np.uint8)
        crowd[int(40 * sy) : int(46 * sy), int(24 * sx) : int(34 * sx)] = 1
        # uncompressed RLE: column-major run lengths starting with zeros
        flat = crowd.flatten(order="F")
        runs, cur, count = [], 0, 0
        for v in flat:
            if v != cur:
                runs.append(count)
                cur, count = v, 0
            count += 1
        runs.append(count)
        cx, cy, cw, ch = (
            float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(crowd)))
        )
        rle_crowd = {"counts": runs, "size": [h, w]}
        anns.append(
            _ann(ann_id, img_id, 1, [cx, cy, cw, ch], float(crowd.sum()), rle_crowd, crowd=1)
        )
        ann_id += 1
        ds.boxes[image_key] = objs
        ds.ids.append(image_key)
        Image.fromarray(pix).resize((size, size), Image.BICUBIC).save(
            prepared / IMAGES / f"{image_key}.png"
        )
        rows.append(
            _row(image_key, SOURCE, "main", str(raw / "images" / name), (w, h), (size, size))
        )
    # A background scene with no annotations at all.
    bg = rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)
    Image.fromarray(bg).save(prepared / IMAGES / "scene000.png")
    orig = "raw/background/scene000.png"
    rows.append(_row("scene000", "background", "background", orig, (size, size), (size, size)))
    ds.background_ids.append("scene000")
    ds.annotations.write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    pd.DataFrame(rows, columns=COLUMNS).to_csv(prepared / MANIFEST, index=False)
    return ds


def write_prepared(root: Path, images: dict[str, np.ndarray], *, source: str = "folder") -> Path:
    """A prepared dir holding just `images` (id -> HxWx3 uint8), role main; the originals
    (the same pixels) in root/originals, named by absolute orig_path."""
    prepared = root / "prepared"
    (prepared / IMAGES).mkdir(parents=True)
    (root / "originals").mkdir()
    rows = []
    for image_id, img in images.items():
        Image.fromarray(img).save(prepared / IMAGES / f"{image_id}.png")
        Image.fromarray(img).save(root / "originals" / f"{image_id}.png")
        wh = (img.shape[1], img.shape[0])
        orig = str(root / "originals" / f"{image_id}.png")
        rows.append(_row(image_id, source, "main", orig, wh, wh))
    pd.DataFrame(rows, columns=COLUMNS).to_csv(prepared / MANIFEST, index=False)
    return prepared
