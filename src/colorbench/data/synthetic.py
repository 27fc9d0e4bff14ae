"""The embedded synthetic dataset: procedural outdoor scenes whose colours can be learned
from luminance, shape and texture, with COCO-format instance annotations.

Every scene is a function of (seed, kind, index) only, so the dataset is byte-identical
across runs and across any number of worker processes. Layout of the output directory:

    images/syn_000001.png       scenes with 1-4 objects (RGB, size x size)
    instances.json              COCO: images (+ scene_label), annotations (RLE of the
                                visible part of each object), categories
    labels.csv                  file_name,label  (image-level scene label)
    background/bg_000001.png    object-free scenes (the stand-in for Places)
    background_labels.csv       file_name,label  for the background scenes

Colour cues a colorizer can learn: blue-sky gradients (deep at the zenith, pale at the
horizon) against sunset skies (dark at the top, a bright glow at the horizon), grass as
vertical high-frequency streaks, water as horizontal ripple stripes, sand as speckle, and
six object categories whose shape and texture fix their hue family.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorbench.atomic import atomic_dir
from colorbench.data import detmath as dm
from colorbench.data.synthetic_paint import DRAW, background, grid
from colorbench.errors import ColorbenchError
from colorbench.parallel import available_cores, parallel_map

SCENES = ("meadow", "beach", "lake", "desert", "sunset", "forest")

# (id, name, hue family in degrees): the hue is what a colorizer should infer from the
# shape/texture; saturation and value vary per instance.
CATEGORIES = (
    (1, "ball", 0.0),
    (2, "box", 30.0),
    (3, "flower", 52.0),
    (4, "leaf", 95.0),
    (5, "car", 185.0),
    (6, "tent", 285.0),
)

MIN_SIZE = 16
MAX_SIZE = 4096  # a procedural scene larger than this is a typo, not a dataset
SATURATION = (0.16, 0.28, 0.95)  # triangular (low, mode, high) chroma scale per scene
MAX_OCCLUSION = 0.5  # a new object may hide at most this share of an earlier one's visible part
_KIND_MAIN, _KIND_BACKGROUND = 0, 1

Array = np.ndarray


# --------------------------------------------------------------------------- one scene


@dataclass
class Scene:
    image: Array  # (S, S, 3) uint8
    label: str
    instances: Array  # (S, S) int16: 0 background, k = k-th placed object (visible part)
    categories: list[int]  # category id of object k at index k-1
    placements: list[tuple[int, int, Array]]  # (y0, x0, full shape mask) of object k, in order


def render(seed: int, index: int, size: int, with_objects: bool = True) -> Scene:
    """One scene, a pure function of its arguments."""
    kind = _KIND_MAIN if with_objects else _KIND_BACKGROUND
    rng = np.random.default_rng([int(seed), kind, int(index)])
    g = grid(size)
    label = SCENES[int(rng.integers(len(SCENES)))]
    img = background(g, rng, label).astype(np.float32)
    inst = np.zeros((size, size), np.int16)
    cats: list[int] = []
    placements: list[tuple[int, int, Array]] = []
    if with_objects:
        visible: list[int] = []
        for _ in range(int(rng.integers(1, 5))):
            cat_id, name, hue = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            side = max(4, round(size * rng.uniform(0.15, 0.45)))
            mask, rgb = DRAW[name](rng, side, hue)
            mh, mw = mask.shape
            for _try in range(10):
                y0 = int(rng.integers(0, size - mh + 1))
                x0 = int(rng.integers(0, size - mw + 1))
                window = inst[y0 : y0 + mh, x0 : x0 + mw]
                hidden = np.bincount(window[mask], minlength=len(visible) + 1)[1:]
                if all(h <= MAX_OCCLUSION * v for h, v in zip(hidden, visible, strict=True)):
                    break
            else:
                continue  # no placement keeps the earlier objects visible enough
            k = len(cats) + 1
            window[mask] = k
            img[y0 : y0 + mh, x0 : x0 + mw][mask] = rgb[mask]
            visible = [v - int(h) for v, h in zip(visible, hidden, strict=True)] + [int(mask.sum())]
            cats.append(cat_id)
            placements.append((y0, x0, mask))
    # Global saturation: the palette above is vivid (colourfulness M ~ 82, "highly colourful"
    # on Hasler & Suesstrunk's scale); scaling chroma about the luma per scene spreads M over
    # the range natural photographs cover (mode ~30, a share inside SCGAN's 16-20 band).
    luma = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    img = luma[..., None] + (img - luma[..., None]) * rng.triangular(*SATURATION)
    # Global lighting: exposure and gamma change luminance but keep hue.
    exposure = rng.uniform(0.75, 1.15)
    out = dm.gamma_u8(img * exposure, rng.uniform(0.8, 1.25))
    return Scene(out, label, inst, cats, placements)


def _annotations(scene: Scene) -> list[dict]:
    from pycocotools import mask as mask_utils

    anns = []
    for k, cat in enumerate(scene.categories, start=1):
        m = scene.instances == k
        area = int(m.sum())
        if area == 0:  # cannot happen with MAX_OCCLUSION < 1; never emit an empty mask
            continue
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        anns.append(
            {
                "category_id": cat,
                "bbox": [
                    int(cols[0]),
                    int(rows[0]),
                    int(cols[-1] - cols[0] + 1),
                    int(rows[-1] - rows[0] + 1),
                ],
                "area": area,
                "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode()},
                "iscrowd": 0,
            }
        )
    return anns


def _job(task: tuple[str, int], out_dir: str, seed: int, size: int) -> dict:
    """Render, write the PNG, return the metadata record (runs in worker processes)."""
    kind, index = task
    scene = render(seed, index, size, with_objects=kind == "main")
    if kind == "main":
        name = f"images/syn_{index + 1:06d}.png"
    else:
        name = f"background/bg_{index + 1:06d}.png"
    Image.fromarray(scene.image, "RGB").save(os.path.join(out_dir, name), format="PNG")
    rec = {"file_name": os.path.basename(name), "label": scene.label, "index": index}
    if kind == "main":
        rec["annotations"] = _annotations(scene)
    return rec


def _run_jobs(tasks: list[tuple[str, int]], fn: Callable, workers: int) -> Iterator[dict]:
    from tqdm import tqdm

    bar = dict(total=len(tasks), desc="synth", unit="img", leave=False, mininterval=1.0)
    yield from tqdm(parallel_map(fn, tasks, workers, min_items=2 * workers), **bar)


def _write_csv(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name", "label"])
        w.writerows(rows)


def generate(
    out_dir: Path, n: int, size: int, seed: int, n_background: int = 0, workers: int = 1
) -> dict:
    """Write the synthetic dataset to `out_dir` atomically; returns counts.

    The files depend only on (n, size, seed, n_background): `workers` changes speed only.
    """
    n, size, n_background, seed = int(n), int(size), int(n_background), int(seed)
    if n < 0 or n_background < 0 or n + n_background == 0:
        raise ColorbenchError(
            f"synthetic: need n >= 0, n_background >= 0 and at least one image "
            f"(got n={n}, n_background={n_background})"
        )
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ColorbenchError(
            f"synthetic: size must be between {MIN_SIZE} and {MAX_SIZE} px (got {size})"
        )
    workers = available_cores() if workers <= 0 else workers
    tasks = [("main", i) for i in range(n)] + [("background", i) for i in range(n_background)]

    with atomic_dir(out_dir) as tmp:
        (tmp / "images").mkdir()
        (tmp / "background").mkdir()
        fn = functools.partial(_job, out_dir=str(tmp), seed=seed, size=size)
        records = list(_run_jobs(tasks, fn, workers))
        main, back = records[:n], records[n:]

        images, annotations = [], []
        for rec in main:
            image_id = rec["index"] + 1
            images.append(
                {
                    "id": image_id,
                    "file_name": rec["file_name"],
                    "width": size,
                    "height": size,
                    "scene_label": rec["label"],
                }
            )
            for ann in rec["annotations"]:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
        coco = {
            "info": {
                "description": "colorbench synthetic scenes",
                "version": "1",
                "seed": seed,
                "size": size,
            },
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": [
                {"id": cid, "name": name, "supercategory": "object"} for cid, name, _ in CATEGORIES
            ],
            "scene_labels": list(SCENES),
        }
        with open(tmp / "instances.json", "w") as fh:
            json.dump(coco, fh, separators=(",", ":"))
        _write_csv(tmp / "labels.csv", ((r["file_name"], r["label"]) for r in main))
        _write_csv(tmp / "background_labels.csv", ((r["file_name"], r["label"]) for r in back))

    return {
        "images": n,
        "background": n_background,
        "annotations": len(annotations),
        "categories": len(CATEGORIES),
        "scene_labels": len(SCENES),
    }
