"""Metric names and pairing of prediction and ground-truth files by stem (no heavy imports)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.imagefiles import IMAGE_EXTS
from colorbench.metrics import registry as _registry

# both: one Inception pass, standard FID as `fid` and piq-mode FID as `fid_piq`.
FID_MODES = ("standard", "piq", "both")


def fid_outputs(fid_mode: str) -> list[tuple[str, str]]:
    """(metric key, formula) pairs that `fid_mode` produces from one Inception pass."""
    if fid_mode == "both":
        return [("fid", "standard"), ("fid_piq", "piq")]
    return [("fid", fid_mode)]


# Views of colorbench.metrics.registry, the one table of metrics.
GROUPS: dict[str, tuple[str, ...]] = _registry.groups()
DEFAULT_METRICS = tuple(m.request for m in _registry.evaluated() if m.request)
ORDER = tuple(m.key for m in _registry.evaluated())  # output order
PER_IMAGE = tuple(m.key for m in _registry.evaluated() if m.per_image)  # csv columns
PIXEL = frozenset(m.key for m in _registry.evaluated() if m.evaluator == "pixel")
NETWORK = frozenset(m.key for m in _registry.evaluated() if m.evaluator == "network")


def resolve_metrics(names: Iterable[str] | None) -> list[str]:
    """Requested names -> metric keys produced, in report order."""
    names = list(DEFAULT_METRICS if names is None else names)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise ColorbenchError(
            f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}"
        )
    keys = {k for n in names for k in GROUPS[n]}
    if not keys:
        raise ColorbenchError("no metric requested")
    return [k for k in ORDER if k in keys]


# ---- pairing ------------------------------------------------------------------------------


def index_images(folder: str | os.PathLike, what: str) -> dict[str, Path]:
    """stem -> path of the image files directly inside `folder`, in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ColorbenchError(f"{what} folder {folder} does not exist")
    # os.scandir + plain strings: no stat per file (d_type), no pathlib per comparison;
    # this was ~0.1 ms per image pair with iterdir/sorted(Path).
    with os.scandir(folder) as it:
        names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
    out: dict[str, Path] = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_EXTS:
            if stem in out:
                raise ColorbenchError(
                    f"{what} folder {folder} has two images named {stem} "
                    f"({out[stem].name}, {name}); keep one"
                )
            out[stem] = folder / name
    return out


def _few(items: Sequence[str], k: int = 5) -> str:
    shown = ", ".join(items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


@dataclass
class Pairing:
    pairs: list[tuple[str, Path, Path]]
    gt_without_pred: int = 0
    pred_ignored: int = 0
    missing: list[str] = field(default_factory=list)  # ground-truth stems without a prediction


def pair_images(
    pred_dir: str | os.PathLike, gt_dir: str | os.PathLike, ids: Sequence[str] | None = None
) -> Pairing:
    """Pair by file stem. Without `ids` every pred needs a gt; with `ids` (e.g. the test
    split) every id needs both, and other preds are ignored."""
    pred = index_images(pred_dir, "prediction")
    gt = index_images(gt_dir, "ground-truth")
    if ids is None:
        missing = [s for s in pred if s not in gt]
        if missing:
            raise ColorbenchError(
                f"{len(missing)} prediction(s) in {pred_dir} have no ground truth of the same "
                f"name in {gt_dir}: {_few(missing)}"
            )
        names = list(pred)
        result = Pairing([(s, pred[s], gt[s]) for s in names])
        result.missing = [s for s in gt if s not in pred]
        result.gt_without_pred = len(result.missing)
    else:
        no_gt = [s for s in ids if s not in gt]
        if no_gt:
            raise ColorbenchError(f"{len(no_gt)} id(s) have no image in {gt_dir}: {_few(no_gt)}")
        no_pred = [s for s in ids if s not in pred]
        if no_pred:
            raise ColorbenchError(
                f"{pred_dir} lacks {len(no_pred)} of the {len(ids)} images to evaluate: "
                f"{_few(no_pred)}; re-run its colorize stage"
            )
        result = Pairing([(s, pred[s], gt[s]) for s in ids])
        wanted = set(ids)
        result.pred_ignored = sum(1 for s in pred if s not in wanted)
    if not result.pairs:
        raise ColorbenchError(f"no images to evaluate in {pred_dir}")
    return result
