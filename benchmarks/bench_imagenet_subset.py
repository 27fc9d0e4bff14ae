"""Benchmark: a per-class train subset out of an ImageNet-layout archive, streamed
(`acquire@imagenet`) vs full extraction followed by selection.

Generates ILSVRC2012-layout archives (tests/imagenet_fixture.py: an outer train tar of
per-class inner tars, a devkit) in a temporary folder, then, side by side on the same files:
  stream   colorbench.data.acquire.acquire("imagenet"): reads the outer tar's headers and each
           inner tar's headers, copies only the chosen members (train_fraction of each class)
  extract  torchvision's parse_train_archive (the outer tar, then every inner tar, each
           removed once extracted), then the same seeded selection: the rest is deleted
Time: best of `--repeats` alternating runs, without monitoring. Peak disk: one more run of
each while a thread sums the sizes of the files in the working folder every 20 ms.
Both keep exactly the same files (checked). `stream` also parses the devkit (it needs the
class list); imports are done before timing.

    python benchmarks/bench_imagenet_subset.py [--classes 100] [--per-class 130]
        [--fraction 0.1] [--width 160] [--height 120] [--repeats 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from imagenet_fixture import DEVKIT, TRAIN, make_imagenet  # noqa: E402

from colorbench.data.acquire import acquire  # noqa: E402
from colorbench.data.imagenet import train_count  # noqa: E402
from colorbench.data.splits import hash_unit  # noqa: E402


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):  # removed while walking
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


class PeakDisk:
    """The largest total file size seen under `root` (sampled every `interval` seconds)."""

    def __init__(self, root: Path, interval: float = 0.02) -> None:
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_bytes(self.root))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_bytes(self.root))


def stream(archives: Path, work: Path, fraction: float) -> set[str]:
    specs = [
        {"file": DEVKIT, "part": "devkit"},
        {"file": TRAIN, "part": "train"},
    ]
    cfg = {"archives": specs, "train_fraction": fraction}
    acquire("imagenet", work / "out", {"seed": 0, "downloads": str(archives), "imagenet": cfg})
    return {str(p.relative_to(work / "out" / "train")) for p in (work / "out/train").rglob("*.*")}


def extract_then_select(archives: Path, work: Path, fraction: float) -> set[str]:
    from torchvision.datasets import imagenet as tv

    with mock.patch.object(tv, "_verify_archive", lambda *args: None):  # fixture md5s
        tv.parse_train_archive(str(work), file=str(archives / TRAIN))
    kept = set()
    for cls in sorted((work / "train").iterdir()):
        files = sorted(cls.iterdir(), key=lambda p: hash_unit(0, p.name))
        k = train_count(len(files), fraction)
        for p in files[k:]:
            p.unlink()
        kept |= {f"{cls.name}/{p.name}" for p in files[:k]}
    return kept


def run(method, archives: Path, scratch: Path, fraction: float, monitor: bool):
    work = Path(tempfile.mkdtemp(dir=scratch))
    try:
        t0 = time.perf_counter()
        if monitor:
            with PeakDisk(work) as peak:
                kept = method(archives, work, fraction)
            return time.perf_counter() - t0, peak.peak, kept, tree_bytes(work)
        kept = method(archives, work, fraction)
        return time.perf_counter() - t0, None, kept, tree_bytes(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--per-class", type=int, default=130)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import scipy.io  # noqa: F401  (imports are not what is measured)
    import torchvision.datasets.imagenet  # noqa: F401

    scratch = Path(tempfile.mkdtemp(prefix="bench_imagenet_"))
    try:
        t0 = time.perf_counter()
        archives = scratch / "archives"
        make_imagenet(
            archives,
            n_classes=args.classes,
            train_sizes=[args.per_class] * args.classes,
            val_per_class=1,
            gray_val=0,
            image_size=(args.width, args.height),
        )
        size = (archives / TRAIN).stat().st_size
        print(
            f"archive: {args.classes} classes x {args.per_class} images "
            f"({args.width}x{args.height} JPEG), {size / 2**20:.1f} MiB, "
            f"built in {time.perf_counter() - t0:.1f}s; fraction {args.fraction}"
        )
        methods = {"stream": stream, "extract": extract_then_select}
        best = {name: float("inf") for name in methods}
        for _ in range(args.repeats):
            for name, method in methods.items():
                secs, _, _, _ = run(method, archives, scratch, args.fraction, monitor=False)
                best[name] = min(best[name], secs)
        results = {
            name: run(method, archives, scratch, args.fraction, monitor=True)
            for name, method in methods.items()
        }
        assert results["stream"][2] == results["extract"][2], "the two kept different files"
        subset = results["stream"][3]
        print(f"{'method':8s} {'time s':>8s} {'peak disk MiB':>14s} {'peak / subset':>14s}")
        for name in methods:
            _, peak, kept, _ = results[name]
            print(f"{name:8s} {best[name]:8.2f} {peak / 2**20:14.1f} {peak / subset:14.2f}")
        print(
            f"subset: {len(results['stream'][2])} images, {subset / 2**20:.1f} MiB; "
            f"stream is {best['extract'] / best['stream']:.1f}x faster, peak disk "
            f"{results['extract'][1] / results['stream'][1]:.1f}x smaller"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
