"""The README's Table IV measurement: does λ_edge change the foreground GAN's outputs?

Generates the synthetic profile's data (synth, prepare at 64², annotation crops), trains fg
with the profile's `train_fg` settings at λ_edge = 0, at λ_edge = 1, and at λ_edge = 1 with
the unscaled edge term (edge_scale 1), colorizes the test split and prints each run's SSIM
(skimage) and the paired differences vs λ_edge = 0 with bootstrap 95% intervals.
About 15 minutes on 2 CPU cores.

    python benchmarks/measure_edge_sweep.py [--work DIR] [--n 1200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from skimage.metrics import structural_similarity

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "lambda_0": {"lambda_edge": 0.0},
    "lambda_1": {"lambda_edge": 1.0},
    "lambda_1_unscaled": {"lambda_edge": 1.0, "edge_scale": 1.0},
}


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "colorbench.cli", *args], check=True)


def _data(work: Path, n: int) -> None:
    if (work / "crops" / "boxes.csv").is_file():
        return
    _cli("synth", "--out", str(work / "raw"), "--n", str(n), "--size", "96")
    _cli("prepare", "--input", str(work / "raw" / "images"), "--out", str(work / "prep"),
         "--size", "64")  # fmt: skip
    _cli("crops", "--prepared", str(work / "prep"), "--out", str(work / "crops"),
         "--annotations", str(work / "raw" / "instances.json"), "--size", "64")  # fmt: skip


def _ssim(work: Path, name: str, ids: list[str]) -> np.ndarray:
    from colorbench.data.manifest import image_path

    vals = []
    for i in ids:
        gt = np.asarray(Image.open(image_path(work / "prep", i)).convert("RGB"))
        pred = np.asarray(Image.open(work / "out" / name / f"{i}.png").convert("RGB"))
        vals.append(structural_similarity(gt, pred, channel_axis=2, data_range=255))
    return np.array(vals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--n", type=int, default=1200)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edge-sweep-"))
    _data(work, args.n)

    from colorbench.colorize.checkpoints import colorize_with_checkpoint
    from colorbench.data.manifest import image_path, read_manifest, select
    from colorbench.methods.paracolorizer.train_colorizer import train_colorizer
    from colorbench.metrics.stats import bootstrap_ci, paired_test
    from colorbench.train.common import TrainRun

    profile = yaml.safe_load((ROOT / "profiles" / "synthetic.yaml").read_text())
    base = {**profile["train_fg"], "seed": 0, "device": "cpu", "num_workers": 0}
    ids = select(read_manifest(work / "prep"), split="test", role="main")["id"].tolist()
    ssim = {}
    for name, override in RUNS.items():
        model = work / f"{name}.pt"
        if not model.is_file():
            run = TrainRun(work / "prep", model, work / "ck" / name, work / "logs" / name,
                           progress=False)  # fmt: skip
            train_colorizer("fg", {**base, **override}, run, crops_dir=work / "crops")
        paths = [image_path(work / "prep", i) for i in ids]
        colorize_with_checkpoint(
            model, paths, work / "out" / name, kind="generator", method="fg", names=ids
        )
        ssim[name] = _ssim(work, name, ids)
    out = {"n_test": len(ids), "work": str(work)}
    for name, v in ssim.items():
        out[name] = {"ssim": float(v.mean()), "ci95": bootstrap_ci(v)}
        if name != "lambda_0":
            t = paired_test(v, ssim["lambda_0"])
            out[name]["vs_lambda_0"] = {k: t[k] for k in ("mean_diff", "ci95", "p_value")}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
