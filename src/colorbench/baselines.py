"""Methods that need no training: `gray` (the colourless input itself, a floor) and
`external` (another method's outputs, e.g. DeOldify or DDColor, imported by file stem).

Both write outputs/<method>/<id>.png (outputs/<protocol>/<method>/ in the DAG) for the ids
of one split or evaluation protocol, atomically.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from colorbench.atomic import atomic_dir
from colorbench.errors import ColorbenchError
from colorbench.interrupts import quiet_worker

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _split_ids(prepared_dir: str | os.PathLike, split: str) -> list[str]:
    from colorbench.data.manifest import read_manifest, select

    if not (Path(prepared_dir) / "manifest.csv").is_file():
        raise ColorbenchError(f"{prepared_dir}/manifest.csv not found; run `dvc repro prepare`")
    ids = select(read_manifest(prepared_dir), split=split, role="main")["id"].tolist()
    if not ids:
        raise ColorbenchError(f"the prepared data in {prepared_dir} has no '{split}' images")
    return ids


def _gray_one(args: tuple[Path, Path]) -> None:
    from PIL import Image

    from colorbench.lab import gray_rgb
    from colorbench.metrics.decode import read_rgb

    src, dst = args
    Image.fromarray(gray_rgb(read_rgb(src))).save(dst)


def _map(fn, jobs: list, workers: int, desc: str) -> None:
    from tqdm import tqdm

    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers, initializer=quiet_worker) as pool:
            for _ in tqdm(pool.map(fn, jobs, chunksize=16), total=len(jobs), desc=desc):
                pass
    else:
        for job in tqdm(jobs, desc=desc):
            fn(job)


def write_gray(
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    split: str = "test",
    workers: int = 0,
    ids: list[str] | None = None,
) -> int:
    """out_dir/<id>.png = colorbench.lab.gray_rgb(image) for the split's images (or the
    given `ids`); returns the number written."""
    from colorbench.data.manifest import image_path

    ids = _split_ids(prepared_dir, split) if ids is None else ids
    with atomic_dir(out_dir) as tmp:
        jobs = [(image_path(prepared_dir, i), tmp / f"{i}.png") for i in ids]
        _map(_gray_one, jobs, workers, "gray")
    return len(ids)


def _index(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    clashes: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."):
            if p.stem in out:
                clashes.append(f"{out[p.stem].name}/{p.name}")
            out[p.stem] = p
    if clashes:
        raise ColorbenchError(
            f"{folder} has several images with the same name: {', '.join(clashes[:5])}; "
            "keep one per id"
        )
    return out


def _import_one(args: tuple[Path, Path, int, int]) -> bool:
    """Copy one image as RGB PNG at (w, h); True when it had to be resized."""
    from PIL import Image

    from colorbench.metrics.decode import read_rgb

    src, dst, w, h = args
    try:
        rgb = Image.fromarray(read_rgb(src))
    except Exception as exc:  # the file's fault: name it
        raise ColorbenchError(f"cannot decode {src}: {exc}") from None
    resized = rgb.size != (w, h)
    if resized:
        rgb = rgb.resize((w, h), Image.Resampling.BICUBIC)
    rgb.save(dst)
    return resized


def import_external(
    folder: str | os.PathLike,
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    split: str = "test",
    allow_missing: bool = False,
    workers: int = 0,
    ids: list[str] | None = None,
) -> dict:
    """Import another method's outputs: files directly in `folder` are matched to the split's
    ids (or the given `ids`) by file stem (any image extension), resized to the prepared size where they differ,
    and written as out_dir/<id>.png.

    Returns {"matched", "missing": [ids], "extra": [file names], "resized": [ids]}. Missing
    ids are an error unless allow_missing (then the method is evaluated on fewer images);
    extra files are listed, not copied. Nothing but images is written into out_dir.
    """
    from colorbench.data.manifest import read_manifest, select

    folder = Path(folder)
    if not folder.is_dir():
        raise ColorbenchError(f"external outputs folder {folder} does not exist")
    ids = _split_ids(prepared_dir, split) if ids is None else ids
    rows = select(read_manifest(prepared_dir), role="main").set_index("id")
    files = _index(folder)
    missing = [i for i in ids if i not in files]
    wanted = set(ids)
    extra = sorted(p.name for s, p in files.items() if s not in wanted)
    if missing and not allow_missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ColorbenchError(
            f"{folder} lacks {len(missing)} of the {len(ids)} {split} images ({shown}); "
            "colorize them with that method, or allow missing images"
        )
    present = [i for i in ids if i in files]
    if not present:
        raise ColorbenchError(f"no file in {folder} matches a {split} image id")
    resized: list[str] = []
    with atomic_dir(out_dir) as tmp:
        jobs = [
            (files[i], tmp / f"{i}.png", int(rows.at[i, "width"]), int(rows.at[i, "height"]))
            for i in present
        ]
        if workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(workers, initializer=quiet_worker) as pool:
                flags = list(pool.map(_import_one, jobs, chunksize=16))
        else:
            flags = [_import_one(j) for j in jobs]
        resized = [i for i, f in zip(present, flags, strict=True) if f]
    report = {"matched": len(present), "missing": missing, "extra": extra, "resized": resized}
    log.info(
        "imported %d images from %s (%d missing, %d extra files ignored, %d resized to the "
        "prepared size)", len(present), folder, len(missing), len(extra), len(resized),
    )  # fmt: skip
    if extra:
        log.info("extra files not in the %s split: %s", split, ", ".join(extra[:20]))
    return report
