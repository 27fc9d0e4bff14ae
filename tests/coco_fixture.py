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


def _rect_poly(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


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
        for cat, box in ((1, big), (1, small)):
            anns.append(
                {
                    "id": ann_id,
                    "image_id": img_id,
                    "category_id": cat,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "area": (box[2] - box[0]) * (box[3] - box[1]),
                    "iscrowd": 0,
                    "segmentation": [_rect_poly(*box)],
                }
            )
            objs.append(("box", box))
            ann_id += 1
        tri = [10 * sx, 32 * sy, 20 * sx, 32 * sy, 10 * sx, 44 * sy]
        tri_box = [10 * sx, 32 * sy, 20 * sx, 44 * sy]
        anns.append(
            {
                "id": ann_id,
                "image_id": img_id,
                "category_id": 2,
                "bbox": [tri_box[0], tri_box[1], tri_box[2] - tri_box[0], tri_box[3] - tri_box[1]],
                "area": 60.0,
                "iscrowd": 0,
                "segmentation": [tri],
            }
        )
        objs.append(("tri", tri_box))
        ann_id += 1
        # A compressed-RLE blob (a disc) and a crowd region (uncompressed RLE).
        yy, xx = np.mgrid[:h, :w]
        disc = ((xx - 38 * sx) ** 2 + (yy - 12 * sy) ** 2 <= (5 * min(sx, sy)) ** 2).astype(
            np.uint8
        )
        rle = mask_utils.encode(np.asfortranarray(disc))
        rle["counts"] = rle["counts"].decode("ascii")
        x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
        anns.append(
            {
                "id": ann_id,
                "image_id": img_id,
                "category_id": 3,
                "bbox": [x, y, bw, bh],
                "area": float(disc.sum()),
                "iscrowd": 0,
                "segmentation": rle,
            }
        )
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
        anns.append(
            {
                "id": ann_id,
                "image_id": img_id,
                "category_id": 1,
                "bbox": [cx, cy, cw, ch],
                "area": float(crowd.sum()),
                "iscrowd": 1,
                "segmentation": {"counts": runs, "size": [h, w]},
            }
        )
        ann_id += 1
        ds.boxes[image_key] = objs
        ds.ids.append(image_key)
        Image.fromarray(pix).resize((size, size), Image.BICUBIC).save(
            prepared / IMAGES / f"{image_key}.png"
        )
        rows.append(
            {
                "id": image_key,
                "source": "coco",
                "role": "main",
                "split": "train",
                "grayscale": False,
                "label": "",
                "orig_path": f"raw/images/{name}",
                "orig_width": w,
                "orig_height": h,
                "width": size,
                "height": size,
            }
        )
    # A background scene with no annotations at all.
    bg = rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)
    Image.fromarray(bg).save(prepared / IMAGES / "scene000.png")
    rows.append(
        {
            "id": "scene000",
            "source": "background",
            "role": "background",
            "split": "train",
            "grayscale": False,
            "label": "",
            "orig_path": "raw/background/scene000.png",
            "orig_width": size,
            "orig_height": size,
            "width": size,
            "height": size,
        }
    )
    ds.background_ids.append("scene000")
    ds.annotations.write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    pd.DataFrame(rows, columns=COLUMNS).to_csv(prepared / MANIFEST, index=False)
    return ds


def write_prepared(root: Path, images: dict[str, np.ndarray], *, source: str = "folder") -> Path:
    """A prepared dir holding just `images` (id -> HxWx3 uint8), role main."""
    prepared = root / "prepared"
    (prepared / IMAGES).mkdir(parents=True)
    rows = []
    for image_id, img in images.items():
        Image.fromarray(img).save(prepared / IMAGES / f"{image_id}.png")
        h, w = img.shape[:2]
        rows.append(
            {
                "id": image_id,
                "source": source,
                "role": "main",
                "split": "train",
                "grayscale": False,
                "label": "",
                "orig_path": f"{image_id}.png",
                "orig_width": w,
                "orig_height": h,
                "width": w,
                "height": h,
            }
        )
    pd.DataFrame(rows, columns=COLUMNS).to_csv(prepared / MANIFEST, index=False)
    return prepared
