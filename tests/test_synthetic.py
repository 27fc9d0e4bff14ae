"""The synthetic dataset: determinism, COCO round trip through pycocotools, labels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from colorbench.data.synthetic import CATEGORIES, SCENES, generate, render
from colorbench.errors import ColorbenchError

SIZE = 40
# pycocotools' own numpy-2 deprecation notice, not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "ds"
    generate(out, n=24, size=SIZE, seed=7, n_background=4, workers=1)
    return out


def test_layout_and_counts(dataset: Path) -> None:
    assert sorted(p.name for p in (dataset / "images").iterdir()) == [
        f"syn_{i:06d}.png" for i in range(1, 25)
    ]
    assert sorted(p.name for p in (dataset / "background").iterdir()) == [
        f"bg_{i:06d}.png" for i in range(1, 5)
    ]
    for p in [*(dataset / "images").iterdir(), *(dataset / "background").iterdir()]:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "RGB" and im.size == (SIZE, SIZE)
    # the atomic writer leaves no temporary siblings
    assert [p.name for p in dataset.parent.iterdir()] == ["ds"]


def test_same_seed_identical_bytes_and_other_seed_differs(tmp_path: Path, dataset: Path) -> None:
    again = tmp_path / "again"
    generate(again, n=24, size=SIZE, seed=7, n_background=4, workers=1)
    assert _files(again) == _files(dataset)
    other = tmp_path / "other"
    generate(other, n=24, size=SIZE, seed=8, n_background=4, workers=1)
    a, b = _files(dataset), _files(other)
    assert a.keys() == b.keys()
    differing = [k for k in a if k.endswith(".png") and a[k] != b[k]]
    assert len(differing) == 28


def test_parallel_equals_serial(tmp_path: Path, dataset: Path) -> None:
    par = tmp_path / "par"
    generate(par, n=24, size=SIZE, seed=7, n_background=4, workers=2)
    assert _files(par) == _files(dataset)


def test_prefix_stability(tmp_path: Path, dataset: Path) -> None:
    """Image i depends only on (seed, i): a smaller dataset is a prefix of a larger one."""
    small = tmp_path / "small"
    generate(small, n=5, size=SIZE, seed=7, n_background=1, workers=1)
    big = _files(dataset)
    for name, data in _files(small).items():
        if name.endswith(".png"):
            assert big[name] == data


def test_coco_round_trip(dataset: Path) -> None:
    from pycocotools.coco import COCO

    coco = COCO(str(dataset / "instances.json"))
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == {
        cid: name for cid, name, _ in CATEGORIES
    }
    n_anns = 0
    saw_occlusion = False
    for img in coco.loadImgs(coco.getImgIds()):
        index = img["id"] - 1
        assert img["file_name"] == f"syn_{img['id']:06d}.png"
        scene = render(7, index, SIZE)
        assert img["scene_label"] == scene.label
        pixels = np.asarray(Image.open(dataset / "images" / img["file_name"]))
        assert np.array_equal(pixels, scene.image)

        # The visible part of object k, computed independently from the full shapes:
        # the shape minus everything placed after it.
        full = []
        for y0, x0, m in scene.placements:
            canvas = np.zeros((SIZE, SIZE), bool)
            canvas[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]] = m
            full.append(canvas)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
        assert 1 <= len(anns) <= 4 and len(anns) == len(full)
        for k, ann in enumerate(anns):
            later = np.any(full[k + 1 :], axis=0) if k + 1 < len(full) else np.zeros_like(full[k])
            visible = full[k] & ~later
            saw_occlusion |= bool((full[k] & later).any())
            mask = coco.annToMask(ann).astype(bool)
            assert np.array_equal(mask, visible)
            assert ann["iscrowd"] == 0 and ann["area"] == mask.sum() > 0
            ys, xs = np.nonzero(mask)
            x, y, w, h = ann["bbox"]
            assert (x, y, w, h) == (
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1,
            )
            # objects span about 15-45% of the side (cars are 0.6 as tall as wide)
            assert 0.1 * SIZE <= max(w, h) <= 0.5 * SIZE or (full[k] & later).any()
            n_anns += 1
    assert n_anns == len(coco.getAnnIds())
    assert saw_occlusion, "some objects should overlap"


def test_object_hue_follows_category(tmp_path: Path) -> None:
    """Hue is predictable from the category: the dominant hue of each visible object lies
    in its category's family (skimage's HSV as the independent reference)."""
    from skimage.color import rgb2hsv

    family = {cid: hue for cid, _, hue in CATEGORIES}
    checked = 0
    for index in range(40):
        scene = render(3, index, 64)
        hsv = rgb2hsv(scene.image)
        for k, cat in enumerate(scene.categories, start=1):
            sel = (scene.instances == k) & (hsv[..., 1] > 0.3) & (hsv[..., 2] > 0.15)
            if sel.sum() < 20:
                continue
            hues = hsv[..., 0][sel] * 360
            hist = np.bincount((hues // 10).astype(int) % 36, minlength=36)
            mode = hist.argmax() * 10 + 5
            dist = min(abs(mode - family[cat]), 360 - abs(mode - family[cat]))
            assert dist <= 30, (index, k, cat, mode)
            checked += 1
    assert checked > 50


def test_labels_csv_consistent(dataset: Path) -> None:
    coco = json.loads((dataset / "instances.json").read_text())
    with open(dataset / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["file_name", "label"]
    assert [(r["file_name"], r["label"]) for r in rows] == [
        (im["file_name"], im["scene_label"]) for im in coco["images"]
    ]
    assert {r["label"] for r in rows} <= set(SCENES)
    assert len({r["label"] for r in rows}) >= 3
    with open(dataset / "background_labels.csv", newline="") as fh:
        back = list(csv.DictReader(fh))
    assert [r["file_name"] for r in back] == [f"bg_{i:06d}.png" for i in range(1, 5)]


def test_background_scenes_have_no_objects() -> None:
    scene = render(7, 0, SIZE, with_objects=False)
    assert scene.categories == [] and not scene.instances.any()
    # background scene i differs from main scene i (independent streams)
    assert not np.array_equal(scene.image, render(7, 0, SIZE).image)


def test_scene_labels_are_learnable_from_layout() -> None:
    """A trivial nearest-centroid classifier on gray row profiles beats chance by far:
    the scene label is determined by the background composition."""
    from skimage.color import rgb2gray

    def feats(seed: int, n: int) -> tuple[np.ndarray, list[str]]:
        x, y = [], []
        for i in range(n):
            s = render(seed, i, 32, with_objects=False)
            g = rgb2gray(s.image)
            x.append(np.concatenate([g.mean(axis=1), g.std(axis=1)]))
            y.append(s.label)
        return np.array(x), y

    xtr, ytr = feats(1, 240)
    xte, yte = feats(2, 120)
    cent = {c: xtr[[t == c for t in ytr]].mean(axis=0) for c in SCENES}
    pred = [min(cent, key=lambda c: np.sum((v - cent[c]) ** 2)) for v in xte]
    acc = np.mean([p == t for p, t in zip(pred, yte, strict=True)])
    assert acc > 0.5  # chance is 1/6


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ColorbenchError, match="size"):
        generate(tmp_path / "x", n=2, size=8, seed=0)
    with pytest.raises(ColorbenchError, match="at least one image"):
        generate(tmp_path / "x", n=0, size=32, seed=0)
    assert not (tmp_path / "x").exists()


def test_cli(tmp_path: Path) -> None:
    from colorbench.cli import main

    out = tmp_path / "cli"
    res = CliRunner().invoke(
        main,
        [
            "synth",
            "--out",
            str(out),
            "--n",
            "3",
            "--size",
            "32",
            "--seed",
            "1",
            "--n-background",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(list((out / "images").iterdir())) == 3
    assert len(list((out / "background").iterdir())) == 2
    res = CliRunner().invoke(main, ["synth", "--out", str(out), "--n", "3", "--size", "4"])
    assert res.exit_code == 1 and "error:" in res.output and "Traceback" not in res.output


def test_absurd_sizes_are_refused_before_allocating(tmp_path) -> None:
    import pytest

    from colorbench.data.synthetic import generate
    from colorbench.errors import ColorbenchError

    for size in (8, 100_000):
        with pytest.raises(ColorbenchError, match="size must be between"):
            generate(tmp_path / f"s{size}", 1, size, 0)
        assert not (tmp_path / f"s{size}").exists()


def test_colourfulness_resembles_natural_photographs() -> None:
    """Issue 14.9: ground-truth M spreads like photographs' (Hasler & Suesstrunk: mostly
    'moderately' to 'quite' colourful), with a real share inside SCGAN's 16-20 CCI band."""
    from colorbench.metrics.colorfulness import CCI_RANGE, colorfulness_np

    images = np.stack([render(3, i, 64).image for i in range(300)])
    m, _ = colorfulness_np(images)
    in_band = ((m >= CCI_RANGE[0]) & (m <= CCI_RANGE[1])).mean()
    assert 30 < m.mean() < 50, m.mean()
    assert 0.03 < in_band < 0.2, in_band
    assert (m < 30).mean() > 0.2 and (m > 60).mean() > 0.05
