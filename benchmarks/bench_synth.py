"""Synthetic generator throughput: 1,000 scenes at 128x128 on one worker (target < 20 s),
with the render-only and PNG-encode shares measured side by side in the same run."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from PIL import Image

from colorbench.data.synthetic import generate, render

N, SIZE, SEED = 1000, 128, 0


def main() -> None:
    t0 = time.process_time()
    scenes = [render(SEED, i, SIZE) for i in range(200)]
    t_render = (time.process_time() - t0) / len(scenes)

    t0 = time.process_time()
    for s in scenes:
        Image.fromarray(s.image).save(io.BytesIO(), format="PNG")
    t_png = (time.process_time() - t0) / len(scenes)

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        counts = generate(Path(tmp) / "synth", N, SIZE, SEED, workers=1)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0

    print(f"synthetic: {N} images at {SIZE}x{SIZE}, 1 worker")
    print(f"  total            {total:8.2f} s   (target < 20 s)")
    print(f"  CPU time         {cpu:8.2f} s   (wall minus waiting on a shared machine)")
    print(f"  throughput       {N / total:8.1f} images/s")
    print(f"  objects          {counts['annotations']:8d}")
    print(f"  render only      {t_render * 1e3:8.2f} ms/image CPU")
    print(f"  PNG encode only  {t_png * 1e3:8.2f} ms/image CPU")
    print(f"  render share     {t_render / (cpu / N):8.2f} of the per-image CPU time")


if __name__ == "__main__":
    main()
