"""The acquire stage end to end: synthetic and folder through its dvc.yaml command, COCO and
Places through a local HTTP server with tiny fake archives."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from colorbench.data.acquire import acquire
from colorbench.data.synthetic import generate
from colorbench.errors import ColorbenchError

REPO = Path(__file__).resolve().parents[1]


def _stage(dataset: str) -> int:
    """Exit code of the DVC stage's command, `colorbench acquire D --params params.yaml
    --out data/raw/D`, run in this process (its messages go to the captured stderr)."""
    from colorbench.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["acquire", dataset, "--params", "params.yaml", "--out", f"data/raw/{dataset}"])
    return exc.value.code or 0


@pytest.fixture(autouse=True)
def _no_env_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORBENCH_DOWNLOADS", raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project directory as the stage's working directory."""
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def _write_params(root: Path, acquire_block: dict, seed: int = 5) -> None:
    params = {"seed": seed, "num_workers": 2, "acquire": acquire_block}
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def _dead_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}{path}"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_stage_synthetic(project: Path, tmp_path: Path) -> None:
    _write_params(
        project, {"datasets": ["synthetic"], "synthetic": {"n": 6, "n_background": 2, "size": 32}}
    )
    assert _stage("synthetic") == 0
    out = project / "data" / "raw" / "synthetic"
    ref = tmp_path / "ref"
    generate(ref, n=6, size=32, seed=5, n_background=2)  # the global seed is used
    assert _tree(out) == _tree(ref)
    assert json.loads((out / "instances.json").read_text())["info"]["seed"] == 5
    assert [p.name for p in (project / "data" / "raw").iterdir()] == ["synthetic"]


def test_stage_folder(project: Path, tmp_path: Path) -> None:
    src = tmp_path / "mine"
    (src / "trip" / "day1").mkdir(parents=True)
    (src / ".git").mkdir()
    files = {"a.png": b"A", "trip/b.JPG": b"B", "trip/day1/c.jpeg": b"C", "notes.txt": b"N"}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    (src / ".DS_Store").write_bytes(b"junk")
    (src / ".git" / "HEAD").write_bytes(b"junk")
    _write_params(project, {"folder": {"path": str(src)}})
    assert _stage("folder") == 0
    assert _tree(project / "data" / "raw" / "folder") == files

    # a relative path is taken from the project root
    _write_params(project, {"folder": {"path": "../mine"}})
    assert _stage("folder") == 0
    assert _tree(project / "data" / "raw" / "folder") == files


def test_stage_folder_errors_are_one_line(project: Path, capsys) -> None:
    _write_params(project, {"folder": {"path": ""}})
    assert _stage("folder") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: acquire.folder.path is empty") and "\n" not in err
    _write_params(project, {"folder": {"path": "/definitely/not/here"}})
    assert _stage("folder") == 1
    assert "not a directory" in capsys.readouterr().err
    assert _stage("laion") == 2  # click refuses it before anything runs
    assert "'laion' is not one of" in capsys.readouterr().err
    assert not (project / "data" / "raw" / "folder").exists()


def test_params_defaults_when_blocks_absent(project: Path) -> None:
    """No params at all: the folder error, not a KeyError."""
    with pytest.raises(ColorbenchError, match="acquire.folder.path"):
        acquire("folder", "data/raw/folder", {}, root=project)


# --------------------------------------------------------------------------- archives


def _zip(path: Path, members: dict[str, bytes]) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = path.read_bytes()
    return {"size": len(data), "md5": hashlib.md5(data).hexdigest()}


def test_acquire_coco_from_local_server(files_server, project: Path) -> None:
    base, www, seen = files_server
    train = {f"train2017/{i:012d}.jpg": f"train{i}".encode() for i in range(1, 4)}
    val = {"val2017/000000000009.jpg": b"val9"}
    ann = {
        "annotations/instances_train2017.json": b"{}",
        "annotations/instances_val2017.json": b"{}",
        "annotations/captions_val2017.json": b"{}",
    }
    archives = [
        {"url": f"{base}/zips/train2017.zip", **_zip(www / "zips" / "train2017.zip", train)},
        {"url": f"{base}/zips/val2017.zip", **_zip(www / "zips" / "val2017.zip", val)},
        {
            "url": f"{base}/annotations/annotations_trainval2017.zip",
            **_zip(www / "annotations" / "annotations_trainval2017.zip", ann),
            "include": ["annotations/instances_*.json"],
        },
    ]
    params = {
        "seed": 0,
        "downloads": "cache",
        "download": {"backoff": 0},
        "coco": {"archives": archives},
    }
    summary = acquire("coco", "data/raw/coco", params, root=project)
    out = project / "data" / "raw" / "coco"
    expected = {**train, **val, **{k: v for k, v in ann.items() if "instances" in k}}
    assert _tree(out) == expected
    assert summary["files"] == len(expected)
    assert sorted(p.name for p in out.iterdir()) == ["annotations", "train2017", "val2017"]
    assert {p.name for p in (project / "cache").glob("*.zip")} == {
        "train2017.zip",
        "val2017.zip",
        "annotations_trainval2017.zip",
    }
    assert len(seen) == 3

    # Offline re-run: the cached archives are used, the server is never asked again.
    for a in archives:
        a["url"] = a["url"].replace(base, _dead_url(""))
    acquire("coco", "data/raw/coco", params, root=project)
    assert _tree(out) == expected and len(seen) == 3


def test_acquire_coco_unreachable_names_url_and_cache(project: Path) -> None:
    url = _dead_url("/zips/val2017.zip")
    params = {
        "downloads": "cache",
        "download": {"retries": 0, "backoff": 0},
        "coco": {"archives": [{"url": url, "size": 10}]},
    }
    with pytest.raises(ColorbenchError) as err:
        acquire("coco", "data/raw/coco", params, root=project)
    msg = str(err.value)
    assert "\n" not in msg and url in msg
    assert str(project / "cache" / "val2017.zip") in msg
    assert not (project / "data" / "raw" / "coco").exists()


def _tar(path: Path, members: dict[str, bytes]) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    data = path.read_bytes()
    return {"md5": hashlib.md5(data).hexdigest()}


def test_acquire_places_subset(files_server, project: Path) -> None:
    base, www, _ = files_server
    devkit = {"categories_places365.txt": b"/a/airfield 0\n/b/beach 1\n"}
    images = {
        f"data_256/{c[0]}/{c}/{i:08d}.jpg": f"{c}{i}".encode()
        for c in ("airfield", "beach")
        for i in range(1, 11)
    }
    archives = [
        {
            "file": "filelist_places365-standard.tar",
            **_tar(www / "filelist_places365-standard.tar", devkit),
        },
        {
            "file": "train_256_places365standard.tar",
            **_tar(www / "train_256_places365standard.tar", images),
            "images": True,
        },
    ]
    params = {
        "seed": 3,
        "downloads": "cache",
        "places": {"base_url": f"{base}/", "archives": archives, "max_images": 6},
    }
    acquire("places", "data/raw/places", params, root=project)
    out = project / "data" / "raw" / "places"
    tree = _tree(out)
    kept = sorted(k for k in tree if k.startswith("data_256/"))
    assert len(kept) == 6 and all(tree[k] == images[k] for k in kept)
    assert tree["categories_places365.txt"] == devkit["categories_places365.txt"]

    acquire("places", project / "again", params, root=project)  # deterministic
    assert _tree(project / "again") == tree
    params["seed"] = 4
    acquire("places", project / "other", params, root=project)
    assert sorted(k for k in _tree(project / "other") if k.startswith("data_256/")) != kept
