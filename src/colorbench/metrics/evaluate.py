"""Streaming evaluation of a folder of colourised images against ground truth.

Pairs images by file stem (pred drives, `pairing`) and decodes each pair once, in batches;
the workers that decode a batch also compute its pixel metrics (`pixel_batches`). Pixel
metrics alone never import torch or pandas: they run in worker threads, and the CLI writes
the per-image table itself. With networks (`net_pass`), DataLoader worker processes decode
while the main process runs LPIPS, Inception and classifiers on `device` and folds
set-level features into running sums. Memory is flat in N: at most 2 batches per worker
are in flight, per-image rows are a few floats, features live in O(D²) accumulators.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from colorbench.errors import ColorbenchError
from colorbench.metrics import stats
from colorbench.metrics.colorfulness import cci_in_range
from colorbench.metrics.pairing import (  # noqa: F401  (re-exported: the public names)
    DEFAULT_METRICS,
    FID_MODES,
    GROUPS,
    IMAGE_EXTS,
    NETWORK,
    ORDER,
    PER_IMAGE,
    PIXEL,
    Pairing,
    _few,
    fid_outputs,
    index_images,
    pair_images,
    resolve_metrics,
)
from colorbench.metrics.pixel_batches import PairBatches, pixel_batches, read_rgb  # noqa: F401

log = logging.getLogger(__name__)


def read_chw(path: Path):  # -> torch.Tensor
    """3xHxW uint8 RGB tensor (grey replicated, alpha on white)."""
    from colorbench.metrics.net_pass import read_chw as _read_chw

    return _read_chw(path)


@dataclass
class PerImage:
    """Per-image values: `image` (file stems) and one float64 array per metric, in order."""

    image: list[str]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    pairing: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.image)

    def write_csv(self, fh: IO[str]) -> None:
        """The CSV `to_frame().to_csv(fh, index=False)` writes, byte for byte, without
        pandas: floats as numpy's shortest repr (what pandas uses), NaN as empty."""
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["image", *self.columns])
        cols = []
        for v in self.columns.values():
            text = np.asarray(v, dtype=np.float64).astype(str)
            text[np.isnan(v)] = ""
            cols.append(text.tolist())
        writer.writerows(zip(self.image, *cols, strict=True))

    def to_frame(self):  # -> pandas.DataFrame
        import pandas as pd

        df = pd.DataFrame({"image": self.image})
        for k, v in self.columns.items():
            df[k] = v
        df.attrs["pairing"] = dict(self.pairing)
        return df


def evaluate(*args: Any, **kwargs: Any):  # -> tuple[dict[str, dict], pandas.DataFrame]
    """`evaluate_table` with the per-image values as a pandas DataFrame (column `image`,
    one column per per-image metric, attrs["pairing"])."""
    summary, table = evaluate_table(*args, **kwargs)
    return summary, table.to_frame()


def evaluate_table(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    metrics: Iterable[str] | None = None,
    batch_size: int = 32,
    num_workers: int = 2,
    fid_mode: str = "standard",
    evaluator_path: str | os.PathLike | None = None,
    labels: dict[str, str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    device: Any = "auto",
    ids: Sequence[str] | None = None,
    cache: dict | None = None,
    progress: bool = True,
    allow_missing: bool = False,
) -> tuple[dict[str, dict], PerImage]:
    """Evaluate pred_dir against gt_dir.

    Returns (summary, per_image): summary maps each metric key to {"mean", "std", "ci95",
    "n"} (per-image metrics), {"mean", "ci95", "n", ...} (set-level), or
    {"mean": None, "available": False, "reason"} when weights/labels are missing.
    `num_workers`: decoding workers (threads for pixel metrics alone, DataLoader processes
    with networks; 0 = in this thread, < 0 = one per available core).
    `ids` restricts evaluation to those stems (all must exist). `cache` (a dict the
    caller keeps across calls) saves rebuilding the networks and re-extracting gt features.
    Without `ids`, ground-truth images lacking a prediction are an error unless
    `allow_missing`; each summary entry then records `n_missing`.
    """
    from tqdm import tqdm

    if fid_mode not in FID_MODES:
        raise ColorbenchError(f"unknown --fid-mode {fid_mode!r}; use one of {FID_MODES}")
    keys = resolve_metrics(metrics)
    pairing = pair_images(pred_dir, gt_dir, ids)
    names = [p[0] for p in pairing.pairs]
    if pairing.missing and not allow_missing:
        n_gt = len(pairing.missing) + len(pairing.pairs)
        raise ColorbenchError(
            f"{pred_dir} lacks predictions for {len(pairing.missing)} of the {n_gt} "
            f"ground-truth images: {_few(pairing.missing)}; colorize them, or pass "
            "--allow-missing to evaluate the others (metrics.json records the gap)"
        )
    if pairing.gt_without_pred:
        log.info("%d ground-truth image(s) have no prediction", pairing.gt_without_pred)
    worker_keys = frozenset(keys) & (PIXEL | {"delta_colorful"})
    if "cni" in worker_keys:
        import colorbench.metrics.cni  # noqa: F401  (imported once here, inherited by workers)

    per_image: dict[str, list[np.ndarray]] = {k: [] for k in keys if k in PER_IMAGE}
    cf_gt: list[np.ndarray] = []
    seen: list[str] = []
    desc = f"evaluate {Path(pred_dir).name}"

    def collect(batch: dict[str, Any]) -> None:
        if batch["error"]:
            raise ColorbenchError(batch["error"])
        seen.extend(batch["names"])
        for k, v in batch["values"].items():
            per_image[k].append(v)
        if batch["cf_gt"] is not None:
            cf_gt.append(batch["cf_gt"])

    if NETWORK.isdisjoint(keys):  # pixel metrics only: threads, numpy, no torch
        nets, feats, gt_fid, gt_efd = None, {}, None, None
        ds = PairBatches(pairing.pairs, worker_keys, (False, False))
        for batch in tqdm(pixel_batches(ds, batch_size, num_workers), desc=desc, unit="batch",
                          disable=not progress, leave=False):  # fmt: skip
            collect(batch)
    else:
        from colorbench.metrics import net_pass

        nets, feats, gt_fid, gt_efd = net_pass.evaluate_nets(
            pairing.pairs, names, keys, worker_keys, batch_size, num_workers, fid_mode,
            evaluator_path, labels, device, gt_dir, cache, collect, per_image,
            tqdm_kwargs={"desc": desc, "unit": "batch", "disable": not progress, "leave": False},
        )  # fmt: skip

    unavailable = nets.unavailable if nets is not None else {}
    summary = _summarize(keys, nets, per_image, cf_gt, feats, gt_fid, gt_efd, fid_mode,
                         bootstrap, seed, len(seen))  # fmt: skip
    if ids is None:  # with ids (the stage) a missing prediction is always an error
        for entry in summary.values():
            entry["n_missing"] = len(pairing.missing)
    table = PerImage(
        seen,
        {k: np.concatenate(v) for k, v in per_image.items() if k not in unavailable},
        {
            "n": len(seen),
            "gt_without_pred": pairing.gt_without_pred,
            "pred_ignored": pairing.pred_ignored,
            "missing": list(pairing.missing),
        },
    )
    return summary, table


def _summarize(
    keys: list[str],
    nets: Any,
    per_image: dict[str, list[np.ndarray]],
    cf_gt: list[np.ndarray],
    feats: dict,
    gt_fid: Any,
    gt_efd: Any,
    fid_mode: str,
    n_boot: int,
    seed: int,
    n: int,
) -> dict[str, dict]:
    unavailable = nets.unavailable if nets is not None else {}
    vals = {k: np.concatenate(v) for k, v in per_image.items() if k not in unavailable}
    mp = vals.get("colorfulness")
    mg = np.concatenate(cf_gt) if cf_gt else None
    hit = cci_in_range(mp) if mp is not None else None
    # Bootstrap statistics over all n images, drawn in one pass (same resamples as a pass
    # each); metrics with undefined or infinite values resample their finite rows apart.
    joint: dict[str, Any] = {}
    for k in keys:
        if k in vals and k not in unavailable and np.isfinite(vals[k]).all():
            joint[k] = lambda idx, v=vals[k]: v[idx].mean(1)
        elif k == "delta_colorful" and k not in unavailable:
            joint[k] = lambda idx: np.abs(mp[idx].mean(1) - mg[idx].mean(1))
        elif k == "cci_ratio" and k not in unavailable:
            joint[k] = lambda idx: hit[idx].mean(1)
    boots = stats.bootstrap_many(joint, n, n_boot, seed) if n > 1 and n_boot > 0 else {}
    out: dict[str, dict] = {}
    for k in keys:
        if k in unavailable:
            for key in [f for f, _ in fid_outputs(fid_mode)] if k == "fid" else [k]:
                out[key] = stats.unavailable(unavailable[k])
        elif k in vals:
            out[k] = stats.summarize(vals[k], n_boot, seed, boot=boots.get(k))
            if k == "top1":
                out[k]["classifier"] = nets.classifier_name
                if nets.n_unknown_label:
                    out[k]["n_unknown_label"] = nets.n_unknown_label
        elif k == "delta_colorful":
            out[k] = stats.summarize_set(abs(mp.mean() - mg.mean()), None, n, n_boot, seed,
                                         boot=boots.get(k))  # fmt: skip
            out[k].update(pred_mean=float(mp.mean()), gt_mean=float(mg.mean()))
        elif k == "cci_ratio":
            out[k] = stats.summarize_set(hit.mean(), None, n, n_boot, seed, boot=boots.get(k))
            out[k]["range"] = [16.0, 20.0]
        elif k == "fid":
            from colorbench.metrics.fid import fid_from_stats

            gt = gt_fid if gt_fid is not None else feats["fid_gt"]
            for key, mode in fid_outputs(fid_mode):  # `both`: two formulas, one feature pass
                out[key] = {
                    "mean": fid_from_stats(feats["fid_pred"], gt, mode),
                    "n": n,
                    "mode": mode,
                }
        elif k == "evaluator_fd":
            from colorbench.metrics.frechet import frechet_from_stats

            gt = gt_efd if gt_efd is not None else feats["efd_gt"]
            out[k] = {
                "mean": frechet_from_stats(feats["efd_pred"], gt),
                "n": n,
                "features": "evaluator penultimate layer (Frechet distance, not FID)",
            }
    return out
