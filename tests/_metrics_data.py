"""Tiny image folders and prepared-data dirs for the metrics / evaluate / baselines tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

MANIFEST_COLUMNS = [
    "id", "source", "role", "split", "grayscale", "label",
    "orig_path", "orig_width", "orig_height", "width", "height",
]  # fmt: skip


def noisy_pair(rng: np.random.Generator, size: int = 32, noise: int = 25):
    """A smooth-ish colour image and a perturbed copy (uint8 HxWx3)."""
    base = rng.integers(0, 256, (4, 4, 3)).astype(np.float64)
    gt = np.kron(base, np.ones((size // 4, size // 4, 1)))
    gt = np.clip(gt + rng.normal(0, 12, gt.shape), 0, 255).astype(np.uint8)
    pred = np.clip(gt.astype(int) + rng.integers(-noise, noise + 1, gt.shape), 0, 255)
    return pred.astype(np.uint8), gt


def write_folders(root: Path, n: int, size: int = 32, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    pred_dir, gt_dir = root / "pred", root / "gt"
    pred_dir.mkdir(parents=True)
    gt_dir.mkdir(parents=True)
    for i in range(n):
        p, g = noisy_pair(rng, size)
        Image.fromarray(p).save(pred_dir / f"im{i:03d}.png")
        Image.fromarray(g).save(gt_dir / f"im{i:03d}.png")
    return pred_dir, gt_dir


def class_image(rng: np.random.Generator, label: str, size: int) -> np.ndarray:
    """Two classes told apart by colour only: 'warm' (reddish) and 'cool' (bluish)."""
    img = rng.normal(128, 30, (size, size, 3))
    shift = np.array([60, 0, -60] if label == "warm" else [-60, 0, 60])
    return np.clip(img + shift, 0, 255).astype(np.uint8)


def write_prepared(
    root: Path, splits: dict[str, int], size: int = 32, seed: int = 0
) -> tuple[Path, pd.DataFrame]:
    """data/prepared-like dir: images/<id>.png + manifest.csv, labels warm/cool alternating."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    rows = []
    for split, n in splits.items():
        for i in range(n):
            image_id = f"{split}_{i:03d}"
            label = "warm" if i % 2 == 0 else "cool"
            Image.fromarray(class_image(rng, label, size)).save(root / "images" / f"{image_id}.png")
            rows.append([image_id, "synthetic", "main", split, False, label,
                         f"raw/{image_id}.png", size, size, size, size])  # fmt: skip
    df = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    df.to_csv(root / "manifest.csv", index=False)
    return root, df
