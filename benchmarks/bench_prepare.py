"""Benchmark: `prepare` (all cores, fast PNG, JPEG draft) vs a plain single-process PIL loop.

Generates photo-like JPEGs (default 600 at 640x480) into a temporary folder, then times
side by side, in one run, over the same files:
  plain    open -> convert("RGB") -> resize(size, LANCZOS) -> save PNG (PIL defaults)
  prepare  colorbench.data.prepare.prepare(workers=-1): decode + EXIF + checks + chroma +
           resize + PNG (compress_level 1, zlib Z_RLE strategy), process pool over all cores
  prepare1 the same in one process (separates per-image cost from the parallel gain)
Each is run `--repeats` times alternately; the best time counts (the machine may be shared).
Output quality: the pixels of prepare's PNGs are compared with the plain loop's.

    python benchmarks/bench_prepare.py [--n 600] [--width 640] [--height 480] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def make_images(folder: Path, n: int, width: int, height: int, seed: int = 0) -> None:
    """Smooth gradients, overlapping shapes, blur and mild sensor noise, JPEG quality 90."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = rng.normal(0, 3, (height + 64, width + 64, 3)).astype(
        np.float32
    )  # cut at random offsets
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (x / width * rng.uniform(0.2, 1) + y / height * rng.uniform(0.2, 1)) / 2
        base = c0 * (1 - t[..., None]) + c1 * t[..., None]
        im = Image.fromarray(base.clip(0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        for _ in range(12):
            x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
            w, h = rng.uniform(20, width / 3), rng.uniform(20, height / 3)
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape([x0, y0, x0 + w, y0 + h], fill=fill)
        im = im.filter(ImageFilter.GaussianBlur(1.2))
        dy, dx = rng.integers(0, 64, 2)
        arr = np.asarray(im).astype(np.float32) + noise[dy : dy + height, dx : dx + width]
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(
            folder / f"img{i:05d}.jpg", quality=90
        )


def plain_loop(files: list[Path], out: Path, size: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        with Image.open(f) as im:
            im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS).save(
                out / f"{f.stem}.png"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import colorbench.color  # noqa: F401  (torch import paid once, outside the timings)
    from colorbench.data.prepare import available_cores, prepare

    root = Path(tempfile.mkdtemp(prefix="bench_prepare-"))
    try:
        raw = root / "raw"
        t0 = time.perf_counter()
        make_images(raw, args.n, args.width, args.height)
        print(
            f"generated {args.n} JPEGs {args.width}x{args.height} in {time.perf_counter() - t0:.1f}s"
        )
        files = sorted(raw.glob("*.jpg"))

        def run_prepare(workers: int) -> None:
            prepare(
                sources=[{"name": "bench", "path": str(raw)}],
                out_dir=root / f"prep{workers}",
                size=args.size,
                split={"val": 0.05, "test": 0.15},
                workers=workers,
            )

        runs = {
            "plain": lambda: plain_loop(files, root / "plain", args.size),
            "prepare": lambda: run_prepare(-1),
            "prepare1": lambda: run_prepare(0),
        }
        best = {k: float("inf") for k in runs}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                t = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t)

        # quality: prepare's output pixels against the plain loop's
        diffs = [
            np.abs(
                np.asarray(Image.open(root / "prep-1" / "images" / f"{f.stem}.png"), dtype=np.int16)
                - np.asarray(Image.open(root / "plain" / f"{f.stem}.png"), dtype=np.int16)
            )
            for f in files[:: max(1, len(files) // 50)]
        ]
        size_of = {
            k: sum(p.stat().st_size for p in d.rglob("*.png")) / 1e6
            for k, d in (("plain", root / "plain"), ("prepare", root / "prep-1" / "images"))
        }
        ips = {k: args.n / v for k, v in best.items()}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"cores available: {available_cores()}, load average (1 min) {load:.1f}")
        print(f"{'run':<10}{'seconds':>10}{'images/s':>12}")
        for k in runs:
            print(f"{k:<10}{best[k]:>10.2f}{ips[k]:>12.1f}")
        print(f"ratio prepare (all cores) / plain loop: {ips['prepare'] / ips['plain']:.2f}x")
        print(f"ratio prepare (1 process) / plain loop: {ips['prepare1'] / ips['plain']:.2f}x")
        print(
            f"pixels vs plain loop: max |diff| {max(int(d.max()) for d in diffs)}, "
            f"mean {float(np.mean([d.mean() for d in diffs])):.4f} (on {len(diffs)} images)"
        )
        print(f"PNG bytes: plain {size_of['plain']:.1f} MB, prepare {size_of['prepare']:.1f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
