"""The method-agnostic colorize engine: any size in, same size out.

The full-resolution L channel is kept; the model sees L resized to model_size x model_size
(padded to the model's size multiple if needed) through a `Predictor(model, L_norm) ->
ab_norm`; its ab is upsampled bilinearly back to full resolution and recombined with the
full-resolution L. Outputs are PNG, written atomically one by one; an input is never
overwritten. Methods (colorbench.methods) bring the model and its predictor.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from colorbench import color
from colorbench.batching import header_pixels, net_batch, plan_batches
from colorbench.colorize import DEFAULT_MODEL_SIZE
from colorbench.colorize.workers import Prefetcher, Writer
from colorbench.device import resolve_device
from colorbench.errors import ColorbenchError
from colorbench.infer import load_rgb, output_paths, save_png

Predictor = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def model_size(loaded: Any, size: int | None = None, fallback: int = DEFAULT_MODEL_SIZE) -> int:
    """The size the model sees: explicit > checkpoint meta `image_size` (the training size)
    > config `size` > fallback. `loaded`: a colorbench.models.checkpoint.Loaded."""
    for value in (size, loaded.meta.get("image_size"), loaded.config.get("size"), fallback):
        if value:
            return int(value)
    return fallback


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the bottom/right of B×C×H×W so H and W are multiples of `multiple`."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


def predict_ab_small(
    model: nn.Module,
    l_small: torch.Tensor,
    predictor: Predictor | None = None,
) -> torch.Tensor:
    """ab_norm (B×2×S×S, float32) for L_norm at the model size, padded as the model needs."""
    predictor = predictor or (lambda m, x: m(x))
    s_h, s_w = l_small.shape[-2:]
    x = pad_to_multiple(l_small, int(getattr(model, "size_multiple", 1)))
    if l_small.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(l_small.device):
        ab = predictor(model, x)
    return ab[..., :s_h, :s_w].float()


def resize_l(l_norm: torch.Tensor, size: int) -> torch.Tensor:
    """Full-resolution L (B×1×H×W) to size×size, bilinear with antialiasing when shrinking."""
    if tuple(l_norm.shape[-2:]) == (size, size):
        return l_norm
    return F.interpolate(
        l_norm, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )


def upsample_ab(ab: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if tuple(ab.shape[-2:]) == (height, width):
        return ab
    return F.interpolate(ab, size=(height, width), mode="bilinear", align_corners=False)


def _load_lab(path: Path) -> np.ndarray:
    return color.rgb_to_lab(load_rgb(path))


def colorize_images(
    model: nn.Module,
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    model_size: int = DEFAULT_MODEL_SIZE,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    *,
    predictor: Predictor | None = None,
    names: Sequence[str] | None = None,
    workers: int = 2,
    progress: bool = True,
    rejects: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Colorize `paths` into out_dir/<name>.png (same size as each input); returns the
    paths written.

    Only each input's L channel is used (a colour input is treated as its gray version).
    `predictor(model, l_norm) -> ab_norm` defaults to `model(l_norm)`. An input that cannot
    be decoded is an error, or, when a `rejects` list is given, skipped and appended to it
    as (path, reason). `batch_size` is an upper bound: `colorbench.batching` sizes batches
    by the device's pixel budget and keeps huge inputs out of shared batches.
    """
    if model_size < 1 or batch_size < 1:
        raise ColorbenchError(
            f"model_size and batch_size must be >= 1 ({model_size}, {batch_size})"
        )
    paths = [Path(p) for p in paths]
    outs = output_paths(paths, out_dir, names)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    index = {p: i for i, p in enumerate(paths)}
    # `batch_size` caps the batch; the device's pixel budget and host memory decide it.
    per_pass = net_batch(dev, model_size * model_size, batch_size)
    plan = plan_batches([header_pixels(p) for p in paths], per_pass)
    written: list[Path] = []

    def load(path: Path) -> np.ndarray | str:
        try:
            return _load_lab(path)
        except ColorbenchError as exc:
            if rejects is None:
                raise
            return str(exc)  # the reason, recorded below

    with (
        tqdm(total=len(paths), desc="colorize", unit="img", disable=not progress) as bar,
        _quiet_gamut_clipping(),
        ThreadPoolExecutor(max(1, workers)) as pool,
        torch.inference_mode(),
    ):
        writer = Writer(pool)
        batches = [[paths[i] for i in b] for b in plan]
        for loaded_batch, loaded in Prefetcher(pool, load, batches):
            batch, labs = [], []
            for path, lab in zip(loaded_batch, loaded, strict=True):
                if isinstance(lab, str):
                    rejects.append((path, lab))  # type: ignore[union-attr]
                else:
                    batch.append(path)
                    labs.append(lab)
            if not batch:
                bar.update(len(loaded_batch))
                continue
            l_full = [torch.from_numpy(lab[..., 0]).to(dev)[None, None] for lab in labs]
            l_small = torch.cat([resize_l(color.normalize_l(lf), model_size) for lf in l_full])
            ab_small = predict_ab_small(model, l_small, predictor)
            for j, (path, lab) in enumerate(zip(batch, labs, strict=True)):
                h, w = lab.shape[:2]
                ab = color.denormalize_ab(upsample_ab(ab_small[j : j + 1], h, w))[0]
                out_lab = lab.copy()  # L stays the full-resolution original, bit for bit
                out_lab[..., 1:] = ab.permute(1, 2, 0).cpu().numpy()
                writer.submit(_write_lab, outs[index[path]], out_lab)
                written.append(outs[index[path]])
            writer.end_batch()
            bar.update(len(loaded_batch))
        writer.close()
    return written


def _write_lab(path: Path, lab: np.ndarray) -> None:
    save_png(path, color.lab_to_rgb(lab))


@contextlib.contextmanager
def _quiet_gamut_clipping() -> Iterator[None]:
    """Predicted colours outside the sRGB gamut are clipped by design; skimage warns about
    it once per image, which would drown the progress bar. (Entered on the main thread
    around the worker pool: the filter is process-wide while it lasts.)"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*negative Z values.*", category=UserWarning)
        yield
