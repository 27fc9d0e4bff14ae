"""Benchmark: colorbench's streaming evaluate vs the per-image loop colorization papers'
scripts use (skimage.io.imread + peak_signal_noise_ratio + structural_similarity per image,
numpy colourfulness), side by side in one run, on the same 64x64 PNG pairs.

Both sides run `--repeats` times, alternating (after an untimed warm-up), so machine load
hits them alike; prints ms/image of each, asserts identical values (1e-6), and the speed
ratio (target ≥ 4x) as best-of (fastest run of each side) and median of the per-repeat
ratios. Also evaluate in one thread (`--workers 0`, the per-core speed-up) and the peak RSS
of evaluate in a fresh process for N and 4N images (flat in N).

    python benchmarks/bench_evaluate.py [--n 1000] [--size 64] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

METRICS = ["psnr", "ssim", "colorfulness", "cci"]


def make_pairs(root: Path, n: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    """Photo-like pairs: smooth colour fields + texture; pred = a perturbed copy."""
    rng = np.random.default_rng(seed)
    pred_dir, gt_dir = root / "pred", root / "gt"
    pred_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx * rng.uniform(0.2, 1) + yy * rng.uniform(0.2, 1))[..., None] / 2
        gt = c0 * (1 - t) + c1 * t + rng.normal(0, 8, (size, size, 3))
        pred = 0.7 * gt + 0.3 * gt.mean(-1, keepdims=True) + rng.normal(0, 4, gt.shape)
        Image.fromarray(np.clip(gt, 0, 255).astype(np.uint8)).save(gt_dir / f"{i:05d}.png")
        Image.fromarray(np.clip(pred, 0, 255).astype(np.uint8)).save(pred_dir / f"{i:05d}.png")
    return pred_dir, gt_dir


def colorfulness(img: np.ndarray) -> float:
    rgb = img.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)


def reference_loop(pred_dir: Path, gt_dir: Path) -> dict[str, np.ndarray]:
    from skimage import io
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out: dict[str, list[float]] = {"psnr": [], "ssim": [], "colorfulness": [], "cf_gt": []}
    for p in sorted(pred_dir.iterdir()):
        pred, gt = io.imread(p), io.imread(gt_dir / p.name)
        out["psnr"].append(peak_signal_noise_ratio(gt, pred, data_range=255))
        out["ssim"].append(structural_similarity(pred, gt, channel_axis=-1, data_range=255))
        out["colorfulness"].append(colorfulness(pred))
        out["cf_gt"].append(colorfulness(gt))
    return {k: np.array(v) for k, v in out.items()}


def peak_rss_mb(pred_dir: Path, gt_dir: Path, workers: int) -> tuple[float, float, float]:
    """Max RSS in MB of a fresh process: after imports, after evaluate, and of the largest
    child process evaluate started (0 when its workers are threads)."""
    code = f"""
import json, resource
from colorbench.metrics.evaluate import evaluate
r = resource.getrusage
before, kids0 = r(resource.RUSAGE_SELF).ru_maxrss, r(resource.RUSAGE_CHILDREN).ru_maxrss
evaluate({str(pred_dir)!r}, {str(gt_dir)!r}, {METRICS!r}, batch_size=64,
         num_workers={workers}, progress=False)
kids = r(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({{"before": before, "self": r(resource.RUSAGE_SELF).ru_maxrss,
                  "children": kids if kids > kids0 else 0}}))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    return r["before"] / 1024, r["self"] / 1024, r["children"] / 1024  # ru_maxrss: KiB


def check_identical(ref: dict[str, np.ndarray], summary: dict, df) -> None:
    for k in ("psnr", "ssim", "colorfulness"):
        diff = np.abs(df[k].to_numpy() - ref[k]).max()
        assert diff < 1e-6, f"{k} differs from the reference by {diff}"
    delta = abs(ref["colorfulness"].mean() - ref["cf_gt"].mean())
    assert abs(summary["delta_colorful"]["mean"] - delta) < 1e-6
    cci = np.mean((ref["colorfulness"] >= 16) & (ref["colorfulness"] <= 20))
    assert abs(summary["cci_ratio"]["mean"] - cci) < 1e-12


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    from colorbench.metrics.evaluate import evaluate

    torch.set_num_threads(1)  # the comparison is per core, same for both
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pred_dir, gt_dir = make_pairs(root / "a", args.n, args.size)
        print(f"{args.n} pairs of {args.size}x{args.size} PNG; metrics {', '.join(METRICS)}; "
              f"{args.repeats} alternating repeats")  # fmt: skip

        def ours(workers: int) -> float:
            t0 = time.perf_counter()
            summary, df = evaluate(pred_dir, gt_dir, METRICS, batch_size=args.batch_size,
                                   num_workers=workers, progress=False)  # fmt: skip
            t = time.perf_counter() - t0
            check_identical(ref, summary, df)
            return t

        # Warm-up on a few pairs: first-call imports (skimage.io's plugins) are not timed.
        warm = make_pairs(root / "warm", 8, args.size, seed=2)
        reference_loop(*warm)
        evaluate(*warm, METRICS, batch_size=args.batch_size, num_workers=args.workers,
                 progress=False)  # fmt: skip
        times: dict[str, list[float]] = {"ref": [], "ours": [], "ours0": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ref = reference_loop(pred_dir, gt_dir)
            times["ref"].append(time.perf_counter() - t0)
            times["ours"].append(ours(args.workers))
            times["ours0"].append(ours(0))
        print("values: identical to the reference (max |diff| < 1e-6 for every image, every run)")
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores (evaluate threads only on idle "
              f"cores: {args.workers} workers may run as fewer)")  # fmt: skip

        def line(label: str, ts: list[float]) -> str:
            runs = " ".join(f"{t:5.2f}" for t in ts)
            return (f"{label:36s}: best {min(ts):5.2f} s = {min(ts) / args.n * 1e3:5.2f} ms/image"
                    f"   (runs: {runs} s)")  # fmt: skip

        print(line("reference per-image loop", times["ref"]))
        print(line(f"colorbench evaluate, {args.workers} workers", times["ours"]))
        print(line("colorbench evaluate, in-process", times["ours0"]))
        print(f"  (batch {args.batch_size}, bootstrap CIs and folder pairing included)")
        for key, label in (("ours", f"{args.workers} workers"), ("ours0", "in-process")):
            ratios = [r / o for r, o in zip(times["ref"], times[key], strict=True)]
            print(f"speed-up, {label:10s}: best-of {min(times['ref']) / min(times[key]):5.2f}x, "
                  f"median {float(np.median(ratios)):5.2f}x, per repeat "
                  f"{' '.join(f'{r:.2f}' for r in ratios)}  (target >= 4x)")  # fmt: skip

        big = make_pairs(root / "b", 4 * args.n, args.size, seed=1)
        for n, dirs in ((args.n, (pred_dir, gt_dir)), (4 * args.n, big)):
            before, peak, kids = peak_rss_mb(*dirs, args.workers)
            print(f"peak RSS, {n:5d} images  : {peak:7.1f} MB ({before:.1f} MB after imports), "
                  f"worker processes {kids:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
