"""Crops stage: annotation boxes, box rules, crop cutting, Mask R-CNN end to end on CPU."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from coco_fixture import invoke_stage_cli, make_dataset, write_prepared
from PIL import Image

from colorbench.color import gray_rgb
from colorbench.detect import BOX_COLUMNS, load_crop, run_crops, select_boxes
from colorbench.errors import ColorbenchError, MissingWeightsError


def _expected(ds, image_id: str, scale_x: float = 1.0, scale_y: float = 1.0) -> list[tuple]:
    out = []
    for cat, (x0, y0, x1, y1) in ds.boxes[image_id]:
        px = (
            math.floor(round(x0 * scale_x, 6)),
            math.floor(round(y0 * scale_y, 6)),
            math.ceil(round(x1 * scale_x, 6)),
            math.ceil(round(y1 * scale_y, 6)),
        )
        out.append((cat, px))
    return out


def _rows(df: pd.DataFrame, image_id: str) -> list[tuple]:
    sub = df[df["image_id"] == image_id].sort_values("box_index")
    return [(r.category, (r.x0, r.y0, r.x1, r.y1)) for r in sub.itertuples()]


@pytest.mark.parametrize("workers", [0, 2])
def test_annotation_boxes_reproduce_known_boxes(tmp_path: Path, workers: int) -> None:
    ds = make_dataset(tmp_path, n=2)
    out = tmp_path / "crops"
    s = run_crops(
        ds.prepared,
        out,
        backend="annotations",
        annotations=ds.by_source,
        top_k=10,
        min_box=1,
        size=16,
        num_workers=workers,
        progress=False,
    )
    df = pd.read_csv(out / "boxes.csv", keep_default_na=False)
    assert list(df.columns) == BOX_COLUMNS
    assert s.images == 2 and s.images_with_boxes == 2 and s.boxes == 8
    assert "scene000" not in set(df["image_id"])  # background role: no boxes
    for image_id in ds.ids:
        exp = _expected(ds, image_id)
        got = _rows(df, image_id)
        # crowd excluded; every non-crowd object present; largest first
        assert sorted(got) == sorted(exp)
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for _, b in got]
        assert areas == sorted(areas, reverse=True)
    assert (df["score"] == 1.0).all()
    # Materialised crops: the right size, and identical to what a loader cuts.
    for r in df.itertuples():
        png = np.asarray(Image.open(out / r.crop_path))
        assert png.shape == (16, 16, 3)
        np.testing.assert_array_equal(png, load_crop(ds.prepared, r._asdict(), 16))
    # And they really are the box's pixels of the original image (a 1:1 box resized to its
    # own size is exact); with no orig_path, of the prepared image.
    row = df[(df["image_id"] == ds.ids[0])].iloc[0].to_dict()
    orig = np.asarray(Image.open(row["orig_path"]).convert("RGB"))
    row.update(ox0=0, oy0=0, ox1=16, oy1=16, x0=1, y0=1, x1=17, y1=17)
    np.testing.assert_array_equal(load_crop(ds.prepared, row, 16), orig[:16, :16])
    img = np.asarray(Image.open(ds.prepared / "images" / f"{ds.ids[0]}.png").convert("RGB"))
    row.update(orig_path="")
    np.testing.assert_array_equal(load_crop(ds.prepared, row, 16), img[1:17, 1:17])


def test_boxes_are_scaled_to_the_prepared_size(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1, orig_size=(96, 48), size=32)
    out = tmp_path / "crops"
    run_crops(
        ds.prepared,
        out,
        annotations=ds.by_source,
        top_k=10,
        min_box=1,
        materialize=False,
        progress=False,
    )
    df = pd.read_csv(out / "boxes.csv", keep_default_na=False)
    exp = _expected(ds, ds.ids[0], 32 / 96, 32 / 48)
    assert sorted(_rows(df, ds.ids[0])) == sorted(exp)
    assert (df["crop_path"] == "").all() and not (out / "crops").exists()
    assert (df[["x0", "x1"]] <= 32).all().all() and (df[["y0", "y1"]] <= 32).all().all()


def test_top_k_and_min_box_are_honoured_by_annotations(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1)
    out = tmp_path / "crops"
    run_crops(ds.prepared, out, annotations=ds.by_source, top_k=2, min_box=1, progress=False)
    df = pd.read_csv(out / "boxes.csv")
    exp = sorted(
        _expected(ds, ds.ids[0]), key=lambda cb: -(cb[1][2] - cb[1][0]) * (cb[1][3] - cb[1][1])
    )
    assert _rows(df, ds.ids[0]) == exp[:2]
    # min_box 10 drops the 6x4 rectangle (and keeps the 10x12 triangle and 11x11 blob).
    run_crops(ds.prepared, out, annotations=ds.by_source, top_k=8, min_box=10, progress=False)
    got = _rows(pd.read_csv(out / "boxes.csv"), ds.ids[0])
    kept = [cb for cb in exp if min(cb[1][2] - cb[1][0], cb[1][3] - cb[1][1]) >= 10]
    assert got == kept and len(kept) == 3


def test_select_boxes_rules() -> None:
    boxes = np.array(
        [
            [0, 0, 10, 10],  # score .9, area 100
            [0, 0, 20, 20],  # score .95, area 400
            [5, 5, 7, 30],  # score .99, 2 px wide: fails min_box
            [0, 0, 30, 30],  # score .5: below threshold
            [-5, -5, 12, 12],  # score .9, clipped to 12x12 = 144: ties .9, larger first
            [1.2, 1.7, 9.1, 9.0],  # score .8 -> pixel box 1,1,10,9
        ],
        dtype=float,
    )
    scores = np.array([0.9, 0.95, 0.99, 0.5, 0.9, 0.8])
    idx, px = select_boxes(
        boxes, scores, width=32, height=32, score_threshold=0.7, top_k=3, min_box=4
    )
    assert idx.tolist() == [1, 4, 0]
    assert px.tolist() == [[0, 0, 20, 20], [0, 0, 12, 12], [0, 0, 10, 10]]
    idx, px = select_boxes(
        boxes, scores, width=32, height=32, score_threshold=0.7, top_k=8, min_box=4
    )
    assert idx.tolist() == [1, 4, 0, 5] and px[-1].tolist() == [1, 1, 10, 9]
    idx, _ = select_boxes(
        boxes, scores, width=32, height=32, score_threshold=0.0, top_k=2, min_box=1, order="area"
    )
    assert idx.tolist() == [3, 1]


class _FakeDetector:
    """Same interface as MaskRCNNDetector; records what it was given."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def __call__(self, images: list[np.ndarray]) -> list[SimpleNamespace]:
        self.seen.extend(images)
        boxes = np.array(
            [[1, 1, 30, 30], [2, 2, 4, 20], [0, 0, 20, 20], [3, 3, 15, 15], [0, 0, 31, 31]], float
        )
        scores = np.array([0.95, 0.99, 0.6, 0.8, 0.75])
        cats = ["person", "kite", "dog", "cat", "car"]
        return [SimpleNamespace(boxes=boxes, scores=scores, categories=cats) for _ in images]


def test_detector_backend_honours_threshold_topk_minbox_and_sees_gray(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    imgs = {f"im{i}": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for i in range(3)}
    prepared = write_prepared(tmp_path, imgs)
    det = _FakeDetector()
    out = tmp_path / "crops"
    run_crops(
        prepared,
        out,
        backend="maskrcnn",
        detector=det,
        score_threshold=0.7,
        top_k=2,
        min_box=5,
        size=8,
        batch_size=2,
        progress=False,
    )
    df = pd.read_csv(out / "boxes.csv")
    for image_id in imgs:
        sub = df[df["image_id"] == image_id].sort_values("box_index")
        # .99 box is 2 px wide (min_box), .6 below threshold; best two of the rest by score
        assert sub["category"].tolist() == ["person", "cat"]
        assert sub["score"].tolist() == [0.95, 0.8]
    assert len(det.seen) == 3
    for g, img in zip(det.seen, imgs.values(), strict=True):  # the L channel as gray RGB
        np.testing.assert_array_equal(g, gray_rgb(img))
        assert np.abs(g.astype(int) - g[..., :1]).max() <= 1  # neutral up to rounding


def _install_random_maskrcnn(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    import torch

    from colorbench import weights
    from colorbench.detect.maskrcnn import build_model

    monkeypatch.setenv("TORCH_HOME", str(home))
    torch.manual_seed(0)
    model = build_model(min_size=32, max_size=32)
    path = weights.cache_path("maskrcnn_resnet50_fpn")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    # Pin the registry to the file we made: require() then runs its real verification.
    monkeypatch.setitem(
        weights.REGISTRY,
        "maskrcnn_resnet50_fpn",
        weights.override(
            "maskrcnn_resnet50_fpn", sha256=weights.file_digest(path), size=path.stat().st_size
        ),
    )


@pytest.mark.slow
def test_maskrcnn_end_to_end_with_random_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_random_maskrcnn(monkeypatch, tmp_path / "torch")
    rng = np.random.default_rng(2)
    imgs = {f"im{i}": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for i in range(2)}
    prepared = write_prepared(tmp_path, imgs)
    out = tmp_path / "crops"
    # Random weights score every class about equally: threshold 0 keeps their boxes.
    s = run_crops(
        prepared,
        out,
        backend="maskrcnn",
        score_threshold=0.0,
        top_k=3,
        min_box=1,
        size=8,
        batch_size=2,
        device="cpu",
        detector_min_size=32,
        progress=False,
    )
    df = pd.read_csv(out / "boxes.csv", keep_default_na=False)
    assert list(df.columns) == BOX_COLUMNS
    assert s.boxes == len(df) > 0
    assert df.groupby("image_id").size().max() <= 3
    assert ((df.x1 - df.x0) >= 1).all() and ((df.y1 - df.y0) >= 1).all()
    assert (df[["x0", "y0"]] >= 0).all().all() and (df[["x1", "y1"]] <= 32).all().all()
    for r in df.itertuples():
        assert np.asarray(Image.open(out / r.crop_path)).shape == (8, 8, 3)
    # Scores descending within each image.
    for _, sub in df.groupby("image_id"):
        assert sub.sort_values("box_index")["score"].is_monotonic_decreasing


def test_maskrcnn_missing_weights_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    prepared = write_prepared(tmp_path, {"a": np.zeros((16, 16, 3), np.uint8)})
    with pytest.raises(MissingWeightsError, match="colorbench weights fetch maskrcnn_resnet50_fpn"):
        run_crops(prepared, tmp_path / "crops", backend="maskrcnn", progress=False)
    assert not (tmp_path / "crops").exists()


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1)
    with pytest.raises(ColorbenchError, match="needs COCO annotations"):
        run_crops(ds.prepared, tmp_path / "c", annotations={}, progress=False)
    with pytest.raises(ColorbenchError, match="not found"):
        run_crops(
            ds.prepared,
            tmp_path / "c",
            annotations={"coco": tmp_path / "nope.json"},
            progress=False,
        )
    with pytest.raises(ColorbenchError, match="manifest.csv not found"):
        run_crops(tmp_path / "nothing", tmp_path / "c", progress=False)
    with pytest.raises(ColorbenchError, match="unknown crops backend"):
        run_crops(ds.prepared, tmp_path / "c", backend="yolo", progress=False)
    assert not (tmp_path / "c").exists()


def test_cli_crops(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1)
    out = tmp_path / "crops"
    extra = ["--annotations", str(ds.annotations), "--min-box", "1", "--no-materialize"]
    res = invoke_stage_cli("crops", ds.prepared, out, *extra)
    assert res.exit_code == 0, res.output
    assert "4 boxes in 1 of 1 main images" in res.output
    res = invoke_stage_cli("crops", ds.prepared, out)
    assert res.exit_code == 1 and "needs COCO annotations" in res.output


def test_a_detector_returning_the_wrong_count_is_a_clear_error(tmp_path: Path) -> None:
    prepared = write_prepared(tmp_path, {i: np.zeros((16, 16, 3), np.uint8) for i in "ab"})
    with pytest.raises(ColorbenchError, match="detector returned 1 results for 2 images"):
        run_crops(
            prepared,
            tmp_path / "c",
            backend="maskrcnn",
            detector=lambda images: _FakeDetector()(images[:1]),
            batch_size=2,
            progress=False,
        )
    assert not (tmp_path / "c").exists()


def test_synthetic_generator_boxes_match_its_annotations(tmp_path: Path) -> None:
    """The project's own synthetic data through prepare: boxes are the COCO bboxes scaled."""
    import json

    from colorbench.data.prepare import prepare
    from colorbench.data.synthetic import generate

    raw = tmp_path / "raw"
    generate(raw, n=3, size=48, seed=0, n_background=1, workers=1)
    sources = [
        {
            "name": "synthetic",
            "path": str(raw / "images"),
            "role": "main",
            "annotations": str(raw / "instances.json"),
        },
        {"name": "background", "path": str(raw / "background"), "role": "background"},
    ]
    prepare(sources, tmp_path / "prepared", size=32, workers=0)
    out = tmp_path / "crops"
    run_crops(
        tmp_path / "prepared",
        out,
        annotations={"synthetic": raw / "instances.json"},
        top_k=100,
        min_box=1,
        materialize=False,
        progress=False,
    )
    got = pd.read_csv(out / "boxes.csv")
    coco = json.loads((raw / "instances.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    stem = {im["id"]: Path(im["file_name"]).stem for im in coco["images"]}
    manifest = pd.read_csv(tmp_path / "prepared/manifest.csv", dtype=str)
    id_of = {Path(p).stem: i for i, p in zip(manifest["id"], manifest["orig_path"], strict=True)}
    expected = set()
    for a in coco["annotations"]:
        if a.get("iscrowd"):
            continue
        x, y, w, h = (v * 32 / 48 for v in a["bbox"])
        box = (
            math.floor(round(x, 6)),
            math.floor(round(y, 6)),
            math.ceil(round(x + w, 6)),
            math.ceil(round(y + h, 6)),
        )
        expected.add((id_of[stem[a["image_id"]]], names[a["category_id"]], *box))
    rows = {(r.image_id, r.category, r.x0, r.y0, r.x1, r.y1) for r in got.itertuples()}
    assert rows == expected and len(rows) > 0


def _detail(img: np.ndarray) -> float:
    """Mean absolute horizontal difference: fine detail a downscale-then-upscale loses."""
    return float(np.abs(np.diff(img.astype(float), axis=1)).mean())


def test_crops_are_cut_from_the_original_resolution_image(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1, orig_size=(192, 192), size=48)
    kw = {"annotations": ds.by_source, "top_k": 10, "min_box": 1, "size": 32, "progress": False}
    run_crops(ds.prepared, tmp_path / "orig", **kw)  # source: original (the default)
    run_crops(ds.prepared, tmp_path / "prep", source="prepared", **kw)
    df = pd.read_csv(tmp_path / "orig" / "boxes.csv", keep_default_na=False)
    df_prep = pd.read_csv(tmp_path / "prep" / "boxes.csv", keep_default_na=False)
    # Same boxes in prepared pixels either way; ox.. is the annotation box in the original.
    assert df[["x0", "y0", "x1", "y1"]].equals(df_prep[["x0", "y0", "x1", "y1"]])
    orig_boxes = [(r.category, (r.ox0, r.oy0, r.ox1, r.oy1)) for r in df.itertuples()]
    assert sorted(orig_boxes) == sorted(_expected(ds, ds.ids[0]))
    orig = np.asarray(Image.open(df["orig_path"][0]).convert("RGB"))
    assert orig.shape == (192, 192, 3) and (df_prep["orig_path"] == "").all()
    sharper = 0
    for r, rp in zip(df.itertuples(), df_prep.itertuples(), strict=True):
        # PIL reference: the original's box, resized to 32x32 (bicubic)
        ref = Image.fromarray(orig[r.oy0 : r.oy1, r.ox0 : r.ox1]).resize((32, 32), Image.BICUBIC)
        got = np.asarray(Image.open(tmp_path / "orig" / r.crop_path))
        np.testing.assert_array_equal(got, np.asarray(ref))
        np.testing.assert_array_equal(load_crop(ds.prepared, r._asdict(), 32), got)
        from_prepared = np.asarray(Image.open(tmp_path / "prep" / rp.crop_path))
        sharper += _detail(got) > 1.2 * _detail(from_prepared)
    assert sharper == len(df)  # the 4x downscaled prepared image lost the detail


def test_missing_originals_and_bad_source_are_clear_errors(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1)
    with pytest.raises(ColorbenchError, match="source must be one of original, prepared"):
        run_crops(ds.prepared, tmp_path / "c", annotations=ds.by_source, source="raw")
    for p in (tmp_path / "raw" / "images").iterdir():
        p.unlink()
    with pytest.raises(ColorbenchError, match="1 original image.s. not found.*crops.source"):
        run_crops(ds.prepared, tmp_path / "c", annotations=ds.by_source, progress=False)
    run_crops(ds.prepared, tmp_path / "c", annotations=ds.by_source, source="prepared",
              progress=False)  # fmt: skip
    assert (tmp_path / "c" / "boxes.csv").is_file()
