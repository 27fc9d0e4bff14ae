"""The `evaluate` DVC stage: every method folder in outputs/ against the prepared test split,
reports/metrics_details.json, the headline reports/metrics.json and reports/per_image/<method>.csv.

metrics_details.json (the report stage reads it):
  {"n_images", "fid_mode", "profile",
   "methods": {method: {metric: {"mean", "std", "ci95", "n"} | set-level | unavailable}},
   "paired":  {method: {metric: {"vs", "mean_diff", "ci95", "p_value", "test", "n"}}}}
metrics.json (DVC's declared metrics file, sized for `dvc metrics diff` / `dvc exp show`):
  {"n_images", "methods": {method: {headline metric: mean | null}}}
With evaluation protocols (evaluate_protocols, the DAG's stage): outputs/<protocol>/<method>/
on each protocol's set; both files hold the primary (first) protocol at the top level, plus
  "protocol": its name, "protocols": {name: the same block for that protocol (+ "about")}
(metrics.json: for the other protocols only),
and reports/per_image/<protocol>/<method>.csv besides the primary's reports/per_image/*.csv.
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
from colorbench.metrics.registry import HEADLINE  # noqa: F401 (seeds.py reads it here)

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
    outputs_dir: str | os.PathLike,
    prepared_dir: str | os.PathLike,
    metrics_json: str | os.PathLike,
    per_image_dir: str | os.PathLike,
    metrics: list[str] | None = None,
    fid_mode: str = "standard",
    bootstrap: int = 1000,
    batch_size: int = 32,
    num_workers: int = 2,
    device: str = "auto",
    seed: int = 0,
    profile: str = "synthetic",
    baseline: str = "gray",
    evaluator_path: str | os.PathLike | None = None,
    saliency_pred_dir: str | os.PathLike | None = None,
    saliency_gt_dir: str | os.PathLike | None = None,
    details_json: str | os.PathLike | None = None,
) -> dict:
    """Evaluate every outputs/<method>/ on the test split (role main); write the reports.

    A method that also predicts saliency (a non-empty saliency_pred_dir/<method>/, e.g.
    SCGAN; the DAG's outputs_saliency/) gets `saliency_mae` and `saliency_iou` against the saliency stage's maps.
    `details_json` defaults to metrics_details.json beside `metrics_json`."""
    settings = dict(locals())  # every argument: the settings _evaluate_set reads
    from colorbench.data.manifest import read_prepared, test_split

    manifest_dir = Path(prepared_dir)
    test = test_split(read_prepared(manifest_dir))
    if test.empty:
        raise ColorbenchError(f"the prepared data in {manifest_dir} has no test images")
    result, per_image = _evaluate_set(test, manifest_dir, settings)
    _write(result, {"": per_image}, metrics_json, per_image_dir, details_json)
    return result


def _settings(**given: Any) -> dict[str, Any]:
    """evaluate_methods' arguments: its defaults, updated with `given`."""
    import inspect

    params = inspect.signature(evaluate_methods).parameters
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise TypeError(f"unknown evaluate setting(s): {', '.join(unknown)}")
    defaults = {n: p.default for n, p in params.items() if p.default is not p.empty}
    return {**defaults, **given}


def _write(
    result: dict,
    per_image: dict[str, dict[str, pd.DataFrame]],
    metrics_json: str | os.PathLike,
    per_image_dir: str | os.PathLike,
    details_json: str | os.PathLike | None = None,
) -> None:
    """per_image: {subfolder ('' = the folder itself): {method: frame}}. The details file
    gets `result`; metrics.json its headline (per protocol too)."""
    with atomic_dir(per_image_dir) as tmp:
        for sub, frames in per_image.items():
            (tmp / sub).mkdir(parents=True, exist_ok=True)
            for name, df in frames.items():
                df.to_csv(tmp / sub / f"{name}.csv", index=False)
    write_json(details_json or Path(metrics_json).with_name("metrics_details.json"), result)
    short = headline(result)
    if "protocols" in result:  # the primary one is the top level already
        short["protocol"] = primary = result["protocol"]
        short["protocols"] = {
            n: headline(b) for n, b in result["protocols"].items() if n != primary
        }
    write_json(metrics_json, short)


def evaluate_protocols(
    params: dict[str, Any],
    outputs_dir: str | os.PathLike,
    prepared_dir: str | os.PathLike,
    metrics_json: str | os.PathLike,
    per_image_dir: str | os.PathLike,
    saliency_pred_dir: str | os.PathLike | None = None,
    details_json: str | os.PathLike | None = None,
    **kwargs: Any,
) -> dict:
    """Evaluate outputs/<protocol>/<method>/ for every protocol of `params` (see the module
    docstring); `kwargs` are evaluate_methods' other settings. A protocol's `metrics`
    replace kwargs' `metrics` for its set."""
    from colorbench import protocols as proto
    from colorbench.data.manifest import read_prepared

    manifest_dir = Path(prepared_dir)
    manifest = read_prepared(manifest_dir)
    base = _settings(**kwargs)
    seed = int(base["seed"])
    blocks: dict[str, dict] = {}
    frames: dict[str, dict[str, pd.DataFrame]] = {}
    cache: dict = {}  # networks and gt statistics, shared by every protocol and method
    for name, protocol in proto.load(params).items():
        log.info("protocol %s: %s", name, protocol.describe())
        rows = proto.select_rows(manifest, protocol, seed)
        settings = {
            **base,
            "outputs_dir": Path(outputs_dir) / name,
            "saliency_pred_dir": saliency_pred_dir and Path(saliency_pred_dir) / name,
        }
        if protocol.metrics is not None:
            settings["metrics"] = list(protocol.metrics)
        blocks[name], frames[name] = _evaluate_set(rows, manifest_dir, settings, cache)
        blocks[name] = {"about": protocol.describe(), **blocks[name]}
    primary = next(iter(blocks))
    result = {**blocks[primary], "protocol": primary, "protocols": blocks}
    _write(result, {"": frames[primary], **frames}, metrics_json, per_image_dir, details_json)
    return result


def _evaluate_set(
    test: pd.DataFrame, manifest_dir: Path, s: dict[str, Any], cache: dict | None = None
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Every method folder of s["outputs_dir"] on the manifest rows `test`: (result,
    per-image). `s`: evaluate_methods' arguments (see _settings); `cache`: networks and gt
    statistics reused across calls (evaluate's `cache`)."""
    from colorbench.data.manifest import IMAGES
    from colorbench.metrics.evaluate import evaluate
    from colorbench.metrics.saliency_agreement import saliency_agreement
    from colorbench.metrics.stats import summarize

    bootstrap, seed, profile = int(s["bootstrap"]), int(s["seed"]), s["profile"]

    ids = test["id"].tolist()
    labels = dict(zip(test["id"], test["label"], strict=True))
    # The profile's own classifier is the Top-1/Fréchet network only in `synthetic`;
    # elsewhere Top-1 uses ImageNet VGG-16 when the labels are ImageNet classes.
    evaluator = s["evaluator_path"] if profile == "synthetic" else None
    if evaluator is not None and not Path(evaluator).is_file():
        raise ColorbenchError(f"{evaluator} not found; run `dvc repro train_evaluator`")

    methods: dict[str, dict] = {}
    per_image: dict[str, pd.DataFrame] = {}
    cache = {} if cache is None else cache
    for mdir in method_dirs(s["outputs_dir"]):
        log.info("evaluating %s", mdir.name)
        summary, df = evaluate(
            mdir,
            manifest_dir / IMAGES,
            metrics=s["metrics"],
            batch_size=int(s["batch_size"]),
            num_workers=int(s["num_workers"]),
            fid_mode=s["fid_mode"],
            evaluator_path=evaluator,
            labels=labels,
            bootstrap=bootstrap,
            seed=seed,
            device=s["device"],
            ids=ids,
            cache=cache,
        )
        sal_dir = s["saliency_pred_dir"] and Path(s["saliency_pred_dir"]) / mdir.name
        if sal_dir and sal_dir.is_dir() and any(sal_dir.iterdir()):
            agreement = saliency_agreement(sal_dir, s["saliency_gt_dir"], ids)
            for metric in ("saliency_mae", "saliency_iou"):
                summary[metric] = summarize(agreement[metric].to_numpy(), bootstrap, seed)
            df = df.merge(agreement, on="image", how="left")
        methods[mdir.name], per_image[mdir.name] = summary, df
    result = {
        "n_images": len(ids),
        "fid_mode": s["fid_mode"],
        "profile": profile,
        "methods": methods,
        "paired": paired_tests(per_image, s["baseline"], bootstrap, seed),
    }
    return result, per_image
