"""The prepare stage: raw image folders -> square RGB PNGs, a manifest and a rejects list.

Output (written atomically, byte-identical for the same input and parameters):
  images/<id>.png   RGB, size x size (plain per-axis resize, Lanczos: a box maps by
                    x * width / orig_width, y * height / orig_height)
  manifest.csv      one row per kept image, columns `manifest.COLUMNS`, sorted by id
  rejects.csv       `path,reason`, one row per file not kept, sorted by path

Scan rule: every file under a source folder (recursive, symlinks followed once) is either
kept or rejected with a reason, except files that are not data by convention, skipped
silently: hidden names (starting with '.', e.g. .DS_Store, AppleDouble `._x.jpg`, .git/),
OS thumbnails `Thumbs.db` / `desktop.ini`, and any source's own `annotations` / `labels`
file. Files are recognised by content, not extension: a .txt is rejected as `not an image`.

`orig_path` / rejects' `path` are the source's `path` as given joined with the file's path
inside it (posix). orig_width/orig_height are the upright size (EXIF orientation applied).
PNGs are written with zlib level 1 and the Z_RLE strategy: lossless like any level, files
about the size of the default level 6, several times faster.
Colour: ICC profiles are ignored (as torchvision and most colorization code do); CMYK uses
PIL's conversion; alpha is composited on white; 16-bit data is scaled to 8 bits.
"""

from __future__ import annotations

import csv
import functools
import os
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from colorbench import lab
from colorbench.atomic import atomic_dir
from colorbench.data.decode import MIN_SIDE, Rejected, open_upright
from colorbench.data.ids import assign_ids
from colorbench.data.manifest import COLUMNS, IMAGES, MANIFEST, REJECTS
from colorbench.data.splits import SPLIT_NAMES, check_fractions, split_of
from colorbench.errors import ColorbenchError
from colorbench.parallel import parallel_map, worker_count

ROLES = ("main", "background")
SKIP_NAMES = frozenset({"thumbs.db", "desktop.ini"})  # compared case-insensitively
FLAT_TOLERANCE = 2  # max-min per channel (8-bit) at or below which an image is one colour
CHROMA_SAMPLE = (
    64  # the chroma mean uses a strided grid of at most 64x64 pixels: unbiased, ~25x cheaper
)
DEFAULT_COMPRESS_LEVEL = 1  # zlib level for output PNGs (lossless at any level; 1 is fastest)


@dataclass(frozen=True)
class Source:
    name: str
    path: Path
    role: str = "main"
    labels: Path | None = None
    annotations: Path | None = None
    split: str | None = None  # forces every image of this source into one split


@dataclass
class PrepareSummary:
    out_dir: Path
    kept: int = 0
    rejected: int = 0
    grayscale: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)  # reject category -> count
    by_split: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        splits = ", ".join(f"{k} {v}" for k, v in sorted(self.by_split.items()))
        line = f"prepare: kept {self.kept} images ({splits}; {self.grayscale} grayscale-content)"
        if self.rejected:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.by_reason.items()))
            line += f", rejected {self.rejected} files ({reasons}; see {self.out_dir / REJECTS})"
        return f"{line} -> {self.out_dir}"


@dataclass(frozen=True)
class _WorkerConfig:
    images_dir: str
    size: int
    max_pixels: int
    compress_level: int


def parse_sources(sources: Iterable[dict[str, Any]]) -> list[Source]:
    """Validate params' `prepare.sources` entries (name, path, role, labels, annotations, split)."""
    out: list[Source] = []
    for i, raw in enumerate(sources or []):
        if not isinstance(raw, dict) or not raw.get("path"):
            raise ColorbenchError(f"prepare.sources[{i}] needs at least a `path`, got {raw!r}")
        path = Path(str(raw["path"]))
        name = str(raw.get("name") or path.name or f"source{i}")
        role = str(raw.get("role", "main"))
        if role not in ROLES:
            raise ColorbenchError(f"source '{name}': role must be one of {ROLES}, got '{role}'")
        split = raw.get("split")
        if split is not None and split not in SPLIT_NAMES:
            raise ColorbenchError(
                f"source '{name}': split must be one of {SPLIT_NAMES}, got '{split}'"
            )
        if not path.is_dir():
            what = "is not a folder" if path.exists() else "does not exist"
            raise ColorbenchError(
                f"source '{name}': {path} {what}; run its acquire stage or fix prepare.sources"
            )
        labels = Path(str(raw["labels"])) if raw.get("labels") else None
        annotations = Path(str(raw["annotations"])) if raw.get("annotations") else None
        out.append(Source(name, path, role, labels, annotations, split))
    if not out:
        raise ColorbenchError("prepare.sources is empty; list at least one image folder")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ColorbenchError(f"prepare.sources names must be unique, got {names}")
    return out


def read_labels(path: Path) -> dict[str, str]:
    """A csv `file_name,label` -> {file_name (posix): label}."""
    if not path.is_file():
        raise ColorbenchError(f"labels file {path} not found; fix the source's `labels` entry")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"file_name", "label"} <= set(reader.fieldnames):
            raise ColorbenchError(f"labels file {path} needs a header with columns file_name,label")
        return {row["file_name"].replace("\\", "/"): row["label"] or "" for row in reader}


def scan(root: Path, skip: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files under `root` as sorted relative posix paths, plus rejects for unreadable folders.

    `skip` holds real paths of metadata files to leave out (see the module docstring).
    """
    rels: list[str] = []
    bad: list[tuple[str, str]] = []
    seen = {os.path.realpath(root)}

    def onerror(exc: OSError) -> None:
        bad.append((Path(str(exc.filename)).as_posix(), f"unreadable folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(str(root), onerror=onerror, followlinks=True):
        keep_dirs = []
        for d in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, d))
            if d.startswith(".") or real in seen:  # hidden, or a symlink loop / second link
                continue
            seen.add(real)
            keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            if f.startswith(".") or f.casefold() in SKIP_NAMES or os.path.realpath(full) in skip:
                continue
            rels.append(Path(os.path.relpath(full, root)).as_posix())
    rels.sort()
    return rels, bad


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean Lab chroma sqrt(a^2 + b^2) of a uint8 RGB image (strided subsample)."""
    step = max(1, -(-max(rgb.shape[:2]) // CHROMA_SAMPLE))
    return lab.mean_chroma(np.ascontiguousarray(rgb[::step, ::step]))


def process_file(
    path: str, image_id: str, cfg: _WorkerConfig
) -> tuple[bool, tuple[int, int, float] | str]:
    """Decode, check, resize and write one file: (True, (orig_w, orig_h, chroma)) or
    (False, reason). Failing to *write* is not the file's fault: it raises."""
    try:
        im, w, h = open_upright(path, cfg.max_pixels, draft_size=cfg.size)
        im = im.resize((cfg.size, cfg.size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        extrema = im.getextrema()  # per band (min, max), in C: far cheaper than numpy here
        if max(hi - lo for lo, hi in extrema) <= FLAT_TOLERANCE:
            raise Rejected("flat", f"a single colour {im.getpixel((0, 0))}")
        chroma = mean_chroma(np.asarray(im))
    except Rejected as rej:
        return False, rej.reason
    except Exception as exc:  # a decoder bug must not stop the run nor lose the file
        return False, Rejected("unexpected error", f"{type(exc).__name__}: {exc}").reason
    out = Path(cfg.images_dir) / f"{image_id}.png"
    try:
        # Z_RLE suits filtered image rows: about the size of zlib's default level, 2-4x faster
        im.save(out, "PNG", compress_level=cfg.compress_level, compress_type=zlib.Z_RLE)
    except OSError as exc:
        raise ColorbenchError(
            f"cannot write {out}: {exc}; check free space and permissions"
        ) from None
    return True, (w, h, chroma)


def _results(
    tasks: list[tuple[str, str]], cfg: _WorkerConfig, workers: int
) -> Iterator[tuple[bool, tuple[int, int, float] | str]]:
    """Results in task order (so rows stream out sorted), over a process pool when workers > 1."""
    return parallel_map(functools.partial(_work, cfg=cfg), tasks, workers)


def _work(task: tuple[str, str], cfg: _WorkerConfig) -> tuple[bool, tuple[int, int, float] | str]:
    return process_file(task[0], task[1], cfg)


def _check_output(out_dir: Path, sources: list[Source]) -> None:
    """The output is replaced wholesale: refuse anything that might hold the user's files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ColorbenchError(f"output {out_dir} is a file; choose a folder path")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise ColorbenchError(
            f"output folder {out_dir} is not empty and holds no {MANIFEST} (not a prepare "
            "output); it would be replaced: choose a new or empty folder"
        )
    out = out_dir.resolve()
    for s in sources:
        src = s.path.resolve()
        if out == src or out in src.parents or src in out.parents:
            raise ColorbenchError(
                f"output {out_dir} and source '{s.name}' ({s.path}) overlap; "
                "choose an output folder outside the input (and not containing it)"
            )


def prepare(
    sources: list[dict[str, Any]],
    out_dir: str | os.PathLike,
    size: int,
    seed: int = 0,
    split: dict[str, float] | None = None,
    gray_chroma_threshold: float = 4.0,
    keep_grayscale: bool = False,
    max_pixels: int = 89_478_485,
    workers: int = -1,
    compress_level: int = DEFAULT_COMPRESS_LEVEL,
) -> PrepareSummary:
    """Prepare every image of `sources` into `out_dir` (see the module docstring).

    workers: processes; -1 = every available core, 0 or 1 = in this process.
    Raises ColorbenchError (output left untouched) when no image could be kept.
    """
    out_dir = Path(out_dir)
    size = int(size)
    if size < MIN_SIDE:
        raise ColorbenchError(f"prepare.size must be at least {MIN_SIDE}, got {size}")
    if int(max_pixels) < 1:
        raise ColorbenchError(f"prepare.max_pixels must be positive, got {max_pixels}")
    if not 0 <= int(compress_level) <= 9:
        raise ColorbenchError(f"PNG compress_level must be 0..9, got {compress_level}")
    val, test = check_fractions(split or {})
    srcs = parse_sources(sources)
    _check_output(out_dir, srcs)
    workers = worker_count(workers)

    skip = {os.path.realpath(p) for s in srcs for p in (s.labels, s.annotations) if p is not None}
    labels = [read_labels(s.labels) if s.labels else {} for s in srcs]
    scanned = [scan(s.path, skip) for s in srcs]
    rejects: list[tuple[str, str]] = [bad for _, bads in scanned for bad in bads]
    ids = assign_ids([(s.name, rels) for s, (rels, _) in zip(srcs, scanned, strict=True)])
    # (id, source index, rel): processed and written in id order, so rows stream out sorted
    order = sorted(
        (image_id, si, rel)
        for si, (rels, _) in enumerate(scanned)
        for image_id, rel in zip(ids[si], rels, strict=True)
    )
    del ids
    if not order and not rejects:
        where = ", ".join(str(s.path) for s in srcs)
        raise ColorbenchError(f"no files found in {where}; check prepare.sources / --input")

    summary = PrepareSummary(out_dir=out_dir)
    by_split: Counter[str] = Counter()
    with atomic_dir(out_dir) as tmp:
        images = tmp / IMAGES
        images.mkdir()
        cfg = _WorkerConfig(str(images), size, int(max_pixels), int(compress_level))
        tasks = [((srcs[si].path / rel).as_posix(), image_id) for image_id, si, rel in order]
        with open(tmp / MANIFEST, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            results = tqdm(
                _results(tasks, cfg, workers),
                total=len(tasks),
                desc="prepare",
                unit="img",
                file=sys.stderr,
                mininterval=1.0,
            )
            for (image_id, si, rel), (path, _), (ok, res) in zip(
                order, tasks, results, strict=True
            ):
                if not ok:
                    rejects.append((path, str(res)))
                    continue
                w, h, chroma = res  # type: ignore[misc]
                src = srcs[si]
                gray = chroma < gray_chroma_threshold
                if gray and not keep_grayscale:
                    split_name = "excluded"
                elif src.split is not None:
                    split_name = src.split
                elif src.role == "background":
                    split_name = "train"
                else:
                    split_name = split_of(seed, image_id, val, test)
                lab = labels[si]
                label = lab.get(rel, lab.get(rel.rsplit("/", 1)[-1], ""))
                writer.writerow(
                    [image_id, src.name, src.role, split_name, gray, label, path, w, h, size, size]
                )
                summary.kept += 1
                summary.grayscale += int(gray)
                by_split[split_name] += 1
        rejects.sort()
        reasons = Counter(reason.split(":", 1)[0] for _, reason in rejects)
        if summary.kept == 0:
            examples = "; ".join(f"{p}: {r}" for p, r in rejects[:3])
            raise ColorbenchError(
                f"no image could be kept: all {len(rejects)} files rejected "
                f"({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}), e.g. {examples}"
            )
        with open(tmp / REJECTS, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["path", "reason"])
            writer.writerows(rejects)
    summary.rejected = len(rejects)
    summary.by_reason = dict(sorted(reasons.items()))
    summary.by_split = dict(sorted(by_split.items()))
    return summary
