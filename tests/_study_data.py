"""Inputs for the study tests: prepared data (ground truth + manifest) and two methods'
outputs, written with numpy/skimage (not with the code under test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from skimage import color, filters

METHODS = ("unet", "scgan")  # real method names: the leak checks look for them


def _scene(rng: np.random.Generator, size: int) -> np.ndarray:
    img = np.zeros((size, size, 3), np.float64)
    img[: size // 2] = [0.35, 0.6, 0.95]  # sky
    img[size // 2 :] = [0.2, 0.65, 0.2]  # grass
    x, y = rng.integers(2, size // 2, 2)
    img[y : y + size // 3, x : x + size // 3] = rng.uniform(0.1, 0.95, 3)
    return (np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1) * 255).round().astype(np.uint8)


def _save(path: Path, lab: np.ndarray) -> None:
    rgb = np.clip(color.lab2rgb(lab), 0, 1)
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(path)


def make_inputs(root: Path, n: int = 14, size: int = 32, methods=METHODS) -> tuple[Path, Path]:
    """root/prepared (n test images + manifest.csv) and root/outputs/<method>/."""
    rng = np.random.default_rng(0)
    prepared, outputs = root / "prepared", root / "outputs"
    (prepared / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        iid = f"syn_{i:04d}"
        rgb = _scene(rng, size)
        Image.fromarray(rgb).save(prepared / "images" / f"{iid}.png")
        rows.append({"id": iid, "source": "synthetic", "role": "main", "split": "test",
                     "grayscale": False, "label": "", "orig_path": f"{iid}.png",
                     "orig_width": size, "orig_height": size, "width": size, "height": size})  # fmt: skip
        lab = color.rgb2lab(rgb)
        for k, m in enumerate(methods):
            out = lab.copy()
            if k == 0:  # bleeding: blurred chroma
                out[..., 1:] = filters.gaussian(lab[..., 1:], sigma=2, channel_axis=-1)
            else:  # washed out
                out[..., 1:] *= 0.5
            (outputs / m).mkdir(parents=True, exist_ok=True)
            _save(outputs / m / f"{iid}.png", out)
    pd.DataFrame(rows).to_csv(prepared / "manifest.csv", index=False)
    return prepared, outputs
