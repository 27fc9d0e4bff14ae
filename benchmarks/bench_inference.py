"""ParaColorizer's whole test pipeline (fg + bg colorizers, then the fusion network) at
256x256 on this CPU, with the paper-size models, next to a plain matmul on the same machine.

Prints per-image latency and throughput at batch 1 and batch 16, the pipeline's FLOPs
(torch.utils.flop_counter: convolutions and matmuls) and its achieved GFLOP/s against the
matmul's, the weight size in MB, and the paper's claim (24 ms on a GTX 1080, < 250 MB).

    .venv/bin/python benchmarks/bench_inference.py [--batch-sizes 1 16] [--reps 3] [--reps-large 1]
"""

from __future__ import annotations

import argparse
import io
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from colorbench import color
from colorbench.infer import pipeline_forward, predict_ab_small
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
    args = ap.parse_args()

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
        assert torch.allclose(ref, got), "benchmark stages differ from infer.pipeline_forward"
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
