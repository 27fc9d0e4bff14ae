"""SCGAN's training data: prepared images with their ground-truth saliency maps, flipped
together, and the seeded share of the train split a run uses (data_fraction)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorbench.errors import ColorbenchError
from colorbench.train.data import PreparedImages, to_sample


def read_saliency(path: Path, size: int) -> torch.Tensor:
    """A saliency PNG (uint8 gray) as 1×size×size float in [0, 1]."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError as exc:
        raise ColorbenchError(f"{path} is missing; re-run the saliency stage") from exc
    return torch.from_numpy(arr.copy())[None]


class SaliencyImages(PreparedImages):
    """Prepared images with their saliency maps, flipped together.

    Samples: {"L": 1×H×W (L/50 − 1), "rgb": 3×H×W in [-1, 1], "saliency": 1×H×W in [0, 1]}.
    """

    def __init__(
        self,
        prepared_dir: str | os.PathLike,
        saliency_dir: str | os.PathLike,
        ids: Sequence[str],
        *,
        size: int,
        seed: int = 0,
        flip: bool = True,
    ) -> None:
        super().__init__(prepared_dir, ids, size=size, seed=seed, flip=flip, salt="scgan")
        self.saliency_dir = Path(saliency_dir)
        missing = [i for i in self.ids if not (self.saliency_dir / f"{i}.png").is_file()]
        if missing:
            raise ColorbenchError(
                f"{len(missing)} of {len(self.ids)} saliency maps missing in {self.saliency_dir} "
                f"(e.g. {missing[0]}.png); run the saliency stage (dvc repro saliency)"
            )

    def getitem_epoch(self, index: int, epoch: int) -> dict[str, Any]:
        rgb_u8, ident = self.load(index)
        flip = self.flipped(index, epoch)
        sample = to_sample(rgb_u8, ident, flip)
        sal = read_saliency(self.saliency_dir / f"{ident}.png", self.size)
        if flip:
            sal = sal.flip(-1)
        return {"L": sample["L"], "rgb": sample["rgb"] * 2.0 - 1.0, "saliency": sal}


def train_subset(ids: Sequence[str], fraction: float, seed: int) -> list[str]:
    """A seeded share of `ids`: a prefix of one permutation, so a larger fraction contains
    every image of a smaller one (SCGAN's "w/o attention loss" run adds data)."""
    if fraction >= 1:
        return list(ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    keep = max(1, round(fraction * len(ids)))
    return [ids[i] for i in sorted(order[:keep])]


def stack_batch(dataset: SaliencyImages, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    items = [dataset[i] for i in indices]
    return {k: torch.stack([it[k] for it in items]) for k in ("L", "rgb", "saliency")}
