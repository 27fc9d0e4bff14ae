"""Box rules shared by every detection backend, and crop cutting.

Boxes are integer pixel boxes in the *prepared* image: x0, y0 inclusive, x1, y1 exclusive,
so a crop is `img[y0:y1, x0:x1]`. `ox0..oy1` is the same box in the original image (upright,
full resolution). When a row names `orig_path`, its crop is cut from that original image
(ParaColorizer, as InstColorization: detect and cut at full resolution, then resize);
otherwise from the prepared image. The same `cut_crop` serves materialised crops and data
loaders (`load_crop`), so both give identical pixels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

BOX_COLUMNS = [
    "image_id",
    "box_index",
    "x0",
    "y0",
    "x1",
    "y1",
    "score",
    "category",
    "crop_path",
    "orig_path",
    "ox0",
    "oy0",
    "ox1",
    "oy1",
]


def scale_boxes(
    boxes: np.ndarray, src_w: float, src_h: float, dst_w: float, dst_h: float
) -> np.ndarray:
    """xyxy boxes from an src_w x src_h frame to dst_w x dst_h (prepare resizes, no crop)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes * np.array([dst_w / src_w, dst_h / src_h, dst_w / src_w, dst_h / src_h])


def to_pixel_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Float xyxy -> integer boxes covering them (floor/ceil), clipped to the image."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    # Round first so float noise from scaling (e.g. 9.0000001) does not grow a box by 1 px.
    boxes = np.round(boxes, 6)
    out = np.empty(boxes.shape, dtype=np.int64)
    out[:, 0] = np.clip(np.floor(boxes[:, 0]), 0, width)
    out[:, 1] = np.clip(np.floor(boxes[:, 1]), 0, height)
    out[:, 2] = np.clip(np.ceil(boxes[:, 2]), 0, width)
    out[:, 3] = np.clip(np.ceil(boxes[:, 3]), 0, height)
    return out


def select_boxes(
    boxes: np.ndarray,
    scores: np.ndarray,
    *,
    width: int,
    height: int,
    score_threshold: float,
    top_k: int,
    min_box: int,
    order: str = "score",
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the crop rules to float xyxy boxes in prepared pixels.

    Keeps boxes with score >= score_threshold whose pixel box has both sides >= min_box,
    ranks them by `order` ("score": highest first, ties by area; "area": largest first,
    ties by score), and keeps the first top_k. Returns (indices into the input, int boxes).
    """
    px = to_pixel_boxes(boxes, width, height)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    w = px[:, 2] - px[:, 0]
    h = px[:, 3] - px[:, 1]
    keep = np.flatnonzero(
        (scores >= score_threshold) & (w >= max(min_box, 1)) & (h >= max(min_box, 1))
    )
    area = (w * h)[keep]
    if order == "score":
        ranked = keep[np.lexsort((-area, -scores[keep]))]
    elif order == "area":
        ranked = keep[np.lexsort((-scores[keep], -area))]
    else:
        raise ValueError(f"order must be 'score' or 'area', not {order!r}")
    ranked = ranked[: max(int(top_k), 0)]
    return ranked, px[ranked]


def cut_crop(img: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """The box's pixels of an HxWx3 uint8 image, resized (bicubic) to size x size."""
    from PIL import Image

    x0, y0, x1, y1 = (int(v) for v in box)
    patch = np.ascontiguousarray(img[y0:y1, x0:x1])
    if patch.size == 0:
        raise ValueError(f"empty crop box {box} for an image of shape {img.shape}")
    return np.asarray(Image.fromarray(patch).resize((size, size), Image.BICUBIC))


def crop_source(prepared_dir: str | os.PathLike, row: Mapping[str, Any]) -> tuple[str, tuple]:
    """(image path, pixel box) a boxes.csv row's crop is cut from: the original image when
    the row names one (`orig_path`), else the prepared image."""
    from colorbench.data.manifest import image_path

    orig = row.get("orig_path")
    if isinstance(orig, str) and orig:
        return orig, tuple(int(row[k]) for k in ("ox0", "oy0", "ox1", "oy1"))
    box = tuple(int(row[k]) for k in ("x0", "y0", "x1", "y1"))
    return str(image_path(prepared_dir, str(row["image_id"]))), box


def load_crop(prepared_dir: str | os.PathLike, row: Mapping[str, Any], size: int) -> np.ndarray:
    """Cut one boxes.csv row's crop (for loaders when crops are not materialised):
    size x size x 3 uint8, identical to the materialised PNG."""
    from colorbench.metrics.decode import read_rgb

    path, box = crop_source(prepared_dir, row)
    return cut_crop(read_rgb(path), box, size)
