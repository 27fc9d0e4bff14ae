"""The `evaluate` DVC stage: every method folder in outputs/ against the prepared test split,
reports/metrics_details.json, the headline reports/metrics.json and reports/per_image/<method>.csv.

metrics_details.json (the report stage reads it):
  {"n_images", "fid_mode", "profile",
   "methods": {method: {metric: {"mean", "std", "ci95", "n"} | set-level | unavailable}},
   "paired":  {method: {metric: {"vs", "mean_diff", "ci95", "p_value", "test", "n"}}}}
metrics.json (DVC's declared metrics file, sized for `dvc metrics diff` / `dvc exp show`):
  {"n_images", "methods": {method: {headline metric: mean | null}}}
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from colorbench.atomic import atomic_dir, atomic_file
from colorbench.errors import ColorbenchError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def jsonable(obj: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, recursively (strict JSON for DVC)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_file(path) as fh:
        json.dump(jsonable(obj), fh, indent=2, allow_nan=False)
        fh.write("\n")


# The numbers people compare across runs (and the experiment tables read); everything else
# stays in the details file. evaluator_fd stands in for FID on the synthetic profile.
HEADLINE = ("psnr", "ssim", "lpips", "fid", "evaluator_fd", "delta_colorful", "cci_ratio", "top1")


def headline(result: dict) -> dict:
    """The means of the HEADLINE metrics per method (null when unavailable)."""
    return {
        "n_images": result["n_images"],
        "methods": {
            method: {k: summary[k].get("mean") for k in HEADLINE if k in summary}
            for method, summary in result["methods"].items()
        },
    }


def method_dirs(outputs_dir: str | os.PathLike) -> list[Path]:
    root = Path(outputs_dir)
    if not root.is_dir():
        raise ColorbenchError(f"{root} does not exist; run the colorize stages first")
    dirs = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    if not dirs:
        raise ColorbenchError(f"no method folders in {root}; run the colorize stages first")
    return dirs


def paired_tests(
    per_image: dict[str, pd.DataFrame], baseline: str, n_boot: int, seed: int
) -> dict[str, dict]:
    """Every method vs `baseline` on each per-image metric both have, matched by image."""
    from colorbench.metrics.evaluate import PER_IMAGE
    from colorbench.metrics.stats import paired_test

    if baseline not in per_image:
        log.warning("baseline method %r not in outputs: no paired tests", baseline)
        return {}
    base = per_image[baseline]
    out: dict[str, dict] = {}
    for method, df in per_image.items():
        if method == baseline:
            continue
        merged = df.merge(base, on="image", suffixes=("", "_base"))
        tests = {}
        for metric in PER_IMAGE:
            if metric in df.columns and metric in base.columns:
                a = merged[metric].to_numpy(np.float64)
                b = merged[f"{metric}_base"].to_numpy(np.float64)
                tests[metric] = {"vs": baseline, **paired_test(a, b, n_boot, seed)}
        out[method] = tests
    return out


def evaluate_methods(
    outputs_dir: str | os.PathLike = "outputs",
    prepared_dir: str | os.PathLike = "data/prepared",
    metrics_json: str | os.PathLike = "reports/metrics.json",
    per_image_dir: str | os.PathLike = "reports/per_image",
    metrics: list[str] | None = None,
    fid_mode: str = "standard",
    bootstrap: int = 1000,
    batch_size: int = 32,
    num_workers: int = 2,
    device: str = "auto",
    seed: int = 0,
    profile: str = "synthetic",
    baseline: str = "gray",
    evaluator_path: str | os.PathLike | None = "models/evaluator.pt",
    saliency_pred_dir: str | os.PathLike = "outputs_saliency",
    saliency_gt_dir: str | os.PathLike = "data/saliency",
    details_json: str | os.PathLike | None = None,
) -> dict:
    """Evaluate every outputs/<method>/ on the test split (role main); write the reports.

    A method that also predicts saliency (a non-empty saliency_pred_dir/<method>/, e.g.
    SCGAN) gets `saliency_mae` and `saliency_iou` against the saliency stage's maps.
    `details_json` defaults to metrics_details.json beside `metrics_json`."""
    from colorbench.data.manifest import IMAGES, read_manifest, select
    from colorbench.metrics.evaluate import evaluate
    from colorbench.metrics.saliency_agreement import saliency_agreement
    from colorbench.metrics.stats import summarize

    manifest_dir = Path(prepared_dir)
    if not (manifest_dir / "manifest.csv").is_file():
        raise ColorbenchError(f"{manifest_dir}/manifest.csv not found; run `dvc repro prepare`")
    test = select(read_manifest(manifest_dir), split="test", role="main")
    if test.empty:
        raise ColorbenchError(f"the prepared data in {manifest_dir} has no test images")
    ids = test["id"].tolist()
    labels = dict(zip(test["id"], test["label"], strict=True))
    # The profile's own classifier is the Top-1/Fréchet network only in `synthetic`;
    # elsewhere Top-1 uses ImageNet VGG-16 when the labels are ImageNet classes.
    evaluator = evaluator_path if profile == "synthetic" else None
    if evaluator is not None and not Path(evaluator).is_file():
        raise ColorbenchError(f"{evaluator} not found; run `dvc repro train_evaluator`")

    methods: dict[str, dict] = {}
    per_image: dict[str, pd.DataFrame] = {}
    gt_cache: dict = {}
    for mdir in method_dirs(outputs_dir):
        log.info("evaluating %s", mdir.name)
        summary, df = evaluate(
            mdir,
            manifest_dir / IMAGES,
            metrics=metrics,
            batch_size=batch_size,
            num_workers=num_workers,
            fid_mode=fid_mode,
            evaluator_path=evaluator,
            labels=labels,
            bootstrap=bootstrap,
            seed=seed,
            device=device,
            ids=ids,
            gt_cache=gt_cache,
        )
        sal_dir = Path(saliency_pred_dir) / mdir.name
        if sal_dir.is_dir() and any(sal_dir.iterdir()):
            agreement = saliency_agreement(sal_dir, saliency_gt_dir, ids)
            for metric in ("saliency_mae", "saliency_iou"):
                summary[metric] = summarize(agreement[metric].to_numpy(), bootstrap, seed)
            df = df.merge(agreement, on="image", how="left")
        methods[mdir.name], per_image[mdir.name] = summary, df
    result = {
        "n_images": len(ids),
        "fid_mode": fid_mode,
        "profile": profile,
        "methods": methods,
        "paired": paired_tests(per_image, baseline, bootstrap, seed),
    }
    with atomic_dir(per_image_dir) as tmp:
        for name, df in per_image.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
    write_json(details_json or Path(metrics_json).with_name("metrics_details.json"), result)
    write_json(metrics_json, headline(result))
    return result
