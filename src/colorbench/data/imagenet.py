"""ILSVRC2012 (ImageNet-1k) subsets, streamed out of the official archives.

The archives are used as distributed, never extracted whole:
  ILSVRC2012_devkit_t12.tar.gz  class list (data/meta.mat) and validation labels
                                (data/ILSVRC2012_validation_ground_truth.txt), parsed by
                                torchvision's own ImageNet code;
  ILSVRC2012_img_train.tar      one inner tar per class, `nXXXXXXXX.tar` (138 GB in all);
  ILSVRC2012_img_val.tar        50,000 flat `ILSVRC2012_val_XXXXXXXX.JPEG`.

Output (`out`, written by the caller's atomic_dir):
  train/<wnid>/<file>.JPEG   `train_fraction` of each class (at least one), in proportion to
                             the class's size, the files with the smallest hash of (seed, name)
  val/<file>.JPEG            `val_per_class` per class (null = all), by the same hash order,
                             grayscale files skipped (SCGAN's protocol), so classes stay balanced
  train_labels.csv, val_labels.csv   file_name,label, read by prepare; label = torchvision's
                             class index (position of the wnid in sorted order), the one
                             ImageNet-pretrained classifiers (VGG-16) predict
  classes.csv                index,wnid,names
  val_skipped.csv            file_name,label,reason: every val file passed over, and why
Only the selected members are read from the tars (seeking past the rest), so peak disk is
the subset's size.
"""

from __future__ import annotations

import csv
import os
import posixpath
import shutil
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

from tqdm import tqdm

from colorbench.data.extract import member_path
from colorbench.data.splits import hash_unit
from colorbench.errors import ColorbenchError
from colorbench.imagefiles import is_image_name

PARTS = ("devkit", "train", "val")
GRAY_CHECK_SIZE = 256  # the grayscale test sees the image at the paper's prepared size


def parse_devkit(archive: Path) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """(wnid -> class names, the wnid of each val image in file-name order), from the devkit.

    Uses torchvision's parse_devkit_archive (meta.mat leaves, ground-truth ids -> wnids).
    Its md5 check is bypassed: colorbench has verified the archive against params' md5
    already, which may name a non-official copy.
    """
    from torchvision.datasets import imagenet as tv

    with tempfile.TemporaryDirectory(prefix="imagenet-devkit-") as tmp:
        try:
            with mock.patch.object(tv, "_verify_archive", lambda *args: None):
                tv.parse_devkit_archive(tmp, file=str(archive.resolve()))
            wnid_to_classes, val_wnids = tv.load_meta_file(tmp)
        except Exception as exc:  # scipy/tar/KeyError: all mean a devkit we cannot read
            raise ColorbenchError(
                f"{archive.name}: not a readable ILSVRC2012 devkit ({type(exc).__name__}: {exc})"
            ) from None
    return dict(wnid_to_classes), list(val_wnids)


def class_index(wnids: list[str] | dict[str, Any]) -> dict[str, int]:
    """torchvision's ImageNet class index: the position of the wnid in sorted order."""
    return {w: i for i, w in enumerate(sorted(wnids))}


def write_classes(path: Path, wnid_to_classes: Mapping[str, tuple[str, ...]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["index", "wnid", "names"])
        for wnid, idx in class_index(list(wnid_to_classes)).items():
            writer.writerow([idx, wnid, ", ".join(wnid_to_classes[wnid])])


def read_classes(path: str | os.PathLike) -> dict[str, int]:
    """classes.csv -> {wnid: torchvision class index}."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["wnid"]: int(row["index"]) for row in csv.DictReader(fh)}


def _write_rows(path: Path, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))


def _ranked(members: list[tarfile.TarInfo], seed: int) -> list[tarfile.TarInfo]:
    """Members in the seeded hash order of their base names (stable across archives)."""
    return sorted(members, key=lambda m: hash_unit(seed, posixpath.basename(m.name)))


def _files(tf: tarfile.TarFile, archive: str) -> list[tarfile.TarInfo]:
    """The regular image members of an (inner) tar, names checked; links and others ignored."""
    out = []
    for m in tf.getmembers():
        if member_path(m.name, Path(archive)) is not None and m.isfile() and is_image_name(m.name):
            out.append(m)
    return out


def _copy_member(tf: tarfile.TarFile, m: tarfile.TarInfo, dest: Path) -> None:
    src = tf.extractfile(m)
    if src is None:  # pragma: no cover - isfile() members always have data
        raise ColorbenchError(f"{m.name}: no data in the archive")
    with src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def train_count(n: int, fraction: float) -> int:
    """Images kept from a class of `n`: its share, rounded, at least one."""
    return min(n, max(1, round(fraction * n))) if n else 0


def stream_train(
    archive: Path, out: Path, index: Mapping[str, int], fraction: float, seed: int
) -> tuple[int, list[tuple[str, str]]]:
    """Write `fraction` of each class of the train tar into out/train/<wnid>/.

    Reads the outer tar member by member; each inner `nXXXXXXXX.tar` is opened in place
    (a seekable view of the outer file), its member list read, and only the chosen members'
    bytes copied. Returns (number written, [(file_name, class index)]).
    """
    labels: list[tuple[str, str]] = []
    root = out / "train"
    with tarfile.open(archive, "r:") as outer:
        classes = [m for m in outer.getmembers() if m.isfile()]
        for m in tqdm(classes, desc="imagenet train", unit="class", leave=False, mininterval=1):
            rel = member_path(m.name, archive)
            wnid = posixpath.basename(rel or "").removesuffix(".tar")
            if not rel or not rel.endswith(".tar") or wnid not in index:
                raise ColorbenchError(
                    f"{archive.name}: member {m.name!r} is not a class tar `<wnid>.tar` of the "
                    f"devkit's classes; is this ILSVRC2012_img_train.tar?"
                )
            fobj = outer.extractfile(m)
            with tarfile.open(fileobj=fobj, mode="r:") as inner:
                members = _files(inner, f"{archive.name}:{rel}")
                chosen = _ranked(members, seed)[: train_count(len(members), fraction)]
                (root / wnid).mkdir(parents=True, exist_ok=True)
                for x in sorted(chosen, key=lambda x: x.offset):  # in file order: no seeking back
                    name = posixpath.basename(x.name)
                    _copy_member(inner, x, root / wnid / name)
                    labels.append((f"{wnid}/{name}", str(index[wnid])))
    return len(labels), labels


def stream_val(
    archive: Path,
    out: Path,
    val_wnids: list[str],
    index: Mapping[str, int],
    per_class: int | None,
    seed: int,
    gray_threshold: float | None,
    max_pixels: int,
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Write `per_class` val images of each class (all when None) into out/val/.

    Labels pair the val files in sorted name order with the devkit's ground truth (as
    torchvision does). Per class, candidates are taken in seeded hash order; one whose
    content is grayscale (mean Lab chroma < `gray_threshold` at 256 px) or unreadable is
    skipped and recorded, and the next one is taken, so every class keeps `per_class`.
    Returns (kept [(file_name, label)], skipped [(file_name, label, reason)]).
    """
    root = out / "val"
    root.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    with tarfile.open(archive, "r:") as tf:
        members = sorted(_files(tf, archive.name), key=lambda m: posixpath.basename(m.name))
        if len(members) != len(val_wnids):
            raise ColorbenchError(
                f"{archive.name}: {len(members)} images but the devkit labels {len(val_wnids)}; "
                f"the val archive and the devkit do not match"
            )
        by_class: dict[str, list[tarfile.TarInfo]] = defaultdict(list)
        for m, wnid in zip(members, val_wnids, strict=True):
            by_class[wnid].append(m)
        for wnid in tqdm(sorted(by_class), desc="imagenet val", unit="class", leave=False):
            want = len(by_class[wnid]) if per_class is None else per_class
            have = 0
            for m in _ranked(by_class[wnid], seed):
                if have >= want:
                    break
                name = posixpath.basename(m.name)
                path = root / name
                _copy_member(tf, m, path)
                reason = _reject_reason(path, gray_threshold, max_pixels)
                if reason:
                    path.unlink()
                    skipped.append((name, str(index[wnid]), reason))
                    continue
                kept.append((name, str(index[wnid])))
                have += 1
    return kept, skipped


def _reject_reason(path: Path, gray_threshold: float | None, max_pixels: int) -> str | None:
    """Why a val file must not be used ('grayscale', or prepare's reject reason), or None."""
    if gray_threshold is None:
        return None
    from PIL import Image

    from colorbench.data.decode import Rejected, open_upright
    from colorbench.data.prepare import mean_chroma

    try:
        im, _, _ = open_upright(path, max_pixels, draft_size=GRAY_CHECK_SIZE)
    except Rejected as rej:
        return rej.reason
    except Exception as exc:  # a decoder bug: record the file, never stop the run
        return f"unexpected error: {type(exc).__name__}: {exc}"
    import numpy as np

    im = im.resize((GRAY_CHECK_SIZE,) * 2, Image.Resampling.LANCZOS, reducing_gap=3.0)
    chroma = mean_chroma(np.asarray(im))
    return f"grayscale: mean chroma {chroma:.2f}" if chroma < gray_threshold else None


def acquire_imagenet(
    tmp: Path, files: Mapping[str, Path], cfg: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    """Fill `tmp` (the atomic output folder) from the verified archives {part: path}."""
    if "devkit" not in files:
        raise ColorbenchError("acquire.imagenet.archives needs the devkit (part: devkit)")
    wnid_to_classes, val_wnids = parse_devkit(files["devkit"])
    write_classes(tmp / "classes.csv", wnid_to_classes)
    summary: dict[str, Any] = {"classes": len(wnid_to_classes)}
    index = class_index(list(wnid_to_classes))
    if "train" in files:
        fraction = float(cfg.get("train_fraction", 0.1))
        if not 0 < fraction <= 1:
            raise ColorbenchError(
                f"acquire.imagenet.train_fraction must be in (0, 1], got {fraction}"
            )
        n, labels = stream_train(files["train"], tmp, index, fraction, seed)
        _write_rows(tmp / "train_labels.csv", ["file_name", "label"], labels)
        summary["train"] = n
    if "val" in files:
        per_class = cfg.get("val_per_class")
        if per_class is not None and int(per_class) < 1:
            raise ColorbenchError(f"acquire.imagenet.val_per_class must be >= 1, got {per_class}")
        threshold = cfg.get("gray_chroma_threshold")
        kept, skipped = stream_val(
            files["val"],
            tmp,
            val_wnids,
            index,
            None if per_class is None else int(per_class),
            seed,
            None if threshold is None else float(threshold),
            int(cfg.get("max_pixels", 89_478_485)),
        )
        _write_rows(tmp / "val_labels.csv", ["file_name", "label"], kept)
        _write_rows(tmp / "val_skipped.csv", ["file_name", "label", "reason"], skipped)
        summary.update(val=len(kept), val_skipped=len(skipped))
    summary["files"] = summary.get("train", 0) + summary.get("val", 0)
    return summary
