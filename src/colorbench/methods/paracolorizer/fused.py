"""ParaColorizer's `fused` method: the fusion network (DenseFuse, kind "fusion") on the fg and
bg colorizations, and the whole test pipeline in memory (pipeline_forward)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from colorbench import color
from colorbench.batching import header_pixels, net_batch, plan_batches
from colorbench.colorize.engine import Predictor, autocast, predict_ab_small
from colorbench.colorize.pairs import load_pair, pairs
from colorbench.colorize.workers import Prefetcher, Writer, batches
from colorbench.device import resolve_device
from colorbench.errors import ColorbenchError
from colorbench.infer import save_png
from colorbench.models.densefuse import STRATEGIES, DenseFuse


def pipeline_forward(
    fg: nn.Module,
    bg: nn.Module,
    fusion: DenseFuse,
    l_norm: torch.Tensor,
    strategy: str = "l1norm",
    fg_predictor: Predictor | None = None,
    bg_predictor: Predictor | None = None,
) -> torch.Tensor:
    """ParaColorizer's whole test pipeline in memory: L_norm (B×1×S×S) -> RGB in [0, 1].

    Both colorizers, their RGB images, then the fusion network's encoder, feature fusion
    and decoder (the stages do the same through PNG files, one stage per step)."""
    rgb_fg = color.net_to_rgb(l_norm, predict_ab_small(fg, l_norm, fg_predictor))
    rgb_bg = color.net_to_rgb(l_norm, predict_ab_small(bg, l_norm, bg_predictor))
    with autocast(l_norm.device):
        fused = fusion.fuse_images(rgb_fg, rgb_bg, strategy)
    return fused.float().clamp(0.0, 1.0)


def fuse_images(
    fusion: DenseFuse | str | os.PathLike,
    fg_paths: Sequence[str | os.PathLike],
    bg_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    strategy: str = "l1norm",
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    *,
    names: Sequence[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> list[Path]:
    """The fusion network (a module, or a `fusion` checkpoint file: the `fused` method) on
    pairs of colorized images (RGB in [0, 1]) at full resolution: encode both, fuse the
    features (`addition` | `l1norm`), decode, clamp to [0, 1]."""
    if strategy not in STRATEGIES:
        raise ColorbenchError(f"unknown fusion strategy {strategy!r}; use one of {STRATEGIES}")
    pairs_, outs = pairs(fg_paths, bg_paths, out_dir, names)
    if not isinstance(fusion, torch.nn.Module):
        from colorbench.colorize.checkpoints import load_kind

        loaded, device = load_kind(fusion, device, "fusion", "fused")
        fusion = loaded.model
    dev = resolve_device(device)
    fusion = fusion.to(dev).eval()
    with (
        tqdm(total=len(pairs_), desc="fuse", unit="img", disable=not progress) as bar,
        ThreadPoolExecutor(max(1, workers)) as pool,
        torch.inference_mode(),
    ):
        writer = Writer(pool)
        # Host memory holds both images of a pair; the network runs at full resolution,
        # so its pixel budget splits each same-size group.
        plan = plan_batches([2 * header_pixels(a) for a, _ in pairs_], batch_size)
        for batch, loaded in Prefetcher(pool, lambda i: load_pair(pairs_[i]), plan):
            # Same-size runs go through the network together; sizes may differ across images.
            groups: dict[tuple[int, ...], list[int]] = {}
            for k, (a, _) in enumerate(loaded):
                groups.setdefault(a.shape, []).append(k)
            for same in groups.values():
                h, w = loaded[same[0]][0].shape[:2]
                for ks in batches(same, net_batch(dev, h * w, batch_size)):
                    a = torch.stack([color.uint8_to_tensor(loaded[k][0]) for k in ks]).to(dev)
                    b = torch.stack([color.uint8_to_tensor(loaded[k][1]) for k in ks]).to(dev)
                    with autocast(dev):
                        out = fusion.fuse_images(a, b, strategy).float().clamp(0.0, 1.0)
                    for k, img in zip(ks, out, strict=True):
                        writer.submit(save_png, outs[batch[k]], color.tensor_to_uint8(img))
            writer.end_batch()
            bar.update(len(batch))
        writer.close()
    return outs
