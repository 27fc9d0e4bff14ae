"""The acquire stage: data/raw/<dataset>/ from the synthetic generator, COCO 2017,
Places365-standard (256x256) or a user's image folder, always written atomically.

Archives are downloaded into the download cache (data/downloads/, outside every DVC
output; $COLORBENCH_DOWNLOADS overrides), so an archive placed there by hand is used
without network, and a re-run after a params change does not download again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from colorbench.atomic import atomic_dir
from colorbench.data import download as dl
from colorbench.data.extract import glob_filter, safe_extract
from colorbench.errors import ColorbenchError
from colorbench.imagefiles import is_image_name

DATASETS = ("synthetic", "coco", "places", "imagenet", "folder")

# Defaults for every key, so the code runs before params.yaml carries the blocks.
SYNTHETIC_DEFAULTS: dict[str, Any] = {"n": 1200, "n_background": 400, "size": 96}

COCO_DEFAULTS: dict[str, Any] = {
    "archives": [
        {
            "url": "http://images.cocodataset.org/zips/train2017.zip",
            "size": 19336861798,
            "md5": "cced6f7f71b7629ddf16f17bbcfab6b2",
        },
        {
            "url": "http://images.cocodataset.org/zips/val2017.zip",
            "size": 815585330,
            "md5": "442b8da7639aecaf257c1dceb8ba8c80",
        },
        {
            "url": "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
            "size": 252907541,
            "md5": "f4bbac642086de4f52a3fdda2de5fa2c",
            # only the instance annotations: captions and keypoints are not used
            "include": ["annotations/instances_*.json"],
        },
    ],
}

# File names and md5 sums as torchvision.datasets.Places365 (split train-standard, small=True).
PLACES_DEFAULTS: dict[str, Any] = {
    "base_url": "http://data.csail.mit.edu/places/places365/",
    "archives": [
        {"file": "filelist_places365-standard.tar", "md5": "35a0585fee1fa656440f3ab298f8479c"},
        {
            "file": "train_256_places365standard.tar",
            "md5": "53ca1c756c3d1e7809517cc47c5561c5",
            "images": True,  # the image archive: max_images applies
        },
    ],
    "max_images": 20000,  # deterministic subset (by seed); null keeps all 1.8M
}

# ImageNet has no public URL: the archives are placed in the download cache by hand (or
# base_url names a mirror). File names and md5 sums as torchvision.datasets.ImageNet.
IMAGENET_DEFAULTS: dict[str, Any] = {
    "base_url": "",
    "archives": [
        {
            "file": "ILSVRC2012_devkit_t12.tar.gz",
            "md5": "fa75699e90414af021442c21a62c3abf",
            "part": "devkit",
        },
        {
            "file": "ILSVRC2012_img_train.tar",
            "md5": "1d675b47d978889d74fa0da5fadfb00e",
            "part": "train",
        },
        {
            "file": "ILSVRC2012_img_val.tar",
            "md5": "29b22e2961454d5413ddabcf34fc5622",
            "part": "val",
        },
    ],
    "train_fraction": 0.1,  # of each class, in proportion (SCGAN: about 0.13M images)
    "val_per_class": 10,  # balanced (SCGAN: 10,000 images); null keeps all 50,000
    "gray_chroma_threshold": 4.0,  # val files with grayscale content are skipped; null keeps them
}

FOLDER_DEFAULTS: dict[str, Any] = {"path": ""}

DOWNLOAD_DEFAULTS: dict[str, Any] = {"retries": 5, "backoff": 2.0, "timeout": 60.0}


def _block(params: Mapping[str, Any], name: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    block = params.get(name) or {}
    if not isinstance(block, Mapping):
        raise ColorbenchError(f"params: acquire.{name} must be a mapping, got {block!r}")
    return {**defaults, **block}


def acquire(
    dataset: str,
    out: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
    root: str | os.PathLike = ".",
) -> dict[str, Any]:
    """Write `out` (the DAG's data/raw/<dataset>/) atomically; returns a summary.

    `params` is params.yaml's `acquire` section merged with the global keys (`seed`,
    `num_workers`), as `colorbench.params.section("acquire")` returns it. Relative paths
    (the output, the download cache, the folder to import) are taken from `root`.
    """
    params = dict(params or {})
    root = Path(root)
    if dataset not in DATASETS:
        raise ColorbenchError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    out = _resolve(root, out)
    seed = int(params.get("seed", 0))
    if dataset == "synthetic":
        return acquire_synthetic(out, _block(params, "synthetic", SYNTHETIC_DEFAULTS), seed, params)
    if dataset == "folder":
        return acquire_folder(out, _block(params, "folder", FOLDER_DEFAULTS), root)
    cache = dl.downloads_dir(_resolve(root, params.get("downloads") or dl.DEFAULT_DOWNLOADS))
    opts = _block(params, "download", DOWNLOAD_DEFAULTS)
    if dataset == "coco":
        return acquire_archives(out, _block(params, "coco", COCO_DEFAULTS), cache, opts, seed)
    if dataset == "imagenet":
        return acquire_imagenet(
            out, _block(params, "imagenet", IMAGENET_DEFAULTS), cache, opts, seed
        )
    return acquire_archives(out, _block(params, "places", PLACES_DEFAULTS), cache, opts, seed)


def _resolve(root: Path, path: str | os.PathLike) -> Path:
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else root / p


def acquire_synthetic(
    out: Path, cfg: Mapping[str, Any], seed: int, params: Mapping[str, Any]
) -> dict[str, Any]:
    from colorbench.data.synthetic import generate

    workers = max(1, int(params.get("num_workers") or 1))  # 0 workers = in process
    counts = generate(
        out,
        n=int(cfg["n"]),
        size=int(cfg["size"]),
        seed=seed,
        n_background=int(cfg.get("n_background") or 0),
        workers=workers,
    )
    return {"dataset": "synthetic", "out": str(out), **counts}


def acquire_archives(
    out: Path,
    cfg: Mapping[str, Any],
    cache: Path,
    opts: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Download (or reuse from `cache`) and safely extract each archive into `out`.

    Archive entries: `url` (or `file`, joined to `base_url`), optional `filename`, `size`,
    `md5`, `sha256`, `include` (glob patterns of members to keep) and `images: true`
    (only image members are kept, at most `max_images`, a subset chosen by the seed).
    """
    archives = cfg.get("archives") or []
    files = fetch_archives(out.name, cfg, cache, opts)
    max_images = cfg.get("max_images")
    summary: dict[str, Any] = {"dataset": out.name, "out": str(out), "archives": {}}
    with atomic_dir(out) as tmp:
        for spec, path in zip(archives, files, strict=True):
            accept = glob_filter(spec.get("include"))
            limit = None
            if spec.get("images"):
                base = accept
                accept = (
                    (lambda rel, base=base: is_image_name(rel) and base(rel))
                    if base
                    else is_image_name
                )
                limit = None if max_images is None else int(max_images)
            summary["archives"][path.name] = safe_extract(
                path, tmp, accept=accept, limit=limit, seed=seed
            )
    summary["files"] = sum(summary["archives"].values())
    return summary


def acquire_imagenet(
    out: Path, cfg: Mapping[str, Any], cache: Path, opts: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    """ILSVRC2012 subsets streamed out of the verified archives (see data/imagenet.py)."""
    import tarfile

    from colorbench.data import imagenet

    files = fetch_archives("imagenet", cfg, cache, opts)
    parts: dict[str, Path] = {}
    for spec, path in zip(cfg["archives"], files, strict=True):
        part = spec.get("part")
        if part not in imagenet.PARTS or part in parts:
            raise ColorbenchError(
                f"acquire.imagenet.archives: {path.name} needs a distinct `part`, one of "
                f"{', '.join(imagenet.PARTS)} (got {part!r})"
            )
        parts[part] = path
    with atomic_dir(out) as tmp:
        try:
            summary = imagenet.acquire_imagenet(tmp, parts, cfg, seed)
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise ColorbenchError(
                f"acquire imagenet: reading the archives failed ({exc})"
            ) from None
    return {"dataset": "imagenet", "out": str(out), **summary}


def fetch_archives(
    name: str, cfg: Mapping[str, Any], cache: Path, opts: Mapping[str, Any]
) -> list[Path]:
    """The verified cached copy of each of `cfg["archives"]`, downloaded when absent.

    Every archive must be present before anything is extracted: a missing one fails fast.
    An entry without a URL (no `url`, no `base_url`) must have been placed in the cache by
    hand; a checksum mismatch then keeps the file (it cannot be fetched again).
    """
    archives = cfg.get("archives") or []
    if not archives:
        raise ColorbenchError(f"params: no archives listed for acquire.{name}")
    files = []
    for spec in archives:
        url = spec.get("url") or (str(cfg.get("base_url") or "") + str(spec.get("file") or ""))
        if not url:
            raise ColorbenchError(f"params: an archive of acquire.{name} has neither url nor file")
        check = {k: spec.get(k) for k in ("size", "md5", "sha256")}
        if "://" not in url:  # no mirror configured
            path = cache / (spec.get("filename") or dl.url_filename(url))
            if not path.is_file():
                raise ColorbenchError(
                    f"{path.name} not found in {cache}: place it there by hand, or set "
                    f"acquire.{name}.base_url (or the archive's url) to a mirror"
                )
            dl.verify(path, **check, keep=True)
            files.append(path)
            continue
        files.append(
            dl.fetch(
                url,
                filename=spec.get("filename") or spec.get("file"),
                cache_dir=cache,
                **check,
                retries=int(opts["retries"]),
                backoff=float(opts["backoff"]),
                timeout=float(opts["timeout"]),
            )
        )
    return files


def acquire_folder(out: Path, cfg: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """Copy a user's folder (recursively, keeping relative paths) into `out`.

    Every regular file is copied (prepare decides what is an image and records the rest in
    rejects.csv); hidden files and folders (.DS_Store, .git) are skipped.
    """
    from tqdm import tqdm

    raw = str(cfg.get("path") or "").strip()
    if not raw:
        raise ColorbenchError(
            "acquire.folder.path is empty; set it to your image folder, e.g. "
            "`dvc exp run -S acquire.folder.path=/data/my_images`"
        )
    src = _resolve(root, raw)
    if not src.is_dir():
        raise ColorbenchError(f"acquire.folder.path: {src} is not a directory")
    real_src, real_out = os.path.realpath(src), os.path.realpath(out)
    if real_out == real_src or real_out.startswith(real_src + os.sep):
        raise ColorbenchError(f"acquire.folder.path ({src}) must not contain the output {out}")

    files: list[tuple[Path, Path]] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and path.is_file():
                files.append((path, path.relative_to(src)))
    if not files:
        raise ColorbenchError(f"acquire.folder.path: {src} holds no files")
    with atomic_dir(out) as tmp:
        for path, rel in tqdm(files, desc="copy", unit="file", leave=False, mininterval=1.0):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return {"dataset": "folder", "out": str(out), "files": len(files), "source": str(src)}
