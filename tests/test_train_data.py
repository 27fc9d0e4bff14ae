"""Training datasets: shapes, ranges, flips, crops with and without materialised files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorbench.color import net_to_rgb
from colorbench.data.manifest import COLUMNS
from colorbench.errors import ColorbenchError
from colorbench.train.data import colorizer_dataset, eval_images, stack

SIZE = 32


def scene(i: int, size: int = SIZE) -> np.ndarray:
    """A learnable toy scene: blue sky above a green field, a red square whose place varies."""
    img = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    img[:h] = (70, 130, 220)
    img[h:] = (60, 160, 50)
    img[:, : size // 4, :] = img[:, : size // 4, :] // 2  # left-right asymmetric
    o = 4 + (i * 3) % (size - 12)
    img[o : o + 8, o : o + 8] = (200, 40, 40)
    return img


def make_prepared(root: Path, n_main: int = 12, n_bg: int = 4, size: int = SIZE) -> Path:
    """data/prepared layout: images/<id>.png + manifest.csv (test split every 4th image)."""
    prep = root / "prepared"
    (prep / "images").mkdir(parents=True)
    rows = []
    for i in range(n_main + n_bg):
        role = "main" if i < n_main else "background"
        ident = f"img{i:03d}" if role == "main" else f"bg{i:03d}"
        split = "train" if role == "background" else ("test" if i % 4 == 3 else "train")
        if role == "main" and i % 4 == 2:
            split = "val"
        Image.fromarray(scene(i, size)).save(prep / "images" / f"{ident}.png")
        rows.append(
            {"id": ident, "source": "toy", "role": role, "split": split, "grayscale": False,
             "label": "", "orig_path": f"{ident}.png", "orig_width": size,
             "orig_height": size, "width": size, "height": size}
        )  # fmt: skip
    with open(prep / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return prep


def make_crops(root: Path, prep: Path, materialize: bool) -> Path:
    crops = root / "crops"
    (crops / "crops").mkdir(parents=True)
    fields = ["image_id", "box_index", "x0", "y0", "x1", "y1", "score", "category", "crop_path"]
    rows = []
    for i in range(12):
        o = 4 + (i * 3) % (SIZE - 12)
        ident = f"img{i:03d}"
        rel = ""
        if materialize:
            rel = f"crops/{ident}_0.png"
            img = np.asarray(Image.open(prep / "images" / f"{ident}.png"))[o : o + 8, o : o + 8]
            Image.fromarray(img).resize((SIZE, SIZE), Image.BICUBIC).save(crops / rel)
        rows.append([ident, 0, o, o, o + 8, o + 8, 1.0, "box", rel])
    with open(crops / "boxes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        w.writerows(rows)
    return crops


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    return make_prepared(tmp_path)


def test_full_images_shapes_ranges_and_roundtrip(prepared: Path) -> None:
    ds = colorizer_dataset(prepared, seed=0, flip=False)
    assert len(ds) == 6  # train split of role main only: no val/test leakage
    s = ds[0]
    assert s["L"].shape == (1, SIZE, SIZE) and s["ab"].shape == (2, SIZE, SIZE)
    assert s["rgb"].shape == (3, SIZE, SIZE) and isinstance(s["id"], str)
    assert s["L"].min() >= -1 and s["L"].max() <= 1
    assert s["ab"].abs().max() <= 1.2 and s["rgb"].min() >= 0 and s["rgb"].max() <= 1
    ref = np.asarray(Image.open(prepared / "images" / f"{s['id']}.png"))
    back = net_to_rgb(s["L"][None], s["ab"][None])[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(back - ref).max() < 1.0  # L/ab hold the image (colour.py's conversion)


def test_flips_are_seeded_per_epoch(prepared: Path) -> None:
    ds = colorizer_dataset(prepared, seed=3)
    flips = [
        [not torch.equal(ds.getitem_epoch(i, e)["rgb"], ds[i]["rgb"].flip(-1)) for i in range(6)]
        for e in range(6)
    ]
    assert any(any(f) for f in flips) and not all(all(f) for f in flips)
    again = colorizer_dataset(prepared, seed=3)
    for e in range(3):
        for i in range(6):
            assert torch.equal(ds.getitem_epoch(i, e)["ab"], again.getitem_epoch(i, e)["ab"])
    s = ds.getitem_epoch(0, 1)
    plain = colorizer_dataset(prepared, seed=3, flip=False)[0]
    assert torch.equal(s["rgb"], plain["rgb"]) or torch.equal(s["rgb"], plain["rgb"].flip(-1))


@pytest.mark.parametrize("materialize", [True, False])
def test_crops_with_and_without_files(tmp_path: Path, prepared: Path, materialize: bool) -> None:
    crops = make_crops(tmp_path, prepared, materialize)
    ds = colorizer_dataset(prepared, crops_dir=crops, use_crops=True, seed=0, flip=False)
    assert len(ds) == 6 + 6  # crops of train images only
    s = ds[6]
    assert "#" in s["id"] and s["rgb"].shape == (3, SIZE, SIZE)
    # A crop of the red square: mostly red.
    r, g, b = s["rgb"].mean(dim=(1, 2)).tolist()
    assert r > 0.6 and g < 0.3 and b < 0.3


def test_crop_cut_matches_materialised_file(tmp_path: Path, prepared: Path) -> None:
    a = colorizer_dataset(
        prepared, crops_dir=make_crops(tmp_path / "a", prepared, True), use_crops=True, flip=False
    )
    b = colorizer_dataset(
        prepared, crops_dir=make_crops(tmp_path / "b", prepared, False), use_crops=True, flip=False
    )
    for i in range(6, 12):
        assert torch.allclose(a[i]["rgb"], b[i]["rgb"], atol=1 / 255 + 1e-6)


def test_background_part_and_eval_set(prepared: Path) -> None:
    ds = colorizer_dataset(prepared, use_background=True)
    assert len(ds) == 6 + 4
    assert ds[9]["id"].startswith("bg")
    ev = eval_images(prepared, "val")
    assert len(ev) == 3 and all(i.startswith("img") for i in ev.ids)
    b = stack(ev, range(len(ev)))
    assert b["L"].shape == (3, 1, SIZE, SIZE)


def test_missing_inputs_are_clear_errors(tmp_path: Path, prepared: Path) -> None:
    with pytest.raises(ColorbenchError, match="prepare stage"):
        colorizer_dataset(tmp_path / "nope")
    with pytest.raises(ColorbenchError, match="crops stage"):
        colorizer_dataset(prepared, crops_dir=tmp_path / "nocrops", use_crops=True)
    crops = make_crops(tmp_path, prepared, True)
    (crops / "crops" / "img000_0.png").unlink()
    ds = colorizer_dataset(prepared, crops_dir=crops, use_crops=True)
    with pytest.raises(ColorbenchError, match="missing"):
        ds[6]


def test_train_sources_filter(prepared: Path) -> None:
    """A training section's `sources` keeps that source's train images only."""
    import pandas as pd

    manifest = pd.read_csv(prepared / "manifest.csv", dtype=str)
    main = manifest["role"] == "main"
    manifest.loc[main & (manifest.index % 2 == 0), "source"] = "other"
    manifest.to_csv(prepared / "manifest.csv", index=False)
    want = manifest[main & (manifest["split"] == "train") & (manifest["source"] == "other")]
    ds = colorizer_dataset(prepared, sources=["other"], use_background=True)
    n_bg = int((manifest["role"] == "background").sum())
    assert len(ds) == len(want) + n_bg  # background images whatever their source
    all_train = int((main & (manifest["split"] == "train")).sum())
    assert len(colorizer_dataset(prepared)) == all_train > len(want)
    with pytest.raises(ColorbenchError, match="source.*nowhere"):
        colorizer_dataset(prepared, sources=["nowhere"])
