"""Benchmark: `colorbench evaluate` (the CLI, start-up included) vs the per-image loop
colorization papers' scripts use (skimage.io.imread + peak_signal_noise_ratio +
structural_similarity per image, numpy colourfulness), side by side in one run, on the same
photo-like PNG pairs (default 600 at 256x256).

Both sides run `--repeats` times, alternating (after an untimed warm-up), so machine load
hits them alike. The loop runs in this process with skimage already imported (no start-up
charged to it); evaluate runs as a fresh `python -m colorbench.cli evaluate` process, so
interpreter start-up, imports, pairing, bootstrap CIs and writing the JSON/CSV all count.
Prints the median of each side, the ratio of medians and the per-repeat ratios (target
>= 6x), the CPU time of each side (process + children), checks the values are identical (1e-6) to the loop's, and a one-thread time
breakdown of evaluate: start-up (imports), decode, each metric.

    python benchmarks/bench_evaluate.py [--n 600] [--size 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

METRICS = "psnr,ssim,colorfulness,cci"
SRC = str(Path(__file__).resolve().parents[1] / "src")


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


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_cli(pred_dir: Path, gt_dir: Path, out: Path, workers: int) -> tuple[float, float]:
    """(wall s, CPU s) of one `colorbench evaluate` process, start-up included."""
    cmd = [sys.executable, "-m", "colorbench.cli", "evaluate", "--pred", str(pred_dir),
           "--gt", str(gt_dir), "--out", str(out / "m.json"), "--per-image", str(out / "p.csv"),
           "--metrics", METRICS, "--workers", str(workers)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=_env(), capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def check_identical(ref: dict[str, np.ndarray], out: Path) -> None:
    with open(out / "p.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    summary = json.loads((out / "m.json").read_text())
    for k in ("psnr", "ssim", "colorfulness"):
        diff = np.abs(np.array([float(r[k]) for r in rows]) - ref[k]).max()
        assert diff < 1e-6, f"{k} differs from the reference by {diff}"
    delta = abs(ref["colorfulness"].mean() - ref["cf_gt"].mean())
    assert abs(summary["delta_colorful"]["mean"] - delta) < 1e-6
    cci = np.mean((ref["colorfulness"] >= 16) & (ref["colorfulness"] <= 20))
    assert abs(summary["cci_ratio"]["mean"] - cci) < 1e-12


BREAKDOWN = """
import json, sys, time
t0 = time.perf_counter()
import colorbench.cli
from colorbench.metrics.decode import read_rgb
from colorbench.metrics.fidelity import psnr_np, ssim_np
from colorbench.metrics.colorfulness import colorfulness_np
t_imp = time.perf_counter() - t0
heavy = [m for m in ("torch", "pandas", "kornia") if m in sys.modules]
from pathlib import Path
import numpy as np
pred, gt = Path(sys.argv[1]), Path(sys.argv[2])
names = sorted(p.name for p in pred.iterdir())
t = {"start-up (imports)": t_imp, "decode": 0.0, "psnr": 0.0, "ssim": 0.0, "colorfulness": 0.0}
for i in range(0, len(names), 32):
    t0 = time.perf_counter()
    p = np.stack([read_rgb(pred / n) for n in names[i:i + 32]])
    g = np.stack([read_rgb(gt / n) for n in names[i:i + 32]])
    t1 = time.perf_counter(); psnr_np(p, g)
    t2 = time.perf_counter(); ssim_np(p, g)
    t3 = time.perf_counter(); colorfulness_np(p); colorfulness_np(g, with_abs=False)
    t4 = time.perf_counter()
    for k, a, b in (("decode", t0, t1), ("psnr", t1, t2), ("ssim", t2, t3),
                    ("colorfulness", t3, t4)):
        t[k] += b - a
print(json.dumps({"times": t, "heavy": heavy, "n": len(names)}))
"""


def breakdown(pred_dir: Path, gt_dir: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", BREAKDOWN, str(pred_dir), str(gt_dir)],
                         check=True, env=_env(), capture_output=True, text=True)  # fmt: skip
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pred_dir, gt_dir = make_pairs(root / "a", args.n, args.size)
        out = root / "out"
        out.mkdir()
        print(f"{args.n} pairs of {args.size}x{args.size} PNG; metrics {METRICS}; "
              f"{args.repeats} alternating repeats")  # fmt: skip
        warm = make_pairs(root / "warm", 8, args.size, seed=2)
        reference_loop(*warm)  # first-call imports (skimage.io's plugins) not timed
        run_cli(*warm, out, args.workers)  # page cache warm for the interpreter and modules
        times: dict[str, list[float]] = {"ref": [], "ours": []}
        cpu: dict[str, list[float]] = {"ref": [], "ours": []}
        ref: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            ref = reference_loop(pred_dir, gt_dir)
            times["ref"].append(time.perf_counter() - t0)
            cpu["ref"].append(time.process_time() - c0)
            wall, used = run_cli(pred_dir, gt_dir, out, args.workers)
            times["ours"].append(wall)
            cpu["ours"].append(used)
            check_identical(ref, out)
        print("values: identical to the reference (max |diff| < 1e-6 for every image, every run)")
        print(
            f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}"
        )
        for key, label in (("ref", "per-image skimage loop (in-process)"),
                           ("ours", f"colorbench evaluate CLI, --workers {args.workers}")):  # fmt: skip
            ts = times[key]
            med = float(np.median(ts))
            c = float(np.median(cpu[key]))
            print(f"{label:44s}: median {med:6.2f} s = {med / args.n * 1e3:6.2f} ms/pair, "
                  f"CPU {c / args.n * 1e3:6.2f} ms/pair  (runs {' '.join(f'{t:.2f}' for t in ts)})")  # fmt: skip
        ratios = [r / o for r, o in zip(times["ref"], times["ours"], strict=True)]
        print(f"speed-up (start-up included): ratio of medians "
              f"{np.median(times['ref']) / np.median(times['ours']):.2f}x, per repeat "
              f"{' '.join(f'{r:.2f}' for r in ratios)}  (target >= 6x)")  # fmt: skip
        print(f"CPU time ratio (loop / evaluate): {np.median(cpu['ref']) / np.median(cpu['ours']):.2f}x"
              "  (on a busy machine the wall ratio tends to this: extra threads only share the "
              "session's CPU slice)")  # fmt: skip
        b = breakdown(pred_dir, gt_dir)
        total = sum(b["times"].values())
        print(f"one-thread breakdown of evaluate's work ({b['n']} pairs; heavy modules imported: "
              f"{', '.join(b['heavy']) or 'none'}):")  # fmt: skip
        for k, v in b["times"].items():
            print(f"  {k:20s} {v:6.2f} s  {v / b['n'] * 1e3:6.2f} ms/pair  {v / total:5.1%}")


if __name__ == "__main__":
    main()
