"""Training targets for SCGAN's global-feature network, from whatever labels the data has.

SCGAN pretrains its global network as an ImageNet classifier. Sources are tried in order,
so a source with class labels (ImageNet, or the synthetic profile's scene labels, read by
prepare into the manifest's `label` column) wins as soon as it is present:

1. `class`: the manifest's `label` column, single-label, cross-entropy.
2. `coco_multilabel`: COCO image-level categories, i.e. the categories among an image's
   instance annotations (instances_*.json of prepare.sources), multi-hot, one sigmoid per
   category (binary cross-entropy). This substitutes for the paper's ImageNet pretraining;
   the report says so.

A new source plugs in by adding a function to SOURCES returning a `GlobalLabels` or None.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SUBSTITUTE_NOTE = (
    "COCO image-level categories (multi-label, from the instance annotations) substitute for "
    "SCGAN's ImageNet pretraining of the global-feature network"
)


@dataclass
class GlobalLabels:
    kind: str  # "class" (int targets) | "multilabel" (float multi-hot targets)
    source: str  # which source: "class" | "coco_multilabel"
    classes: list[str]
    train_ids: list[str]
    train_targets: list[Any]
    val_ids: list[str]
    val_targets: list[Any]
    description: str

    @property
    def multilabel(self) -> bool:
        return self.kind == "multilabel"

    def class_counts(self) -> list[int]:
        if self.multilabel:
            return np.sum(self.train_targets, axis=0).astype(int).tolist()
        return np.bincount(self.train_targets, minlength=len(self.classes)).tolist()

    def summary(self) -> dict[str, Any]:
        """What the report shows about the global network's pretraining."""
        return {
            "kind": self.kind,
            "source": self.source,
            "classes": len(self.classes),
            "train_images": len(self.train_ids),
            "description": self.description,
            "substitutes_imagenet": self.source == "coco_multilabel",
        }


def labelled_rows(df: Any, split: str, classes: Sequence[str] | None = None) -> tuple[list, list]:
    """(ids, label indices) of one split's main-role images that have a (known) label."""
    from colorbench.data.manifest import select

    rows = select(df, split=split)
    rows = rows[rows["label"].astype(str).str.len() > 0]
    if classes is not None:
        rows = rows[rows["label"].isin(set(classes))]
    index = {c: i for i, c in enumerate(classes)} if classes is not None else None
    ids = rows["id"].astype(str).tolist()
    labels = rows["label"].astype(str).tolist()
    return ids, ([index[lab] for lab in labels] if index is not None else labels)


def class_labels(df: Any, _annotations: Mapping[str, Path]) -> GlobalLabels | None:
    """Single-label classes from the manifest's `label` column (train rows define them)."""
    ids, names = labelled_rows(df, "train")
    classes = sorted(set(names))
    if len(classes) < 2:
        return None
    index = {c: i for i, c in enumerate(classes)}
    val_ids, val_targets = labelled_rows(df, "val", classes)
    return GlobalLabels(
        "class",
        "class",
        classes,
        ids,
        [index[n] for n in names],
        val_ids,
        val_targets,
        f"image class labels ({len(classes)} classes, manifest column `label`)",
    )


def _coco_categories(df: Any, annotations: Mapping[str, Path]) -> dict[str, set[str]]:
    """{image id: its category names} for main-role images that have a COCO record."""
    from colorbench.detect.coco import find_record, load_sources

    used = set(df["source"]) & set(annotations)
    sources = load_sources({s: annotations[s] for s in sorted(used)})
    out: dict[str, set[str]] = {}
    for row in df[df["role"] == "main"].itertuples(index=False):
        src, rec, _ = find_record(sources, row)
        if rec is not None:
            anns = src.anns(rec["id"], crowd=True)  # a crowd region still shows the category
            out[str(row.id)] = {src.category(a["category_id"]) for a in anns}
    return out


def coco_multilabel(df: Any, annotations: Mapping[str, Path]) -> GlobalLabels | None:
    """Multi-hot COCO categories per image (train rows define the category list)."""
    if not annotations:
        return None
    cats = _coco_categories(df, annotations)
    split = dict(zip(df["id"].astype(str), df["split"], strict=True))
    train = sorted(i for i in cats if split.get(i) == "train")
    classes = sorted(set().union(*(cats[i] for i in train))) if train else []
    if len(classes) < 2:
        return None
    index = {c: k for k, c in enumerate(classes)}

    def hot(i: str) -> list[float]:
        v = [0.0] * len(classes)
        for c in cats[i]:
            if c in index:
                v[index[c]] = 1.0
        return v

    val = sorted(i for i in cats if split.get(i) == "val")
    files = ", ".join(sorted(str(Path(p).name) for p in annotations.values()))
    return GlobalLabels(
        "multilabel",
        "coco_multilabel",
        classes,
        train,
        [hot(i) for i in train],
        val,
        [hot(i) for i in val],
        f"{SUBSTITUTE_NOTE} ({len(classes)} categories from {files})",
    )


SOURCES: Sequence[Callable[[Any, Mapping[str, Path]], GlobalLabels | None]] = (
    class_labels,
    coco_multilabel,
)


def find_labels(
    df: Any, annotations: Mapping[str, str | os.PathLike] | None = None
) -> GlobalLabels | None:
    """The first source that yields at least 2 classes, or None."""
    ann = {k: Path(v) for k, v in (annotations or {}).items()}
    for source in SOURCES:
        found = source(df, ann)
        if found is not None:
            return found
    return None
