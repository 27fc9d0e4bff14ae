"""prepare: good and bad files, conversions, EXIF orientation, grayscale, splits, ids,
idempotence, atomicity. Tiny images so the whole file runs in seconds."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from colorbench.data.decode import Rejected, open_upright
from colorbench.data.ids import assign_ids
from colorbench.data.manifest import COLUMNS, image_path, read_manifest
from colorbench.data.prepare import PrepareSummary, prepare
from colorbench.data.splits import hash_unit, split_of
from colorbench.errors import ColorbenchError

SIZE = 32  # output side; the "exact" fixtures are 32x32 too, so resize is the identity
MAX_PIXELS = 48 * 48


def _colourful(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth colourful image (JPEG-friendly, clearly not grayscale, not flat)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    phase = rng.uniform(0, 6.28, 3)
    chans = [127.5 + 120 * np.sin(x / w * 3.1 + y / h * 1.7 * (c + 1) + phase[c]) for c in range(3)]
    return np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)


def _save(arr: np.ndarray, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def _prep(src: Path, out: Path, **kw) -> PrepareSummary:
    args = dict(
        sources=[{"name": "src", "path": str(src), "role": "main"}],
        out_dir=out,
        size=SIZE,
        seed=0,
        split={"val": 0.2, "test": 0.2},
        gray_chroma_threshold=4.0,
        keep_grayscale=False,
        max_pixels=MAX_PIXELS,
        workers=0,
    )
    args.update(kw)
    return prepare(**args)


def _rejects(out: Path) -> dict[str, str]:
    with open(out / "rejects.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [] or list(rows[0]) == ["path", "reason"]
    return {Path(r["path"]).name: r["reason"] for r in rows}


def _out(out: Path, image_id: str) -> np.ndarray:
    im = Image.open(image_path(out, image_id))
    assert im.mode == "RGB" and im.size == (SIZE, SIZE)
    return np.asarray(im).astype(int)


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """A folder with every kind of good and bad file."""
    src = tmp_path / "zoo"
    for i in range(4):
        _save(_colourful(seed=i), src / f"good{i}.jpg", quality=95)
    good_png = _save(_colourful(seed=9), src / "sub" / "good_png.png")
    # truncated files: headers intact, pixel data cut
    data = good_png.read_bytes()
    (src / "trunc_png.png").write_bytes(data[: len(data) // 2])
    data = (src / "good0.jpg").read_bytes()
    (src / "trunc_jpg.jpg").write_bytes(data[: len(data) // 2])
    (src / "empty.png").write_bytes(b"")
    (src / "notes.txt").write_text("not an image at all\n")
    (src / "fake.jpg").write_text("text with an image extension\n")
    _save(_colourful(64, 64), src / "bomb_warn.png")  # 4096 px: between max and 2x max
    _save(_colourful(80, 80), src / "bomb_err.png")  # 6400 px: above 2x max
    _save(np.full((32, 32, 3), (10, 200, 30), np.uint8), src / "flat.png")
    _save(_colourful(4, 40), src / "tiny.png")
    # CMYK JPEG: left half pure-ish cyan, right half magenta + some black
    cmyk = np.zeros((32, 32, 4), np.uint8)
    cmyk[:, :16] = (255, 0, 0, 0)
    cmyk[:, 16:] = (0, 255, 0, 64)
    Image.fromarray(cmyk, "CMYK").save(src / "cmyk.jpg", quality=100)
    # palette PNG: four known palette colours in quadrants
    pal_idx = np.zeros((32, 32), np.uint8)
    pal_idx[:16, 16:], pal_idx[16:, :16], pal_idx[16:, 16:] = 1, 2, 3
    pal = Image.fromarray(pal_idx, "P")
    pal.putpalette([250, 10, 10, 10, 250, 10, 10, 10, 250, 200, 200, 20] + [0] * (252 * 3))
    pal.save(src / "palette.png")
    # RGBA: left transparent red (-> white), right half-transparent blue
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[:, :16] = (255, 0, 0, 0)
    rgba[:, 16:] = (0, 0, 255, 128)
    rgba[:4, :4] = (0, 255, 0, 255)  # an opaque green corner keeps it from being flat
    Image.fromarray(rgba, "RGBA").save(src / "rgba.png")
    # 16-bit grey: a ramp over the full 16-bit range
    ramp = (np.arange(32 * 32, dtype=np.uint32).reshape(32, 32) * 64).astype(np.uint16)
    Image.fromarray(ramp).save(src / "deep16.png")
    # 8-bit grayscale JPEG
    _save(_colourful(seed=3)[..., 0], src / "gray.jpg", quality=95)
    # skipped silently: hidden files and folders
    (src / ".DS_Store").write_bytes(b"\0\1junk")
    _save(_colourful(), src / ".hidden" / "h.png")
    return src


EXPECTED_REJECTS = {
    "trunc_png.png": "corrupt or truncated",
    "trunc_jpg.jpg": "corrupt or truncated",
    "empty.png": "empty file",
    "notes.txt": "not an image",
    "fake.jpg": "not an image",
    "bomb_warn.png": "decompression bomb",
    "bomb_err.png": "decompression bomb",
    "flat.png": "flat",
    "tiny.png": "too small",
}
EXPECTED_KEPT = {
    "good0",
    "good1",
    "good2",
    "good3",
    "good_png",
    "cmyk",
    "palette",
    "rgba",
    "deep16",
    "gray",
}


def test_every_file_kept_or_rejected_with_reason(zoo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = _prep(zoo, out)
    df = read_manifest(out)
    assert list(df.columns) == COLUMNS
    assert set(df["id"]) == EXPECTED_KEPT
    rejects = _rejects(out)
    assert set(rejects) == set(EXPECTED_REJECTS)
    for name, category in EXPECTED_REJECTS.items():
        assert rejects[name].split(":")[0] == category, (name, rejects[name])
    # nothing lost: every visible file is in the manifest (orig_path) or the rejects
    visible = {
        p.relative_to(zoo).as_posix()
        for p in zoo.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(zoo).parts)
    }
    listed = {Path(p).relative_to(zoo).as_posix() for p in df["orig_path"]}
    with open(out / "rejects.csv", newline="") as fh:
        listed |= {Path(r["path"]).relative_to(zoo).as_posix() for r in csv.DictReader(fh)}
    assert listed == visible
    assert summary.kept == len(EXPECTED_KEPT) and summary.rejected == len(EXPECTED_REJECTS)
    assert summary.by_reason["decompression bomb"] == 2
    assert sorted(df["id"]) == list(df["id"])  # sorted by id
    assert set(p.stem for p in (out / "images").iterdir()) == EXPECTED_KEPT
    row = df.set_index("id").loc["good_png"]
    assert row["orig_path"] == (zoo / "sub" / "good_png.png").as_posix()
    assert (row["orig_width"], row["orig_height"], row["width"], row["height"]) == (32, 32, 32, 32)
    assert "too small: 40x4" in rejects["tiny.png"]
    assert f"max_pixels {MAX_PIXELS}" in rejects["bomb_err.png"]


def test_conversions_are_correct(zoo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _prep(zoo, out, keep_grayscale=True)
    # CMYK: R = 255 (1 - C)(1 - K), ... (JPEG is lossy: tolerance)
    cmyk = _out(out, "cmyk")
    assert np.abs(cmyk[8:24, 2:12] - (0, 255, 255)).max() <= 8
    k = 1 - 64 / 255
    assert np.abs(cmyk[8:24, 20:30] - (255 * k, 0, 255 * k)).max() <= 8
    # palette: exact colours
    pal = _out(out, "palette")
    for (r, c), colour in zip(
        [(0, 0), (0, 31), (31, 0), (31, 31)],
        [(250, 10, 10), (10, 250, 10), (10, 10, 250), (200, 200, 20)],
        strict=True,
    ):
        assert tuple(pal[r, c]) == colour
    # RGBA composited on white
    rgba = _out(out, "rgba")
    assert tuple(rgba[20, 2]) == (255, 255, 255)
    assert np.abs(rgba[20, 24] - (127, 127, 255)).max() <= 1
    assert tuple(rgba[1, 1]) == (0, 255, 0)
    # 16-bit: scaled by 255/65535, not clipped at 255
    deep = _out(out, "deep16")
    ramp = np.arange(32 * 32).reshape(32, 32) * 64
    assert np.abs(deep[..., 0] - np.rint(ramp * 255 / 65535)).max() <= 1
    assert deep[..., 0].max() >= 250 and (deep[..., 0] == deep[..., 1]).all()
    # grayscale JPEG -> R = G = B
    gray = _out(out, "gray")
    assert (gray[..., 0] == gray[..., 2]).all() and gray.std() > 10


def test_grayscale_content_flagged_and_excluded(zoo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _prep(zoo, out)
    df = read_manifest(out).set_index("id")
    gray_ids = {"gray", "deep16"}
    assert set(df.index[df["grayscale"]]) == gray_ids
    assert (df.loc[list(gray_ids), "split"] == "excluded").all()
    assert (df.drop(index=list(gray_ids))["split"] != "excluded").all()
    out2 = tmp_path / "out2"
    _prep(zoo, out2, keep_grayscale=True)
    df2 = read_manifest(out2).set_index("id")
    assert df2.loc["gray", "grayscale"] and df2.loc["gray", "split"] in ("train", "val", "test")
    # an RGB file holding grey pixels is still grayscale content
    src = tmp_path / "grey_rgb"
    _save(np.repeat(_colourful()[..., 1:2], 3, axis=2), src / "g.png")
    _save(_colourful(), src / "c.png")
    out3 = tmp_path / "out3"
    _prep(src, out3)
    df3 = read_manifest(out3).set_index("id")
    assert df3.loc["g", "grayscale"] and not df3.loc["c", "grayscale"]


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_jpeg_comes_out_upright(tmp_path: Path, orientation: int) -> None:
    # Upright the image is 32 wide x 48 tall with a red band on top. Stored pixels are
    # rotated: orientation 6 (display = rotate stored 90 deg clockwise) keeps the top in
    # the stored left columns; orientation 8 (counter-clockwise) in the right columns.
    upright = np.full((48, 32, 3), (40, 90, 200), np.uint8)
    upright[:8] = (230, 20, 20)
    upright[20:30, 10:20] = (20, 200, 20)  # not flat, not symmetric
    stored = np.rot90(upright, k=1 if orientation == 6 else -1)  # 32 tall x 48 wide
    exif = Image.Exif()
    exif[0x0112] = orientation
    src = tmp_path / "exif"
    _save(np.ascontiguousarray(stored), src / "rot.jpg", quality=95, exif=exif.tobytes())
    out = tmp_path / "out"
    _prep(src, out, split={"val": 0, "test": 0})
    img = _out(out, "rot")
    top, bottom = img[:3].mean(axis=(0, 1)), img[-3:].mean(axis=(0, 1))
    assert top[0] > 180 and top[2] < 80, top  # red on top
    assert bottom[2] > 150 and bottom[0] < 100, bottom
    row = read_manifest(out).iloc[0]
    assert (row["orig_width"], row["orig_height"]) == (32, 48)


def test_decompression_bomb_raised_by_pil_during_decode(tmp_path: Path, monkeypatch) -> None:
    path = _save(_colourful(), tmp_path / "x.png")

    def bomb_error(self):
        raise Image.DecompressionBombError("too many pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", bomb_error)
    with pytest.raises(Rejected, match="decompression bomb"):
        open_upright(path, max_pixels=10**6)

    def bomb_warning(self):
        warnings.warn("big", Image.DecompressionBombWarning, stacklevel=1)
        return None

    monkeypatch.setattr(ImageFile.ImageFile, "load", bomb_warning)
    with pytest.raises(Rejected, match="decompression bomb"):
        open_upright(path, max_pixels=10**6)


def test_splits_deterministic_with_requested_fractions() -> None:
    ids = [f"img{i:05d}" for i in range(20000)]
    splits = [split_of(0, i, 0.1, 0.2) for i in ids]
    assert splits == [split_of(0, i, 0.1, 0.2) for i in ids]
    frac = {s: splits.count(s) / len(ids) for s in ("train", "val", "test")}
    assert abs(frac["val"] - 0.1) < 0.01 and abs(frac["test"] - 0.2) < 0.01
    other_seed = [split_of(1, i, 0.1, 0.2) for i in ids]
    assert other_seed != splits
    u = np.array([hash_unit(0, i) for i in ids])
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01


def test_prepared_splits_follow_the_hash_and_roles(tmp_path: Path) -> None:
    main, bg, forced = tmp_path / "main", tmp_path / "bg", tmp_path / "forced"
    for i in range(40):
        _save(_colourful(16, 16, seed=i), main / f"m{i:02d}.png")
    for i in range(5):
        _save(_colourful(16, 16, seed=100 + i), bg / f"b{i}.png")
        _save(_colourful(16, 16, seed=200 + i), forced / f"f{i}.png")
    out = tmp_path / "out"
    sources = [
        {"name": "main", "path": str(main), "role": "main"},
        {"name": "bg", "path": str(bg), "role": "background"},
        {"name": "forced", "path": str(forced), "role": "main", "split": "test"},
    ]
    _prep(main, out, sources=sources, seed=7, split={"val": 0.25, "test": 0.25})
    df = read_manifest(out).set_index("id")
    for image_id, row in df.iterrows():
        if row["source"] == "main":
            assert row["split"] == split_of(7, image_id, 0.25, 0.25)
        elif row["source"] == "bg":
            assert row["role"] == "background" and row["split"] == "train"
        else:
            assert row["split"] == "test"
    main_splits = df[df["source"] == "main"]["split"].value_counts()
    assert set(main_splits.index) == {"train", "val", "test"}


def test_idempotent_and_workers_give_identical_bytes(zoo: Path, tmp_path: Path) -> None:
    outs = [tmp_path / "o1", tmp_path / "o2", tmp_path / "o3"]
    _prep(zoo, outs[0])
    _prep(zoo, outs[1])
    _prep(zoo, outs[2], workers=2)  # through the process pool

    def tree(d: Path) -> dict[str, bytes]:
        return {
            p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
        }

    first = tree(outs[0])
    assert len(first) == len(EXPECTED_KEPT) + 2
    assert tree(outs[1]) == first
    assert tree(outs[2]) == first
    # re-running over an existing output replaces it, leaving no temporary siblings
    _prep(zoo, outs[0])
    assert tree(outs[0]) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o1", "o2", "o3", "zoo"]


def test_id_collisions_within_and_across_sources(tmp_path: Path) -> None:
    assert assign_ids([("s", ["a/x.jpg", "b/x.png", "c.png", "y.jpg"])]) == [
        ["a_x", "b_x", "c", "y"]
    ]
    # same stem in one folder -> extension; case-only difference -> hash suffix
    ids = assign_ids([("s", ["p.jpg", "p.png", "Q.png", "q.png"])])[0]
    assert ids[:2] == ["p_jpg", "p_png"]
    assert ids[2].startswith("Q_png_") and ids[3].startswith("q_png_")
    assert ids[2].casefold() != ids[3].casefold()
    # a resolved id that meets an existing stem climbs again
    ids = assign_ids([("s", ["a/x.png", "a_x.png", "b/x.png"])])[0]
    assert len({i.casefold() for i in ids}) == 3 and ids[2] == "b_x"
    # across sources: the source name is prefixed only where ids collide
    both = assign_ids([("coco", ["x.jpg", "u.jpg"]), ("places", ["x.jpg", "v.jpg"])])
    assert both == [["coco_x", "u"], ["places_x", "v"]]
    # end to end: files are named by id, orig_path points back at the file
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    _save(_colourful(seed=1), s1 / "a" / "x.png")
    _save(_colourful(seed=2), s1 / "b" / "x.jpg")
    _save(_colourful(seed=3), s2 / "a_x.png")
    out = tmp_path / "out"
    sources = [{"name": "s1", "path": str(s1)}, {"name": "s2", "path": str(s2)}]
    _prep(s1, out, sources=sources)
    df = read_manifest(out).set_index("id")
    assert set(df.index) == {"s1_a_x", "b_x", "s2_a_x"}
    assert df.loc["b_x", "orig_path"].endswith("s1/b/x.jpg")
    assert df.loc["s2_a_x", "source"] == "s2"
    assert all(image_path(out, i).is_file() for i in df.index)


def test_labels_fill_the_label_column_and_metadata_is_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _save(_colourful(seed=1), src / "cat" / "one.png")
    _save(_colourful(seed=2), src / "two.png")
    _save(_colourful(seed=3), src / "three.png")
    labels = src / "labels.csv"
    labels.write_text("file_name,label\ncat/one.png,cat\ntwo.png,dog\n")
    annotations = src / "instances.json"
    annotations.write_text("{}")
    out = tmp_path / "out"
    sources = [
        {"name": "s", "path": str(src), "labels": str(labels), "annotations": str(annotations)}
    ]
    summary = _prep(src, out, sources=sources)
    df = read_manifest(out).set_index("id")
    assert df["label"].to_dict() == {"one": "cat", "two": "dog", "three": ""}
    assert summary.rejected == 0 and _rejects(out) == {}


def test_user_errors_are_clear_and_leave_output_untouched(tmp_path: Path) -> None:
    with pytest.raises(ColorbenchError, match="does not exist"):
        _prep(tmp_path / "missing", tmp_path / "out")
    src = tmp_path / "src"
    _save(_colourful(), src / "ok.png")
    out = tmp_path / "out"
    _prep(src, out)
    before = (out / "manifest.csv").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_text("x")
    (bad / "b.png").write_bytes(b"")
    with pytest.raises(ColorbenchError, match="no image could be kept.*not an image 1"):
        _prep(bad, out)
    assert (out / "manifest.csv").read_bytes() == before
    with pytest.raises(ColorbenchError, match="overlap"):
        _prep(src, src / "prepared")
    precious = tmp_path / "precious"
    (precious / "keep.txt").parent.mkdir()
    (precious / "keep.txt").write_text("user data")
    with pytest.raises(ColorbenchError, match="not empty"):
        _prep(src, precious)
    assert (precious / "keep.txt").read_text() == "user data"
    with pytest.raises(ColorbenchError, match="split fractions"):
        _prep(src, out, split={"val": 0.7, "test": 0.5})
    with pytest.raises(ColorbenchError, match="role"):
        _prep(src, out, sources=[{"name": "s", "path": str(src), "role": "weird"}])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ColorbenchError, match="no files found"):
        _prep(empty, tmp_path / "out_empty")
