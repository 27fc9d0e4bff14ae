"""Agreement of a method's predicted saliency maps (SCGAN's outputs_saliency/<method>/) with
the ground-truth maps of the saliency stage (data/saliency/): per-image mean absolute error
on [0, 1] maps and IoU of the maps thresholded at 0.5."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from colorbench.errors import ColorbenchError

THRESHOLD = 0.5


def _read_map(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A map as float64 in [0, 1], resized (bilinear) to `size` (w, h) when it differs."""
    from colorbench.metrics.decode import read_gray

    im = Image.fromarray(read_gray(path))
    if size is not None and im.size != size:
        im = im.resize(size, Image.BILINEAR)
    return np.asarray(im, dtype=np.float64) / 255.0


def map_agreement(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(MAE, IoU@0.5) of two HxW maps in [0, 1]; IoU is 1 when both masks are empty."""
    mae = float(np.abs(pred - gt).mean())
    p, g = pred >= THRESHOLD, gt >= THRESHOLD
    union = np.logical_or(p, g).sum()
    iou = float(np.logical_and(p, g).sum() / union) if union else 1.0
    return mae, iou


def saliency_agreement(
    pred_dir: str | os.PathLike, gt_dir: str | os.PathLike, ids: Sequence[str]
) -> pd.DataFrame:
    """Per-image `saliency_mae` and `saliency_iou` for `ids` (columns: image, ...).

    Predicted maps are resized (bilinear) to the ground truth's size when they differ."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    rows = []
    for image_id in ids:
        pred_path, gt_path = pred_dir / f"{image_id}.png", gt_dir / f"{image_id}.png"
        if not gt_path.is_file():
            raise ColorbenchError(f"no ground-truth saliency {gt_path}; run `dvc repro saliency`")
        if not pred_path.is_file():
            raise ColorbenchError(f"no predicted saliency {pred_path} for test image {image_id}")
        gt = _read_map(gt_path)
        mae, iou = map_agreement(_read_map(pred_path, (gt.shape[1], gt.shape[0])), gt)
        rows.append({"image": image_id, "saliency_mae": mae, "saliency_iou": iou})
    return pd.DataFrame(rows, columns=["image", "saliency_mae", "saliency_iou"])
