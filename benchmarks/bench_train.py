"""Training throughput on the active profile's settings: steps/s for unet, fg, bg (pretrain
and GAN phases apart) and fusion, plus the data pipeline's samples/s, side by side.

    python benchmarks/bench_train.py [--params params.yaml] [--steps 5] [--prepared DIR]
                                     [--crops DIR] [--threads N]

Without --prepared the batches are random tensors (speed does not depend on content) and
the epoch-time estimate assumes --train-images N images (+ crops/background as the params
ask: --crops-per-image, --background). With --prepared the real dataset sizes are used and
the loader's samples/s is measured too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from colorbench.methods.paracolorizer.train_colorizer import ColorizerSteps  # noqa: E402
from colorbench.methods.paracolorizer.train_fusion import FusionSteps  # noqa: E402
from colorbench.params import section  # noqa: E402
from colorbench.train.loop import LoopConfig, Position, StepContext, TrainLoop  # noqa: E402


def fake_batch(bs: int, size: int) -> dict[str, torch.Tensor]:
    from colorbench.color import rgb_to_net

    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(bs, 3, size, size, generator=g)
    L, ab = rgb_to_net(rgb)
    return {"L": L, "ab": ab, "rgb": rgb}


def time_steps(loop: TrainLoop, fn, batch: dict, phase: str, n: int) -> float:
    """Seconds per step (median over n after one warm-up step)."""
    batch = loop._to_device(batch)
    times = []
    for i in range(n + 1):
        ctx = StepContext(loop, phase, Position(step=i))
        t = time.perf_counter()
        fn(batch, ctx)
        if ctx._stepped:
            loop.scaler.update()
        if loop.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    times = sorted(times[1:])
    return times[len(times) // 2]


def colorizer_loop(name: str, p: dict, tmp: Path) -> TrainLoop:
    from colorbench.models.registry import build_discriminator, build_generator

    loop = TrainLoop(
        LoopConfig(run_name=f"bench_{name}", checkpoint_dir=tmp, log_dir=tmp,
                   device=str(p.get("device", "auto")), progress=False)
    )  # fmt: skip
    loop.add_module("G", build_generator(dict(p["generator"])))
    disc = {"in_channels": 3, **dict(p.get("discriminator") or {})}
    loop.add_module("D", build_discriminator(disc))
    for n, m, lr, betas in (
        ("g_pre", "G", p["lr_pretrain"], (0.9, 0.999)),
        ("g_gan", "G", p["lr_gan"], (0.5, 0.999)),
        ("d", "D", p["lr_gan"], (0.5, 0.999)),
    ):
        loop.add_optimizer(n, torch.optim.Adam(loop.parameters(m), lr=lr, betas=betas))
    return loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--size", type=int, default=None, help="image size [prepare.size]")
    ap.add_argument("--prepared", default=None)
    ap.add_argument("--crops", default="data/crops")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--train-images", type=int, default=1000)
    ap.add_argument("--crops-per-image", type=float, default=2.4)
    ap.add_argument("--background", type=int, default=400)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    size = args.size or int(section("prepare", args.params).get("size", 64))
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "colorbench_bench_train"
    print(
        f"cores={os.cpu_count()} torch_threads={torch.get_num_threads()} size={size} "
        f"load={os.getloadavg()[0]:.1f}",
        flush=True,
    )

    sizes: dict[str, int] = {}
    if args.prepared:
        from colorbench.train.data import colorizer_dataset

        for name in ("unet", "fg", "bg"):
            p = section(f"train_{name}", args.params)
            ds = colorizer_dataset(args.prepared, crops_dir=args.crops,
                                   use_crops=bool(p.get("use_crops")),
                                   use_background=bool(p.get("use_background")))  # fmt: skip
            sizes[name] = len(ds)
        sizes["fusion"] = len(colorizer_dataset(args.prepared, use_background=True))
        t = time.perf_counter()
        n = 128
        for i in range(n):
            ds.getitem_epoch(i % len(ds), 0)
        print(f"data: {n / (time.perf_counter() - t):.0f} samples/s per worker process")
    else:
        n = args.train_images
        sizes = {"unet": n, "fg": int(n * (1 + args.crops_per_image)), "bg": n + args.background,
                 "fusion": n + args.background}  # fmt: skip

    rows = []
    for name in ("unet", "fg", "bg"):
        p = section(f"train_{name}", args.params)
        bs = int(p["batch_size"])
        loop = colorizer_loop(name, p, tmp)
        steps = ColorizerSteps(float(p["lambda_l1"]), float(p.get("lambda_edge", 0.0)), None)
        batch = fake_batch(bs, size)
        pre = time_steps(loop, steps.pretrain, batch, "pretrain", args.steps)
        gan = time_steps(loop, steps.gan, batch, "gan", args.steps)
        per_epoch = sizes[name] // bs
        total = per_epoch * (int(p["pretrain_epochs"]) * pre + int(p["gan_epochs"]) * gan)
        rows.append((name, bs, 1 / pre, 1 / gan, gan / pre, per_epoch, total))
        print(f"{name:6s} batch {bs}: pretrain {1 / pre:6.2f} steps/s  gan {1 / gan:6.2f} "
              f"steps/s  gan/pretrain {gan / pre:4.2f}x  {per_epoch} steps/epoch  "
              f"est. {total:6.0f} s for the params' epochs", flush=True)  # fmt: skip
        loop.close()

    p = section("train_fusion", args.params)
    from colorbench.models.registry import build_fusion

    loop = TrainLoop(LoopConfig(run_name="bench_fusion", checkpoint_dir=tmp, log_dir=tmp,
                                device=str(p.get("device", "auto")), progress=False))  # fmt: skip
    loop.add_module("F", build_fusion({"width": int(p["width"])}))
    loop.add_optimizer("f", torch.optim.Adam(loop.parameters("F"), lr=float(p["lr"])))
    bs = int(p["batch_size"])
    fs = FusionSteps(float(p.get("lambda_ssim", 100.0)), None)
    t = time_steps(loop, fs.step, fake_batch(bs, size), "train", args.steps)
    per_epoch = sizes["fusion"] // bs
    total = per_epoch * int(p["epochs"]) * t
    print(f"fusion batch {bs}: {1 / t:6.2f} steps/s  {per_epoch} steps/epoch  "
          f"est. {total:6.0f} s for the params' epochs")  # fmt: skip
    loop.close()
    base = rows[0][2]
    print(
        "relative pretrain speed (unet = 1): "
        + ", ".join(f"{r[0]} {r[2] / base:.2f}" for r in rows)
    )


if __name__ == "__main__":
    main()
