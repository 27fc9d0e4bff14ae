"""Throughput of the crops and saliency stages, measured side by side in one run.

On a generated synthetic dataset (a few hundred 96 px images with COCO annotations):
saliency masks / spectral (serial and with a process pool) and deep (U^2-Net-p, random
weights, 320 px input, a subset), crops with annotations (serial and pooled) and Mask R-CNN
(random weights, torchvision's 800 px input, a handful of images). Random weights cost the
same compute as real ones; nothing is downloaded.

    python benchmarks/bench_crops_saliency.py [--n 300] [--size 96] [--deep-n 32] [--maskrcnn-n 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def _dataset(root: Path, n: int, n_background: int, size: int, workers: int) -> Path:
    from colorbench.data.prepare import prepare
    from colorbench.data.synthetic import generate

    generate(root / "raw", n=n, size=128, seed=0, n_background=n_background, workers=workers)
    sources = [
        {
            "name": "synthetic",
            "path": str(root / "raw/images"),
            "role": "main",
            "annotations": str(root / "raw/instances.json"),
            "labels": str(root / "raw/labels.csv"),
        },
        {"name": "background", "path": str(root / "raw/background"), "role": "background"},
    ]
    (root / "sources.yaml").write_text(yaml.safe_dump(sources))
    prepare(sources, root / "prepared", size=size, workers=workers)
    return root / "prepared"


def _subset(prepared: Path, out: Path, k: int) -> Path:
    """A prepared dir with the first k images (symlinked)."""
    import pandas as pd

    from colorbench.data.manifest import read_manifest

    df = read_manifest(prepared).head(k)
    (out / "images").mkdir(parents=True)
    for i in df["id"]:
        (out / "images" / f"{i}.png").symlink_to(prepared / "images" / f"{i}.png")
    pd.DataFrame(df).to_csv(out / "manifest.csv", index=False)
    return out


def _install_random_weights() -> None:
    import torch

    from colorbench import weights
    from colorbench.detect.maskrcnn import build_model
    from colorbench.saliency.u2net import U2NETP

    torch.manual_seed(0)
    for name, model in (("maskrcnn_resnet50_fpn", build_model()), ("u2netp", U2NETP())):
        path = weights.cache_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
        weights.REGISTRY[name] = weights.override(
            name, sha256=weights.file_digest(path), size=path.stat().st_size
        )


def _timed(label: str, n: int, stage: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Run stage(*args, **kwargs) without progress bars; print and return images/s."""
    t0 = time.perf_counter()
    stage(*args, progress=False, **kwargs)
    dt = time.perf_counter() - t0
    rate = n / dt
    print(f"{label:<44} {n:>5} img  {dt:7.2f} s  {rate:8.1f} img/s", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="main images")
    ap.add_argument("--size", type=int, default=96, help="prepared size")
    ap.add_argument("--deep-n", type=int, default=32)
    ap.add_argument("--maskrcnn-n", type=int, default=4)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    import torch

    from colorbench.detect import run_crops
    from colorbench.device import resolve_device
    from colorbench.saliency import run_saliency

    cpus = os.cpu_count() or 1
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory(prefix="bench_cs_") as tmp:
        root = Path(tmp)
        os.environ["TORCH_HOME"] = str(root / "torch")
        print(
            f"os.cpu_count() = {cpus}, torch threads = {torch.get_num_threads()}, device = {device}"
        )
        t0 = time.perf_counter()
        prepared = _dataset(root / "data", args.n, max(args.n // 6, 1), args.size, cpus)
        ann = {"synthetic": root / "data/raw/instances.json"}
        n_all = sum(1 for _ in (prepared / "images").glob("*.png"))
        print(
            f"dataset: {args.n} main + {n_all - args.n} background images at {args.size} px "
            f"({time.perf_counter() - t0:.1f} s to generate and prepare)\n"
        )
        _install_random_weights()

        print("saliency")
        rates = {}
        for backend in ("masks", "spectral"):
            for w in (0, cpus):
                out = root / f"sal_{backend}_{w}"
                rates[backend, w] = _timed(
                    f"  {backend:<9} workers={w}", n_all, run_saliency, prepared, out,
                    backend=backend, annotations=ann, num_workers=w,
                )  # fmt: skip
        _timed(
            f"  deep (U^2-Net-p, 320 px, batch 8, {device.type})", args.deep_n, run_saliency,
            _subset(prepared, root / "deep_subset", args.deep_n), root / "sal_deep",
            backend="deep", batch_size=8, device=str(device),
        )  # fmt: skip

        print("\ncrops")
        for w in (0, cpus):
            rates["annotations", w] = _timed(
                f"  annotations (materialize) workers={w}", args.n, run_crops, prepared,
                root / f"crops_{w}", annotations=ann, num_workers=w, materialize=True,
            )  # fmt: skip
        _timed(
            "  annotations (boxes only) workers=0", args.n, run_crops, prepared,
            root / "crops_boxes", annotations=ann, materialize=False,
        )  # fmt: skip
        _timed(
            f"  maskrcnn (800 px input, batch 2, {device.type})", args.maskrcnn_n, run_crops,
            _subset(prepared, root / "mr_subset", args.maskrcnn_n), root / "crops_mr",
            backend="maskrcnn", score_threshold=0.0, batch_size=2, device=str(device),
        )  # fmt: skip
        print(f"\npool speed-up (workers={cpus} vs 0, pool start-up included):")
        for key in ("masks", "spectral", "annotations"):
            print(f"  {key:<12} x{rates[key, cpus] / rates[key, 0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
