"""acquire@imagenet on ImageNet-layout archives (tests/imagenet_fixture.py): devkit parsing
through torchvision, the streamed train subset, the balanced val subset without grayscale
files, verification, a mirror on 127.0.0.1 and the stage / CLI entry points."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from imagenet_fixture import DEVKIT, TRAIN, VAL, ImageNetFixture, make_imagenet

from colorbench.data.acquire import acquire
from colorbench.data.imagenet import parse_devkit, read_classes
from colorbench.errors import ColorbenchError


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> ImageNetFixture:
    return make_imagenet(tmp_path_factory.mktemp("imagenet_archives"))


@pytest.fixture(autouse=True)
def _no_env_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORBENCH_DOWNLOADS", raising=False)


def _placed(fx: ImageNetFixture, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for name in (DEVKIT, TRAIN, VAL):
        shutil.copyfile(fx.archive(name), cache / name)


def _params(fx: ImageNetFixture, seed: int = 0, **block) -> dict:
    cfg = {"archives": fx.archives(), "train_fraction": 0.5, "val_per_class": 3, **block}
    return {"seed": seed, "downloads": "cache", "download": {"backoff": 0}, "imagenet": cfg}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _rank(seed: int, name: str) -> bytes:
    """The selection order written out: sha1 of "seed:name" (colorbench's hash_unit)."""
    return hashlib.sha1(f"{seed}:{name}".encode()).digest()[:8]


def test_devkit_parsed_as_torchvision_does(fx: ImageNetFixture) -> None:
    wnid_to_classes, val_wnids = parse_devkit(fx.archive(DEVKIT))
    # leaves only (the internal node `entity` is dropped), names split on ", "
    assert wnid_to_classes == {w: tuple(fx.names[w].split(", ")) for w in fx.wnids}
    assert val_wnids == [fx.val[name] for name in sorted(fx.val)]


def test_devkit_unreadable_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / DEVKIT
    with tarfile.open(bad, "w:gz") as tf:
        info = tarfile.TarInfo("ILSVRC2012_devkit_t12/data/meta.mat")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"junk"))
    with pytest.raises(ColorbenchError, match="not a readable ILSVRC2012 devkit") as err:
        parse_devkit(bad)
    assert "\n" not in str(err.value)


def test_acquire_preplaced_subsets(fx: ImageNetFixture, tmp_path: Path) -> None:
    _placed(fx, tmp_path / "cache")
    summary = acquire("imagenet", "data/raw/imagenet", _params(fx, seed=1), root=tmp_path)
    out = tmp_path / "data" / "raw" / "imagenet"
    index = {w: i for i, w in enumerate(sorted(fx.wnids))}  # torchvision / VGG-16 order
    assert read_classes(out / "classes.csv") == index

    # train: half of each class (rounded), the smallest hashes, bytes as in the inner tar
    labels = {r["file_name"]: r["label"] for r in _rows(out / "train_labels.csv")}
    expected = {}
    for w, files in fx.train.items():
        k = max(1, round(0.5 * len(files)))
        for name in sorted(files, key=lambda n: _rank(1, n))[:k]:
            expected[f"{w}/{name}"] = str(index[w])
    assert labels == expected
    assert {str(p.relative_to(out / "train")) for p in (out / "train").rglob("*.JPEG")} == set(
        expected
    )
    for rel in expected:
        w, name = rel.split("/")
        assert (out / "train" / rel).read_bytes() == fx.train[w][name]

    # val: 3 per class, exactly the colour files (2 of 5 per class are grayscale)
    val = {r["file_name"]: r["label"] for r in _rows(out / "val_labels.csv")}
    colour = {n: str(index[w]) for n, w in fx.val.items() if n not in fx.val_gray}
    assert val == colour
    assert sorted(p.name for p in (out / "val").iterdir()) == sorted(colour)
    assert all((out / "val" / n).read_bytes() == fx.val_bytes[n] for n in val)
    skipped = _rows(out / "val_skipped.csv")
    assert skipped and {r["file_name"] for r in skipped} <= fx.val_gray
    assert all(r["reason"].startswith("grayscale") for r in skipped)
    assert summary["train"] == len(expected) and summary["val"] == len(colour)

    # deterministic; another seed picks another train subset
    acquire("imagenet", tmp_path / "again", _params(fx, seed=1), root=tmp_path)
    assert (tmp_path / "again" / "train_labels.csv").read_bytes() == (
        out / "train_labels.csv"
    ).read_bytes()
    acquire("imagenet", tmp_path / "other", _params(fx, seed=2), root=tmp_path)
    assert _rows(tmp_path / "other" / "train_labels.csv") != _rows(out / "train_labels.csv")


def test_val_all_and_grayscale_kept(fx: ImageNetFixture, tmp_path: Path) -> None:
    _placed(fx, tmp_path / "cache")
    params = _params(fx, val_per_class=None, gray_chroma_threshold=None)
    params["imagenet"]["archives"] = [a for a in fx.archives() if a["part"] != "train"]
    summary = acquire("imagenet", "data/raw/imagenet", params, root=tmp_path)
    out = tmp_path / "data" / "raw" / "imagenet"
    assert sorted(p.name for p in (out / "val").iterdir()) == sorted(fx.val)
    assert not (out / "train").exists() and "train" not in summary


def test_mirror_on_localhost(fx: ImageNetFixture, files_server, tmp_path: Path) -> None:
    base, www, seen = files_server
    for name in (DEVKIT, TRAIN, VAL):
        shutil.copyfile(fx.archive(name), www / name)
    params = _params(fx, base_url=f"{base}/")
    params["imagenet"]["archives"] = [{k: v for k, v in a.items()} for a in fx.archives()]
    acquire("imagenet", "data/raw/imagenet", params, root=tmp_path)
    assert sorted(seen) == sorted(f"/{n}" for n in (DEVKIT, TRAIN, VAL))
    assert (tmp_path / "cache" / TRAIN).read_bytes() == fx.archive(TRAIN).read_bytes()
    assert len(_rows(tmp_path / "data" / "raw" / "imagenet" / "val_labels.csv")) == 12


def test_default_md5_mismatch_keeps_placed_file(fx: ImageNetFixture, tmp_path: Path) -> None:
    """torchvision's md5s by default: a non-official copy is refused but never deleted."""
    _placed(fx, tmp_path / "cache")
    with pytest.raises(ColorbenchError, match="md5 mismatch") as err:
        acquire("imagenet", "data/raw/imagenet", {"downloads": "cache"}, root=tmp_path)
    assert "\n" not in str(err.value) and "kept" in str(err.value)
    assert (tmp_path / "cache" / DEVKIT).is_file()
    assert not (tmp_path / "data" / "raw" / "imagenet").exists()


def test_missing_archive_names_cache(fx: ImageNetFixture, tmp_path: Path) -> None:
    with pytest.raises(ColorbenchError) as err:
        acquire("imagenet", "data/raw/imagenet", _params(fx), root=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and DEVKIT in msg and str(tmp_path / "cache") in msg
    assert "base_url" in msg


def test_unsafe_inner_member_refused(fx: ImageNetFixture, tmp_path: Path) -> None:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w") as tf:
        info = tarfile.TarInfo("../escape.JPEG")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    cache = tmp_path / "cache"
    _placed(fx, cache)
    with tarfile.open(cache / TRAIN, "w") as tf:
        info = tarfile.TarInfo(f"{fx.wnids[0]}.tar")
        info.size = len(inner.getvalue())
        tf.addfile(info, io.BytesIO(inner.getvalue()))
    params = _params(fx)
    params["imagenet"]["archives"][1].pop("md5")
    with pytest.raises(ColorbenchError, match="unsafe"):
        acquire("imagenet", "data/raw/imagenet", params, root=tmp_path)
    assert not (tmp_path / "escape.JPEG").exists()
    assert not (tmp_path / "data" / "raw" / "imagenet").exists()


def test_stage_and_cli(fx: ImageNetFixture, tmp_path: Path, monkeypatch, capsys) -> None:
    from test_acquire import _stage

    from colorbench.cli import main as cli

    monkeypatch.chdir(tmp_path)
    _placed(fx, tmp_path / "cache")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": _params(fx)}))
    assert _stage("imagenet") == 0
    assert (tmp_path / "data" / "raw" / "imagenet" / "val_labels.csv").is_file()
    result = CliRunner().invoke(cli, ["acquire", "imagenet", "--out", "elsewhere"])
    assert result.exit_code == 0, result.output
    assert "4 classes" in result.output and "12 val images" in result.output
