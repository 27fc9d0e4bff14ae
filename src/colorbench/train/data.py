"""Training datasets over data/prepared (and data/crops).

Each sample is a dict {"L": 1xHxW (L/50 - 1), "ab": 2xHxW (ab/110), "rgb": 3xHxW in [0, 1],
"id": str} built through colorbench.color. Horizontal flips are drawn from
(seed, part, epoch, index) alone (`getitem_epoch`, called by the training loop's sampler),
so they are reproducible, identical in any DataLoader worker, and the same after a resume.

Parts: the prepared train split (role main), object crops of those train images from
data/crops/boxes.csv (materialised PNGs, or cut from the prepared image when crop_path is
empty), and background-role images (the Places stand-in). `ConcatParts` joins them.
Only train-split images (and crops of train images) are ever used: no test leakage.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from colorbench.color import rgb_to_net, uint8_to_tensor
from colorbench.data.manifest import image_path, select
from colorbench.data.manifest import read_prepared as load_manifest  # the trainers' name
from colorbench.errors import ColorbenchError

BOXES_CSV = "boxes.csv"


def _read_rgb(path: Path, size: int | None) -> np.ndarray:
    """HxWx3 uint8 (writable), resized to size x size (bicubic) when it differs."""
    from PIL import Image

    from colorbench.metrics.decode import read_rgb

    try:
        rgb = read_rgb(path)
    except FileNotFoundError as exc:
        raise ColorbenchError(
            f"{path} is missing; re-run the stage that wrote it (dvc repro)"
        ) from exc
    if size and rgb.shape[:2] != (size, size):
        return np.array(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))
    return np.array(rgb)


def to_sample(rgb_u8: np.ndarray, ident: str, flip: bool = False) -> dict[str, Any]:
    """HxWx3 uint8 -> the sample dict (optionally mirrored left-right)."""
    if not rgb_u8.flags.writeable:  # torch.from_numpy warns on read-only arrays
        rgb_u8 = rgb_u8.copy()
    rgb = uint8_to_tensor(rgb_u8)
    if flip:
        rgb = rgb.flip(-1)
    L, ab = rgb_to_net(rgb[None])
    return {"L": L[0].contiguous(), "ab": ab[0].contiguous(), "rgb": rgb.contiguous(), "id": ident}


class _Part(Dataset):
    """Common flip logic; subclasses load the uint8 image of item `index`."""

    def __init__(self, *, size: int, seed: int, flip: bool, salt: str) -> None:
        self.size = int(size)
        self.seed = int(seed)
        self.flip = flip
        self._salt = zlib.crc32(salt.encode())

    def load(self, index: int) -> tuple[np.ndarray, str]:
        raise NotImplementedError

    def flipped(self, index: int, epoch: int) -> bool:
        if not self.flip:
            return False
        rng = np.random.default_rng([self.seed, self._salt, int(epoch), int(index)])
        return bool(rng.random() < 0.5)

    def getitem_epoch(self, index: int, epoch: int) -> dict[str, Any]:
        rgb, ident = self.load(index)
        return to_sample(rgb, ident, self.flipped(index, epoch))

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.getitem_epoch(index, 0)


class PreparedImages(_Part):
    """Prepared images by id."""

    def __init__(
        self,
        prepared_dir: str | os.PathLike,
        ids: Sequence[str],
        *,
        size: int,
        seed: int = 0,
        flip: bool = True,
        salt: str = "images",
    ) -> None:
        super().__init__(size=size, seed=seed, flip=flip, salt=salt)
        self.dir = Path(prepared_dir)
        self.ids = [str(i) for i in ids]

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, index: int) -> tuple[np.ndarray, str]:
        ident = self.ids[index]
        return _read_rgb(image_path(self.dir, ident), self.size), ident


class ObjectCrops(_Part):
    """Object crops from boxes.csv rows: the materialised PNG, or cut from the prepared image."""

    def __init__(
        self,
        prepared_dir: str | os.PathLike,
        crops_dir: str | os.PathLike,
        rows: pd.DataFrame,
        *,
        size: int,
        seed: int = 0,
        flip: bool = True,
    ) -> None:
        super().__init__(size=size, seed=seed, flip=flip, salt="crops")
        self.prepared = Path(prepared_dir)
        self.crops = Path(crops_dir)
        self.rows = rows.reset_index(drop=True).to_dict("records")

    def __len__(self) -> int:
        return len(self.rows)

    def load(self, index: int) -> tuple[np.ndarray, str]:
        row = self.rows[index]
        ident = f"{row['image_id']}#{row['box_index']}"
        rel = str(row.get("crop_path") or "").strip()
        if rel:
            return _read_rgb(self.crops / rel, self.size), ident
        return cut_box(self.prepared, row, self.size), ident


def cut_box(prepared_dir: Path, row: dict[str, Any], size: int) -> np.ndarray:
    """The crop of a boxes.csv row cut from its prepared image (the detect helper's cutter)."""
    try:
        from colorbench.detect.boxes import load_crop
    except ImportError:  # pragma: no cover - detect is part of colorbench
        load_crop = None
    if load_crop is not None:
        try:
            return load_crop(prepared_dir, row, size)
        except FileNotFoundError as exc:
            raise ColorbenchError(
                f"prepared image {row['image_id']} for a crop is missing; re-run prepare"
            ) from exc
    from PIL import Image

    img = _read_rgb(image_path(prepared_dir, str(row["image_id"])), None)
    x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
    patch = Image.fromarray(np.ascontiguousarray(img[y0:y1, x0:x1]))
    return np.asarray(patch.resize((size, size), Image.BICUBIC))


class ConcatParts(Dataset):
    """Concatenation that forwards the epoch to each part's `getitem_epoch`."""

    def __init__(self, parts: Sequence[_Part]) -> None:
        self.parts = [p for p in parts if len(p) > 0]
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, index: int) -> tuple[_Part, int]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[k], index - int(self.offsets[k])

    def getitem_epoch(self, index: int, epoch: int) -> dict[str, Any]:
        part, local = self._locate(index)
        return part.getitem_epoch(local, epoch)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.getitem_epoch(index, 0)

    def sizes(self) -> dict[str, int]:
        return {type(p).__name__ + f"#{i}": len(p) for i, p in enumerate(self.parts)}


# ---- builders ---------------------------------------------------------------------------


def image_size(df: pd.DataFrame) -> int:
    """The training size: the prepared images' (square) side, the most common one."""
    if df.empty:
        raise ColorbenchError("the prepared manifest has no images")
    return int(pd.concat([df["width"], df["height"]]).mode().iloc[0])


def train_ids(
    df: pd.DataFrame, role: str = "main", sources: Sequence[str] | None = None
) -> list[str]:
    """Train-split ids of `role`; only those of the manifest `sources` when given (e.g. SCGAN
    on the ImageNet subset, ParaColorizer's GANs on COCO, from one prepared set)."""
    rows = select(df, split="train", role=role)
    if sources:
        missing = sorted(set(sources) - set(rows["source"]))
        if missing:
            raise ColorbenchError(
                f"no {role} train images from source(s) {', '.join(missing)}; "
                f"check the training section's `sources` and prepare.sources"
            )
        rows = rows[rows["source"].isin(list(sources))]
    return rows["id"].astype(str).tolist()


def crop_rows(crops_dir: str | os.PathLike, ids: Sequence[str]) -> pd.DataFrame:
    path = Path(crops_dir) / BOXES_CSV
    if not path.is_file():
        raise ColorbenchError(
            f"{path} not found; run the crops stage first (dvc repro crops) or set use_crops: false"
        )
    rows = pd.read_csv(path, dtype={"image_id": str, "crop_path": str}, keep_default_na=False)
    missing = {"image_id", "box_index", "x0", "y0", "x1", "y1"} - set(rows.columns)
    if missing:
        raise ColorbenchError(f"{path} lacks columns {sorted(missing)}; re-run the crops stage")
    if "crop_path" not in rows.columns:
        rows["crop_path"] = ""
    return rows[rows["image_id"].isin(set(ids))].reset_index(drop=True)


def colorizer_dataset(
    prepared_dir: str | os.PathLike,
    *,
    crops_dir: str | os.PathLike | None = None,
    use_crops: bool = False,
    use_background: bool = False,
    seed: int = 0,
    flip: bool = True,
    sources: Sequence[str] | None = None,
) -> ConcatParts:
    """Train images (of `sources`, default all) (+ object crops of them) (+ background-role
    images), one dataset."""
    df = load_manifest(prepared_dir)
    size = image_size(df)
    ids = train_ids(df, sources=sources)
    if not ids:
        raise ColorbenchError(f"no train-split images in {prepared_dir}; check prepare.split")
    parts: list[_Part] = [PreparedImages(prepared_dir, ids, size=size, seed=seed, flip=flip)]
    if use_crops:
        if crops_dir is None:  # no default folder: the caller (dvc.yaml's --crops) names it
            raise ColorbenchError("use_crops needs the crops folder (crops_dir, --crops)")
        rows = crop_rows(crops_dir, ids)
        parts.append(ObjectCrops(prepared_dir, crops_dir, rows, size=size, seed=seed, flip=flip))
    if use_background:
        bg = train_ids(df, role="background")
        parts.append(
            PreparedImages(prepared_dir, bg, size=size, seed=seed, flip=flip, salt="background")
        )
    return ConcatParts(parts)


def eval_images(
    prepared_dir: str | os.PathLike, split: str = "val", limit: int | None = 64
) -> PreparedImages:
    """A fixed, unflipped set of split images (falls back to test when val is empty)."""
    df = load_manifest(prepared_dir)
    size = image_size(df)
    ids = select(df, split=split)["id"].astype(str).tolist()
    if not ids and split == "val":
        ids = select(df, split="test")["id"].astype(str).tolist()
    ids = sorted(ids)[:limit] if limit else sorted(ids)
    return PreparedImages(prepared_dir, ids, size=size, flip=False)


def stack(dataset: Dataset, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """A fixed batch from a dataset (for evaluation and preview images)."""
    items = [dataset[i] for i in indices]
    return {k: torch.stack([it[k] for it in items]) for k in ("L", "ab", "rgb")}
