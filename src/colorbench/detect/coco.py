"""COCO-format annotations matched to prepared images.

A prepared image is matched to its COCO record by file name: the manifest's `source` picks
the annotations file (from `prepare.sources`), and the base name of `orig_path` is looked up
among the records' `file_name` base names. Shared by the crops (boxes) and saliency (masks)
stages.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from colorbench.errors import ColorbenchError


def annotations_from_sources(sources: Iterable[Mapping[str, Any]]) -> dict[str, Path]:
    """`prepare.sources` entries -> {source name: annotations file} for those that have one."""
    out: dict[str, Path] = {}
    for src in sources or []:
        ann = src.get("annotations")
        if ann:
            out[str(src["name"])] = Path(ann)
    return out


class CocoSource:
    """One COCO annotations file, indexed by image file base name."""

    def __init__(self, path: str | os.PathLike) -> None:
        from pycocotools.coco import COCO

        path = Path(path)
        if not path.is_file():
            raise ColorbenchError(
                f"annotations file {path} not found; check `annotations` in prepare.sources "
                "(or --annotations) and that the acquire stage ran"
            )
        try:
            with contextlib.redirect_stdout(sys.stderr):  # pycocotools prints progress
                self.coco = COCO(str(path))
        except (ValueError, KeyError, TypeError) as exc:
            raise ColorbenchError(f"{path} is not a COCO annotations file ({exc})") from None
        self.path = path
        self.by_name: dict[str, int] = {}
        for img_id, img in self.coco.imgs.items():
            # First record wins; COCO's own file names are unique base names.
            self.by_name.setdefault(Path(str(img["file_name"])).name, img_id)
        self.cat_names = {c["id"]: str(c.get("name", c["id"])) for c in self.coco.cats.values()}

    def record(self, orig_path: str) -> dict[str, Any] | None:
        """The COCO image record for a manifest `orig_path`, or None."""
        img_id = self.by_name.get(Path(orig_path.replace("\\", "/")).name)
        return None if img_id is None else self.coco.imgs[img_id]

    def anns(self, img_id: int, *, crowd: bool) -> list[dict[str, Any]]:
        """The image's annotations; `crowd=False` drops iscrowd regions."""
        anns = self.coco.imgToAnns.get(img_id, [])
        return [a for a in anns if crowd or not a.get("iscrowd", 0)]

    def category(self, cat_id: int) -> str:
        return self.cat_names.get(cat_id, str(cat_id))


def load_sources(annotations: Mapping[str, str | os.PathLike]) -> dict[str, CocoSource]:
    return {name: CocoSource(path) for name, path in annotations.items()}


def find_record(
    sources: Mapping[str, CocoSource], row: Any
) -> tuple[CocoSource | None, dict[str, Any] | None, bool]:
    """(source, COCO record, usable) for a manifest row (needs source, orig_path,
    orig_width, orig_height). A record is usable when the width/height its annotations are
    drawn in equal the file's upright size; else (EXIF rotation?) they would land in the
    wrong place."""
    src = sources.get(row.source)
    rec = src.record(row.orig_path) if src is not None else None
    if rec is None:
        return src, None, False
    frame = (int(rec.get("width") or row.orig_width), int(rec.get("height") or row.orig_height))
    return src, rec, frame == (int(row.orig_width), int(row.orig_height))
