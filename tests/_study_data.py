"""Inputs for the study tests: prepared data (ground truth + manifest) and two methods'
outputs, written with numpy/skimage (not with the code under test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _metrics_data import write_prepared
from PIL import Image
from skimage import color, filters

METHODS = ("unet", "scgan")  # real method names: the leak checks look for them
ID_PREFIX = "test_"  # ids of the test split written by write_prepared


def make_inputs(root: Path, n: int = 14, size: int = 32) -> tuple[Path, Path]:
    """root/prepared (n test images + manifest.csv) and root/outputs/<method>/."""
    prepared, df = write_prepared(root / "prepared", {"test": n}, size=size)
    outputs = root / "outputs"
    for iid in df["id"]:
        lab = color.rgb2lab(np.asarray(Image.open(prepared / "images" / f"{iid}.png")))
        for k, m in enumerate(METHODS):
            out = lab.copy()
            if k == 0:  # bleeding: blurred chroma
                out[..., 1:] = filters.gaussian(lab[..., 1:], sigma=2, channel_axis=-1)
            else:  # washed out
                out[..., 1:] *= 0.5
            (outputs / m).mkdir(parents=True, exist_ok=True)
            rgb = np.clip(color.lab2rgb(out), 0, 1)
            Image.fromarray((rgb * 255).round().astype(np.uint8)).save(outputs / m / f"{iid}.png")
    return prepared, outputs
