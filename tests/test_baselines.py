"""gray and external methods."""

from __future__ import annotations

import numpy as np
import pytest
from _metrics_data import write_prepared
from PIL import Image

from colorbench.color import gray_rgb
from colorbench.errors import ColorbenchError
from colorbench.methods.external import import_external
from colorbench.methods.gray import write_gray


@pytest.fixture
def prepared(tmp_path):
    root, df = write_prepared(tmp_path / "prepared", {"train": 3, "test": 4})
    return root, df[df["split"] == "test"]["id"].tolist()


@pytest.mark.parametrize("workers", [0, 2])
def test_write_gray_is_the_l_channel_of_the_test_split(tmp_path, prepared, workers):
    root, test_ids = prepared
    out = tmp_path / "outputs" / "gray"
    assert write_gray(root, out, workers=workers) == 4
    assert sorted(p.stem for p in out.iterdir()) == sorted(test_ids)
    for i in test_ids:
        src = np.asarray(Image.open(root / "images" / f"{i}.png"))
        got = np.asarray(Image.open(out / f"{i}.png"))
        assert np.array_equal(got, gray_rgb(src))
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_import_external_matches_by_stem_and_resizes(tmp_path, prepared):
    root, test_ids = prepared
    ext = tmp_path / "deoldify"
    ext.mkdir()
    for k, i in enumerate(test_ids):
        img = np.asarray(Image.open(root / "images" / f"{i}.png"))
        if k == 0:
            Image.fromarray(img).resize((64, 64)).save(ext / f"{i}.jpg", quality=95)
        else:
            Image.fromarray(img).save(ext / f"{i}.png")
    Image.new("RGB", (32, 32)).save(ext / "unrelated.png")
    (ext / "notes.txt").write_text("not an image")
    out = tmp_path / "outputs" / "deoldify"
    report = import_external(ext, root, out)
    assert report == {"matched": 4, "missing": [], "extra": ["unrelated.png"],
                      "resized": [test_ids[0]]}  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}.png" for i in test_ids)
    for i in test_ids:
        assert Image.open(out / f"{i}.png").size == (32, 32)
    same = np.asarray(Image.open(out / f"{test_ids[1]}.png"))
    assert np.array_equal(same, np.asarray(Image.open(root / "images" / f"{test_ids[1]}.png")))


def test_import_external_missing_files(tmp_path, prepared):
    root, test_ids = prepared
    ext = tmp_path / "ddcolor"
    ext.mkdir()
    for i in test_ids[:3]:
        Image.open(root / "images" / f"{i}.png").save(ext / f"{i}.png")
    out = tmp_path / "outputs" / "ddcolor"
    with pytest.raises(ColorbenchError, match=f"lacks 1 of the 4 test images \\({test_ids[3]}\\)"):
        import_external(ext, root, out)
    assert not out.exists()
    report = import_external(ext, root, out, allow_missing=True)
    assert report["missing"] == [test_ids[3]] and report["matched"] == 3
    assert len(list(out.iterdir())) == 3
    with pytest.raises(ColorbenchError, match="does not exist"):
        import_external(tmp_path / "nope", root, out)


def test_import_external_rejects_ambiguous_and_undecodable(tmp_path, prepared):
    root, test_ids = prepared
    ext = tmp_path / "ext"
    ext.mkdir()
    for i in test_ids:
        Image.open(root / "images" / f"{i}.png").save(ext / f"{i}.png")
    Image.open(root / "images" / f"{test_ids[0]}.png").save(ext / f"{test_ids[0]}.jpg")
    with pytest.raises(ColorbenchError, match="same name"):
        import_external(ext, root, tmp_path / "o")
    (ext / f"{test_ids[0]}.jpg").unlink()
    (ext / f"{test_ids[1]}.png").write_bytes(b"garbage")
    with pytest.raises(ColorbenchError, match="cannot decode"):
        import_external(ext, root, tmp_path / "o")
    assert not (tmp_path / "o").exists()
