"""Method `external`: another method's outputs (e.g. DeOldify or DDColor), declared in params
`colorize.external: {name: folder}` and imported by file stem into outputs/<protocol>/<name>/."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from colorbench.atomic import atomic_dir
from colorbench.errors import ColorbenchError
from colorbench.imagefiles import is_image_name
from colorbench.methods.base import ColorizeJob, Method
from colorbench.methods.gray import split_ids

log = logging.getLogger(__name__)

NAMES = ("external",)


def _index(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    clashes: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and is_image_name(p) and not p.name.startswith("."):
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
    ids = split_ids(prepared_dir, split) if ids is None else ids
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
        from colorbench.parallel import parallel_map

        flags = list(parallel_map(_import_one, jobs, workers, chunksize=16))
        resized = [i for i, f in zip(present, flags, strict=True) if f]
    report = {"matched": len(present), "missing": missing, "extra": extra, "resized": resized}
    log.info(
        "imported %d images from %s (%d missing, %d extra files ignored, %d resized to the "
        "prepared size)", len(present), folder, len(missing), len(extra), len(resized),
    )  # fmt: skip
    if extra:
        log.info("extra files not in the %s split: %s", split, ", ".join(extra[:20]))
    return report


class External(Method):
    name, order, self_atomic = "external", 10_000, True
    help = "another method's outputs, a folder declared in colorize.external (--name)"

    def output_name(self, asked: str, alpha: str | None = None, name: str | None = None) -> str:
        return (name or self.name) if asked == self.name else asked

    def folder_name(self, job: ColorizeJob) -> str:
        external = job.options.get("external") or {}
        if not job.name or job.name == self.name or job.name not in external:
            shown = None if job.name == self.name else job.name
            raise ColorbenchError(
                f"external method {shown!r} is not declared in params colorize.external "
                f"({sorted(external)})"
            )
        return job.name

    def colorize(self, job: ColorizeJob) -> list[Path]:
        if job.prepared_dir is None:
            raise ColorbenchError("external methods are imported by the pipeline (dvc repro)")
        name = self.folder_name(job)
        import_external(job.options["external"][name], job.prepared_dir, job.out_dir,
                        workers=job.workers, ids=job.ids)  # fmt: skip
        return sorted(job.out_dir.glob("*.png"))


METHODS = [External()]
