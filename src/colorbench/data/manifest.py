"""The prepared-data manifest: one row per kept image; the contract between prepare and
every later stage (crops, saliency, training, colorize, evaluate)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where a manifest is read: prepare writes it with csv
    import pandas as pd

MANIFEST = "manifest.csv"
REJECTS = "rejects.csv"
IMAGES = "images"

# id: file stem kept from the source (made unique on collision); later stages keep it.
# role: main (split into train/val/test) | background (extra scenes for the background GAN).
# split: train | val | test | excluded (grayscale content, unless keep_grayscale).
COLUMNS = [
    "id",
    "source",
    "role",
    "split",
    "grayscale",
    "label",
    "orig_path",
    "orig_width",
    "orig_height",
    "width",
    "height",
]


def read_manifest(prepared_dir: str | os.PathLike) -> pd.DataFrame:
    import pandas as pd

    df = pd.read_csv(
        Path(prepared_dir) / MANIFEST,
        dtype={"id": str, "source": str, "role": str, "split": str, "label": str, "orig_path": str},
        keep_default_na=False,
    )
    df["grayscale"] = df["grayscale"].astype(bool)
    return df


def image_path(prepared_dir: str | os.PathLike, image_id: str) -> Path:
    return Path(prepared_dir) / IMAGES / f"{image_id}.png"


def manifest_file(prepared_dir: str | os.PathLike) -> Path:
    """PREPARED/manifest.csv, or a one-line error naming the prepare stage when absent."""
    from colorbench.errors import ColorbenchError

    path = Path(prepared_dir) / MANIFEST
    if not path.is_file():
        raise ColorbenchError(f"{path} not found; run the prepare stage (dvc repro prepare)")
    return path


def read_prepared(prepared_dir: str | os.PathLike) -> pd.DataFrame:
    """read_manifest, after `manifest_file`'s check."""
    return read_manifest(manifest_file(prepared_dir).parent)


def test_split(df: pd.DataFrame) -> pd.DataFrame:
    """The default evaluation set: the main images of the test split (evaluate, colorize,
    the report's figures; named sets are colorbench.protocols)."""
    return select(df, split="test", role="main")


def select(df: pd.DataFrame, split: str | None = None, role: str | None = "main") -> pd.DataFrame:
    """Rows of one split (and role); `role=None` keeps every role."""
    out = df
    if role is not None:
        out = out[out["role"] == role]
    if split is not None:
        out = out[out["split"] == split]
    return out.reset_index(drop=True)
