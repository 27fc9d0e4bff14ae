"""Benchmark: `colorbench prepare` (all cores) vs a plain single-process PIL loop.

Generates photo-like JPEGs (default 400 at 640x480) into a temporary folder, then times
side by side, in one run, over the same files, each side a fresh process (start-up
included), alternating `--repeats` times; medians count (the machine may be shared):
  plain    open -> convert("RGB") -> resize(size, LANCZOS) -> save PNG (PIL defaults)
  prepare  `colorbench prepare --workers -1`: decode (JPEG draft) + EXIF + checks +
           chroma + resize + PNG (compress_level 1, zlib Z_RLE), process pool over all cores
Prints wall time, img/s, the ratio (target >= 2.2x on 2 cores) and each side's CPU time per
image (user + sys of the process and its children; target: prepare's <= the loop's).
Output quality: the pixels of prepare's PNGs are compared with the plain loop's.

    python benchmarks/bench_prepare.py [--n 400] [--width 640] [--height 480] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SRC = str(Path(__file__).resolve().parents[1] / "src")


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


PLAIN = """
import sys
from pathlib import Path
from PIL import Image
raw, out, size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
for f in sorted(raw.glob("*.jpg")):
    with Image.open(f) as im:
        im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS).save(out / f"{f.stem}.png")
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the process and its children) of one fresh process."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from colorbench.parallel import available_cores

    root = Path(tempfile.mkdtemp(prefix="bench_prepare-"))
    try:
        raw = root / "raw"
        t0 = time.perf_counter()
        make_images(raw, args.n, args.width, args.height)
        print(f"generated {args.n} JPEGs {args.width}x{args.height} in "
              f"{time.perf_counter() - t0:.1f}s; {args.repeats} alternating repeats")  # fmt: skip
        files = sorted(raw.glob("*.jpg"))
        py = sys.executable
        cmds = {
            "plain": [py, "-c", PLAIN, str(raw), str(root / "plain"), str(args.size)],
            "prepare": [py, "-m", "colorbench.cli", "prepare", "--input", str(raw), "--out",
                        str(root / "prep"), "--size", str(args.size), "--workers", "-1"],
        }  # fmt: skip
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
        for _ in range(args.repeats):
            for name, cmd in cmds.items():
                runs[name].append(timed(cmd))
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"cores available: {available_cores()}; uptime: {uptime}")
        wall = {k: float(np.median([w for w, _ in v])) for k, v in runs.items()}
        cpu = {k: float(np.median([c for _, c in v])) for k, v in runs.items()}
        print(f"{'run':<10}{'median s':>10}{'images/s':>10}{'CPU ms/img':>12}   runs (s)")
        for k, v in runs.items():
            print(f"{k:<10}{wall[k]:>10.2f}{args.n / wall[k]:>10.1f}{cpu[k] / args.n * 1e3:>12.2f}"
                  f"   {' '.join(f'{w:.2f}' for w, _ in v)}")  # fmt: skip
        ratios = [p[0] / q[0] for p, q in zip(runs["plain"], runs["prepare"], strict=True)]
        print(f"speed-up prepare / plain loop: ratio of medians {wall['plain'] / wall['prepare']:.2f}x,"
              f" per repeat {' '.join(f'{r:.2f}' for r in ratios)}  (target >= 2.2x)")  # fmt: skip
        print(f"CPU per image, prepare / plain: {cpu['prepare'] / cpu['plain']:.2f}  (target <= 1)")

        # quality: prepare's output pixels against the plain loop's
        diffs = [
            np.abs(
                np.asarray(Image.open(root / "prep" / "images" / f"{f.stem}.png"), dtype=np.int16)
                - np.asarray(Image.open(root / "plain" / f"{f.stem}.png"), dtype=np.int16)
            )
            for f in files[:: max(1, len(files) // 50)]
        ]
        size_of = {
            k: sum(p.stat().st_size for p in d.rglob("*.png")) / 1e6
            for k, d in (("plain", root / "plain"), ("prepare", root / "prep" / "images"))
        }
        print(
            f"pixels vs plain loop: max |diff| {max(int(d.max()) for d in diffs)}, "
            f"mean {float(np.mean([d.mean() for d in diffs])):.4f} (on {len(diffs)} images)"
        )
        print(f"PNG bytes: plain {size_of['plain']:.1f} MB, prepare {size_of['prepare']:.1f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
