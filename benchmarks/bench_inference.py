"""ParaColorizer's whole test pipeline (fg + bg colorizers, then the fusion network) at
256x256 on this CPU, with the paper-size models, next to a plain matmul on the same machine;
then colorize throughput (img/s) against batch size, and `colorbench.colorize.engine.colorize_images`
end to end with the batch the pixel budget picks vs batch 1 vs the old fixed batch 16.

Prints per-image latency and throughput at batch 1 and batch 16, the pipeline's FLOPs
(torch.utils.flop_counter: convolutions and matmuls) and its achieved GFLOP/s against the
matmul's, the weight size in MB, and the paper's claim (24 ms on a GTX 1080, < 250 MB).

    .venv/bin/python benchmarks/bench_inference.py [--batch-sizes 1 16] [--reps 3] [--reps-large 1]
        [--sweep-only] [--sweep-sizes 64 256] [--sweep-batches 1 2 4 8 16] [--sweep-reps 2]

The sweep alternates batch sizes within each repeat (medians count), so machine load hits
them alike; `uptime` is printed with the figures.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from colorbench import color
from colorbench.colorize.engine import predict_ab_small
from colorbench.methods.paracolorizer.fused import pipeline_forward
from colorbench.models.registry import build_fusion, build_generator

SIZE = 256
PAPER = {"fg": {"arch": "resunet_attn", "width": 64}, "bg": {"arch": "resunet", "width": 64}}
PAPER_FUSION = {"width": 16}
PAPER_MS = 24.0  # 15 ms parallel colorization + 9 ms fusion, GTX 1080
PAPER_MB = 250.0


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def weight_mb(*models: torch.nn.Module) -> tuple[float, float]:
    """(parameters + buffers in float32, serialized state dicts) in MB (10^6 bytes)."""
    raw = sum(t.numel() * t.element_size() for m in models for t in m.state_dict().values())
    files = 0
    for m in models:
        buf = io.BytesIO()
        torch.save(m.state_dict(), buf)
        files += buf.tell()
    return raw / 1e6, files / 1e6


def stages(
    fg, bg, fusion, l_norm: torch.Tensor, strategy: str
) -> tuple[torch.Tensor, float, float]:
    """The pipeline split into its two paper stages, timed: (rgb, t_colorize, t_fuse)."""
    t0 = time.perf_counter()
    rgb_fg = color.net_to_rgb(l_norm, predict_ab_small(fg, l_norm))
    rgb_bg = color.net_to_rgb(l_norm, predict_ab_small(bg, l_norm))
    t1 = time.perf_counter()
    out = fusion.fuse_images(rgb_fg, rgb_bg, strategy).clamp(0.0, 1.0)
    return out, t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--reps", type=int, default=3, help="timed runs at batch 1 (after a warm-up)")
    ap.add_argument(
        "--reps-large",
        type=int,
        default=1,
        help="timed runs at larger batches (no separate warm-up: the batch-1 runs already "
        "warmed the weights and kernels, and one batch-16 run lasts many seconds)",
    )
    ap.add_argument("--strategy", default="l1norm", choices=["addition", "l1norm"])
    ap.add_argument("--sweep-only", action="store_true", help="only img/s against batch size")
    ap.add_argument("--sweep-sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--sweep-batches", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--sweep-reps", type=int, default=2)
    args = ap.parse_args()
    if not args.sweep_only:
        pipeline_report(args)
    sweep(args)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def sweep(args: argparse.Namespace) -> None:
    """img/s of the paper fg colorizer against batch size, then colorize_images end to end."""
    import numpy as np
    from PIL import Image

    from colorbench import batching
    from colorbench.colorize.engine import colorize_images

    torch.manual_seed(0)
    fg = build_generator(PAPER["fg"]).eval()
    print(f"\ncolorize throughput against batch size (fg resunet_attn w64, CPU, "
          f"{torch.get_num_threads()} threads, {args.sweep_reps} alternating repeats, medians)")  # fmt: skip
    for size in args.sweep_sizes:
        n = max(args.sweep_batches)  # images per measurement, the same for every batch size
        x = torch.rand(n, 1, size, size) * 2 - 1
        times: dict[int, list[float]] = {b: [] for b in args.sweep_batches}
        with torch.inference_mode():
            predict_ab_small(fg, x[:1])  # warm-up
            for _ in range(args.sweep_reps):
                for b in args.sweep_batches:
                    t0 = time.perf_counter()
                    for i in range(0, n, b):
                        predict_ab_small(fg, x[i : i + b])
                    times[b].append(time.perf_counter() - t0)
        auto = batching.net_batch("cpu", size * size, max(args.sweep_batches))
        ips = {b: n / float(np.median(t)) for b, t in times.items()}
        row = "  ".join(f"b{b}: {v:6.2f}" for b, v in ips.items())
        print(f"  {size}x{size}: img/s {row}   budget picks batch {auto}")
    print(f"  uptime: {_uptime()}")

    # End to end: the batch the budget picks vs batch 1 vs a fixed batch 16 (the old default).
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        for size in args.sweep_sizes:
            n = 8 if size >= 256 else 32
            src = root / f"in{size}"
            src.mkdir()
            paths = []
            for i in range(n):
                paths.append(src / f"{i:03d}.png")
                Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
                    paths[-1]
                )
            runs = {"budget (cap 16)": (16, None), "batch 1": (1, None), "fixed 16": (16, 10**12)}
            times = {k: [] for k in runs}
            digests: dict[str, list[bytes]] = {}
            for rep in range(args.sweep_reps):
                for name, (cap, budget) in runs.items():
                    saved = batching.NET_PX_BUDGET["cpu"]
                    if budget is not None:
                        batching.NET_PX_BUDGET["cpu"] = budget
                    out = root / f"out{size}_{rep}_{cap}_{budget}"
                    t0 = time.perf_counter()
                    outs = colorize_images(fg, paths, out, size, cap, "cpu", progress=False)
                    times[name].append(time.perf_counter() - t0)
                    batching.NET_PX_BUDGET["cpu"] = saved
                    digests[name] = [p.read_bytes() for p in outs]
            same = all(d == digests["batch 1"] for d in digests.values())
            row = "  ".join(f"{k}: {n / float(np.median(t)):6.2f}" for k, t in times.items())
            print(f"  colorize_images {n} x {size}x{size} PNG, img/s  {row}  "
                  f"(outputs byte-identical across batchings: {same})")  # fmt: skip
    print(f"  uptime: {_uptime()}")


def pipeline_report(args: argparse.Namespace) -> None:

    torch.manual_seed(0)
    fg, bg = (build_generator(PAPER[k]).eval() for k in ("fg", "bg"))
    fusion = build_fusion(PAPER_FUSION).eval()
    n_params = {k: sum(p.numel() for p in m.parameters()) for k, m in
                {"fg": fg, "bg": bg, "fusion": fusion}.items()}  # fmt: skip
    raw_mb, file_mb = weight_mb(fg, bg, fusion)

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"float32; load average {os.getloadavg()[0]:.1f} (a shared machine slows both sides)"
    )
    mm = matmul_gflops()
    print(f"plain matmul (2048^3, fp32): {mm:.1f} GFLOP/s")
    print(
        "models: fg resunet_attn w64 {fg:,} params, bg resunet w64 {bg:,}, "
        "fusion densefuse w16 {fusion:,}".format(**n_params)
    )
    print(f"weights: {raw_mb:.1f} MB as float32 tensors, {file_mb:.1f} MB as saved state dicts "
          f"(paper: < {PAPER_MB:.0f} MB)")  # fmt: skip

    with torch.inference_mode():
        l1 = torch.rand(1, 1, SIZE, SIZE) * 2 - 1
        ref = pipeline_forward(fg, bg, fusion, l1, args.strategy)
        got, _, _ = stages(fg, bg, fusion, l1, args.strategy)
        assert torch.allclose(ref, got), "benchmark stages differ from fused.pipeline_forward"
        counter = FlopCounterMode(display=False)
        with counter:
            pipeline_forward(fg, bg, fusion, l1, args.strategy)
        flops = counter.get_total_flops()
        print(f"pipeline FLOPs per {SIZE}x{SIZE} image: {flops / 1e9:.1f} GFLOP "
              f"(convs + matmuls; elementwise ops not counted)")  # fmt: skip

        print(f"\n{'batch':>5} {'ms/img':>9} {'colorize':>9} {'fusion':>8} {'img/s':>7} "
              f"{'GFLOP/s':>8} {'vs matmul':>9} {'vs paper 24ms':>13}")  # fmt: skip
        for bs in args.batch_sizes:
            l_norm = torch.rand(bs, 1, SIZE, SIZE) * 2 - 1
            reps = args.reps if bs == 1 else args.reps_large
            if bs == 1:
                stages(fg, bg, fusion, l_norm, args.strategy)  # warm-up
            t_col = t_fuse = 0.0
            for _ in range(reps):
                _, tc, tf = stages(fg, bg, fusion, l_norm, args.strategy)
                t_col, t_fuse = t_col + tc, t_fuse + tf
            n = reps * bs
            per_img = (t_col + t_fuse) / n
            gflops = flops / per_img / 1e9
            print(
                f"{bs:>5} {per_img * 1e3:>9.1f} {t_col / n * 1e3:>9.1f} {t_fuse / n * 1e3:>8.1f} "
                f"{1 / per_img:>7.2f} {gflops:>8.1f} {gflops / mm:>8.0%} "
                f"{per_img * 1e3 / PAPER_MS:>12.1f}x"
            )
    mm_after = matmul_gflops()
    print(
        f"plain matmul again after the pipeline runs: {mm_after:.1f} GFLOP/s "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    print(f"\npaper (GTX 1080): {PAPER_MS:.0f} ms/image = 15 ms colorization + 9 ms fusion; "
          f"weights < {PAPER_MB:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
