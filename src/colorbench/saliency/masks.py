"""Ground-truth saliency: the union of an image's instance masks (COCO polygons or RLE).

Decoding follows pycocotools' `COCO.annToRLE` (polygons merged, uncompressed RLE
converted), but works on the annotation dicts alone, so pool workers need no COCO index.
Crowd regions are included: they are objects too (e.g. a crowd of people).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def segmentation_mask(segm: Any, height: int, width: int) -> np.ndarray:
    """One annotation's `segmentation` -> HxW uint8 {0,1} in the annotation frame."""
    from pycocotools import mask as mask_utils

    if isinstance(segm, list):
        polys = [p for p in segm if len(p) >= 6]  # a polygon needs three points
        if not polys:
            return np.zeros((height, width), dtype=np.uint8)
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    elif isinstance(segm, dict) and isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    elif isinstance(segm, dict):
        rle = segm
    else:
        return np.zeros((height, width), dtype=np.uint8)
    return mask_utils.decode(rle)


def union_mask(segms: Sequence[Any], height: int, width: int) -> np.ndarray:
    """HxW bool: pixels inside any of the segmentations."""
    out = np.zeros((height, width), dtype=bool)
    for segm in segms:
        m = segmentation_mask(segm, height, width)
        if m.shape == out.shape:
            out |= m.astype(bool)
    return out


def mask_saliency(
    segms: Sequence[Any], frame_hw: tuple[int, int], out_hw: tuple[int, int]
) -> np.ndarray:
    """The union of `segms` (in a frame_hw frame) resized (nearest) to out_hw: uint8 0/255."""
    from PIL import Image

    union = union_mask(segms, *frame_hw).astype(np.uint8) * 255
    if union.shape != tuple(out_hw):
        union = np.asarray(Image.fromarray(union).resize((out_hw[1], out_hw[0]), Image.NEAREST))
    return union
