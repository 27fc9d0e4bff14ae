"""Colorize images of any size and format with a trained model, and combine colorized sets
(ParaColorizer's fusion network, weighted overlay).

Any size in, same size out: the full-resolution L channel is kept; the model sees L resized
to model_size x model_size (padded to the model's size multiple if needed); its ab is
upsampled bilinearly back to full resolution and recombined with the full-resolution L.
Outputs are PNG, written atomically one by one; an input is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm import tqdm

from colorbench import color
from colorbench.atomic import atomic_path
from colorbench.batching import header_pixels, net_batch, plan_batches
from colorbench.device import resolve_device
from colorbench.errors import ColorbenchError
from colorbench.models.densefuse import STRATEGIES, DenseFuse

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm")
DEFAULT_MODEL_SIZE = 256

Predictor = Callable[[nn.Module, torch.Tensor], torch.Tensor]


# ---- files ------------------------------------------------------------------------------


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ColorbenchError(f"input folder {folder} does not exist")
    paths = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not paths:
        raise ColorbenchError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return paths


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Any PIL-readable image as HxWx3 uint8 RGB, decoded as prepare and evaluate decode
    (`colorbench.metrics.decode.read_rgb`); an unreadable file is a ColorbenchError naming it."""
    from colorbench.metrics.decode import read_rgb

    try:
        return np.array(read_rgb(path))
    except Exception as exc:  # any decoder failure is the file's fault: name it
        raise ColorbenchError(f"cannot read image {path}: {exc}") from exc


def save_png(path: Path, rgb: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG")


def output_paths(
    inputs: Sequence[Path], out_dir: str | os.PathLike, names: Sequence[str] | None = None
) -> list[Path]:
    """out_dir/<name>.png per input (name = input stem by default); refuses to write into an
    input's folder, onto an input file, or two outputs to one file."""
    out_dir = Path(out_dir)
    names = [Path(p).stem for p in inputs] if names is None else list(names)
    if len(names) != len(inputs):
        raise ValueError("names and inputs differ in length")
    seen: dict[str, Path] = {}
    for name, src in zip(names, inputs, strict=True):
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ColorbenchError(f"output name {name!r} for {src} is not a plain file name")
        if name in seen:
            raise ColorbenchError(
                f"{seen[name]} and {src} would both be written to {name}.png; rename one"
            )
        seen[name] = Path(src)
    out_res = out_dir.resolve()
    outs = [out_dir / f"{n}.png" for n in names]
    input_files = {Path(p).resolve() for p in inputs}
    for src in inputs:
        if Path(src).resolve().parent == out_res:
            raise ColorbenchError(
                f"output folder {out_dir} is the folder of input {src}; "
                "choose another --out so inputs are never overwritten"
            )
    for out in outs:
        if out.resolve() in input_files:
            raise ColorbenchError(f"output {out} would overwrite an input; choose another --out")
    return outs


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Prefetcher:
    """Decodes the next batch in worker threads while the model runs on this one."""

    def __init__(self, pool: ThreadPoolExecutor, fn: Callable, batches: list[Sequence]) -> None:
        self.pool, self.fn, self.batches = pool, fn, batches

    def _submit(self, batch: Sequence) -> list[Future]:
        return [self.pool.submit(self.fn, item) for item in batch]

    def __iter__(self) -> Iterator[tuple[Sequence, list]]:
        pending = self._submit(self.batches[0]) if self.batches else []
        for i, batch in enumerate(self.batches):
            current = [f.result() for f in pending]
            pending = self._submit(self.batches[i + 1]) if i + 1 < len(self.batches) else []
            yield batch, current


class _Writer:
    """PNG encoding in worker threads, at most one batch behind (bounded memory)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.previous: list[Future] = []
        self.current: list[Future] = []

    def submit(self, fn: Callable, *args) -> None:
        self.current.append(self.pool.submit(fn, *args))

    def end_batch(self) -> None:
        for fut in self.previous:
            fut.result()
        self.previous, self.current = self.current, []

    def close(self) -> None:
        self.end_batch()
        self.end_batch()


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def as_device(device: str | torch.device) -> torch.device:
    """'auto' | 'cpu' | 'cuda[:N]' | torch.device -> torch.device, with a clear error when
    CUDA is asked for on a machine without it."""
    try:
        dev = device if isinstance(device, torch.device) else resolve_device(str(device))
    except RuntimeError as exc:
        raise ColorbenchError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ColorbenchError(
            f"device {device} requested but CUDA is not available; use cpu or auto"
        )
    return dev


# ---- tensors ----------------------------------------------------------------------------


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
    with _autocast(l_small.device):
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
    with _autocast(l_norm.device):
        fused = fusion.fuse_images(rgb_fg, rgb_bg, strategy)
    return fused.float().clamp(0.0, 1.0)


# ---- colorize ---------------------------------------------------------------------------


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
    dev = as_device(device)
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
        writer = _Writer(pool)
        batches = [[paths[i] for i in b] for b in plan]
        for loaded_batch, loaded in _Prefetcher(pool, load, batches):
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


# ---- combine two colorized sets ---------------------------------------------------------


def _pairs(
    fg_paths: Sequence, bg_paths: Sequence, out_dir: str | os.PathLike, names: Sequence[str] | None
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(fg, bg) input pairs and their output paths; creates out_dir, which must hold
    neither a foreground nor a background input."""
    if len(fg_paths) != len(bg_paths):
        raise ColorbenchError(f"{len(fg_paths)} foreground vs {len(bg_paths)} background images")
    pairs = [(Path(a), Path(b)) for a, b in zip(fg_paths, bg_paths, strict=True)]
    outs = output_paths([p[0] for p in pairs], out_dir, names)
    output_paths([p[1] for p in pairs], out_dir, names)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return pairs, outs


def _load_pair(pair: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    a, b = load_rgb(pair[0]), load_rgb(pair[1])
    if a.shape != b.shape:
        raise ColorbenchError(
            f"{pair[0]} ({a.shape[1]}x{a.shape[0]}) and {pair[1]} ({b.shape[1]}x{b.shape[0]}) "
            "differ in size; both must be colorizations of the same image"
        )
    return a, b


def overlay_images(
    fg_paths: Sequence[str | os.PathLike],
    bg_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    alpha: float,
    *,
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """alpha·fg + (1 − alpha)·bg on the RGB images (ParaColorizer Table V), rounded to uint8."""
    if not 0.0 <= alpha <= 1.0:
        raise ColorbenchError(f"overlay alpha must be in [0, 1], got {alpha}")
    pairs, outs = _pairs(fg_paths, bg_paths, out_dir, names)
    for pair, out in tqdm(
        list(zip(pairs, outs, strict=True)), desc="overlay", disable=not progress
    ):
        a, b = _load_pair(pair)
        mix = alpha * a.astype(np.float64) + (1.0 - alpha) * b.astype(np.float64)
        save_png(out, np.clip(np.rint(mix), 0, 255).astype(np.uint8))
    return outs


def fuse_images(
    fusion: DenseFuse,
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
    """The fusion network on pairs of colorized images (RGB in [0, 1]) at full resolution:
    encode both, fuse the features (`addition` | `l1norm`), decode, clamp to [0, 1]."""
    if strategy not in STRATEGIES:
        raise ColorbenchError(f"unknown fusion strategy {strategy!r}; use one of {STRATEGIES}")
    pairs, outs = _pairs(fg_paths, bg_paths, out_dir, names)
    dev = as_device(device)
    fusion = fusion.to(dev).eval()
    with (
        tqdm(total=len(pairs), desc="fuse", unit="img", disable=not progress) as bar,
        ThreadPoolExecutor(max(1, workers)) as pool,
        torch.inference_mode(),
    ):
        writer = _Writer(pool)
        # Host memory holds both images of a pair; the network runs at full resolution,
        # so its pixel budget splits each same-size group.
        plan = plan_batches([2 * header_pixels(a) for a, _ in pairs], batch_size)
        for batch, loaded in _Prefetcher(pool, lambda i: _load_pair(pairs[i]), plan):
            # Same-size runs go through the network together; sizes may differ across images.
            groups: dict[tuple[int, ...], list[int]] = {}
            for k, (a, _) in enumerate(loaded):
                groups.setdefault(a.shape, []).append(k)
            for same in groups.values():
                h, w = loaded[same[0]][0].shape[:2]
                for ks in _batches(same, net_batch(dev, h * w, batch_size)):
                    a = torch.stack([color.uint8_to_tensor(loaded[k][0]) for k in ks]).to(dev)
                    b = torch.stack([color.uint8_to_tensor(loaded[k][1]) for k in ks]).to(dev)
                    with _autocast(dev):
                        out = fusion.fuse_images(a, b, strategy).float().clamp(0.0, 1.0)
                    for k, img in zip(ks, out, strict=True):
                        writer.submit(save_png, outs[batch[k]], color.tensor_to_uint8(img))
            writer.end_batch()
            bar.update(len(batch))
        writer.close()
    return outs
