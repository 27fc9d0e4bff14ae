"""SCGAN training throughput at the synthetic profile's settings (params.yaml train_scgan):
phase-1 and phase-2 steps/s measured side by side in one run, plus the phase-2 ablations
(LSGAN, no GAN, no perceptual) as ratios to the full phase 2.

    .venv/bin/python benchmarks/bench_scgan.py [--size 64] [--width 16] [--batch 16]
        [--steps 10] [--threads N] [--device cpu]

Step maths only (forward, losses, backward, Adam), random data; the shared loop's data
loading and logging are not included.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import torch

from colorbench.methods.scgan.parts import (
    Nets,
    SCGANSettings,
    SCGANSystem,
    critics_loss,
    generator_loss,
)
from colorbench.methods.scgan.perceptual import EvaluatorFeatures
from colorbench.metrics.evaluator_net import SmallCNN


def make_step(system: SCGANSystem, phase: int):
    s = system.settings
    betas = (0.5, 0.999)
    g_params = [p for p in system.generator.parameters() if p.requires_grad]
    g_opt = torch.optim.Adam(g_params, s.lr_phase1 if phase == 1 else s.lr_phase2, betas=betas)
    d_opt = (
        torch.optim.Adam(system.critics.parameters(), s.lr_phase2, betas=betas)
        if system.critics is not None
        else None
    )

    def step(batch: dict[str, torch.Tensor]) -> None:
        if phase == 1:
            total = generator_loss(s, Nets(system.generator), batch, 1)[0]
        else:
            fake, sal = system.generator(batch["gray"])
            if d_opt is not None:
                for _ in range(s.critic_iters):
                    d_total, _ = critics_loss(s, system.critics, batch, fake, sal)
                    d_opt.zero_grad(set_to_none=True)
                    d_total.backward()
                    d_opt.step()
            total = generator_loss(s, Nets.of(system), batch, 2, outputs=(fake, sal))[0]
        g_opt.zero_grad(set_to_none=True)
        total.backward()
        g_opt.step()

    return step


def timed(step, batch, steps: int, device: torch.device) -> float:
    step(batch)  # warm-up (allocations, spectral-norm vectors)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    base = SCGANSettings(width=args.width, batch_size=args.batch)
    b, n = args.batch, args.size
    rgb = torch.rand(b, 3, n, n, device=device) * 2 - 1
    batch = {
        "gray": rgb.mean(1, keepdim=True),
        "rgb": rgb,
        "saliency": (torch.rand(b, 1, n, n, device=device) > 0.5).float(),
    }
    cl = torch.channels_last
    cases = [
        ("phase1 (L1 + attention), contiguous", base, 1, torch.contiguous_format),
        ("phase1 (L1 + attention), channels_last", base, 1, cl),
        ("phase2 full, contiguous", base, 2, torch.contiguous_format),
        ("phase2 full (WGAN-GP, 2 critics, perceptual)", base, 2, cl),
        ("phase2 gan=lsgan", dataclasses.replace(base, gan="lsgan"), 2, cl),
        ("phase2 gan=none", dataclasses.replace(base, gan="none"), 2, cl),
        ("phase2 perceptual=false", dataclasses.replace(base, perceptual=False), 2, cl),
    ]
    print(
        f"SCGAN train steps, {n}px, width {args.width}, batch {b}, device {device}, "
        f"torch threads {torch.get_num_threads()} of {os.cpu_count()} cores"
    )
    print("  (ratios: to the row above for channels_last; ablations to full phase 2)")
    rates: dict[str, float] = {}
    prev = None
    for label, settings, phase, fmt in cases:
        extractor = EvaluatorFeatures(SmallCNN(8, width=32, size=n))
        system = SCGANSystem(settings, n, extractor, "evaluator (random)")
        system = system.to(device, memory_format=fmt).train()
        fb = {k: v.contiguous(memory_format=fmt) for k, v in batch.items()}
        rate = timed(make_step(system, phase), fb, args.steps, device)
        rates[label] = rate
        if "channels_last" in label or label.startswith("phase2 full (") and prev:
            ratio = f"  x{rate / prev:.2f} vs contiguous"
        elif phase == 2 and "full" not in label:
            ratio = f"  x{rate / rates['phase2 full (WGAN-GP, 2 critics, perceptual)']:.2f} of full"
        else:
            ratio = ""
        prev = rate
        print(f"  {label:46s} {rate:7.2f} steps/s  {rate * b:8.1f} img/s{ratio}")


if __name__ == "__main__":
    main()
