"""colorize@scgan: the colourised test split, both ways, and SCGAN's predicted saliency maps.

SCGAN generates RGB. The paper scores that RGB as generated (method `scgan`: the paper's
protocol); colorbench's other methods keep the input's L and predict ab, so `scgan_l` takes
the ab of the generated RGB (colour.py) and puts it on the input's full-resolution L, through
the colorize engine like every other method. One forward pass writes both. The RGB as generated
is resized (bilinear) to the input's size when the model saw another size. The predicted
saliency map is resized to each input's size and written as uint8 gray PNG
`<saliency_dir>/<id>.png`, the same format as data/saliency, so the two can be compared.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorbench.atomic import atomic_path
from colorbench.errors import ColorbenchError


class SCGANWriter:
    """A colorize-engine predictor that also writes, per batch, the saliency maps (`saliency_dir`)
    and the RGB as generated (`rgb_dir`); it returns the ab for the L-preserving output.

    colorize_images calls its predictor once per batch, in input order; the writer consumes
    names (and output sizes) in that order and checks at the end that every input got one.
    """

    def __init__(
        self,
        names: Sequence[str],
        sizes: Sequence[tuple[int, int]],
        saliency_dir: Path | None = None,
        rgb_dir: Path | None = None,
    ):
        self.names, self.sizes = list(names), list(sizes)
        self.saliency_dir, self.rgb_dir = saliency_dir, rgb_dir
        self.cursor = 0

    def __call__(self, model: nn.Module, l_norm: torch.Tensor) -> torch.Tensor:
        from colorbench.methods.scgan.nets import rgb_to_ab_norm

        rgb, sal = model(l_norm)
        if self.saliency_dir is not None and sal is None:
            raise ColorbenchError(
                "this SCGAN checkpoint has no saliency branch (trained with "
                "attention_loss: false); colorize it without saliency output"
            )
        n = l_norm.shape[0]
        if self.cursor + n > len(self.names):
            raise ColorbenchError("more images colorized than names given; internal mismatch")
        for j in range(n):
            name, size = self.names[self.cursor + j], self.sizes[self.cursor + j]
            if self.saliency_dir is not None:
                m = _resized(sal[j : j + 1].float(), size)[0, 0].clamp(0, 1)
                _save(self.saliency_dir / f"{name}.png", m.mul(255.0).round().byte())
            if self.rgb_dir is not None:  # tanh output in [-1, 1]
                im = _resized(rgb[j : j + 1].float(), size)[0].add(1).mul(127.5)
                _save(self.rgb_dir / f"{name}.png", im.clamp(0, 255).round().byte())
        self.cursor += n
        return rgb_to_ab_norm(rgb)

    def check_done(self) -> None:
        if self.cursor != len(self.names):
            raise ColorbenchError(f"{self.cursor} of {len(self.names)} images written")


def _resized(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _save(path: Path, arr: torch.Tensor) -> None:
    """A uint8 gray (HxW) or RGB (3xHxW) tensor as PNG, atomically."""
    from PIL import Image

    a = arr.cpu().numpy()
    a = a if a.ndim == 2 else a.transpose(1, 2, 0)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(a)).save(tmp, format="PNG")


def _image_sizes(paths: Sequence[Path]) -> list[tuple[int, int]]:
    """(height, width) of each image from its header, EXIF orientation applied as infer does."""
    from PIL import Image, ImageOps

    sizes = []
    for p in paths:
        with Image.open(p) as im:
            w, h = ImageOps.exif_transpose(im).size if im.getexif() else im.size
        sizes.append((h, w))
    return sizes


def colorize_scgan_paths(
    checkpoint: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    saliency_dir: str | os.PathLike | None,
    *,
    rgb_dir: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    workers: int = 2,
    progress: bool = True,
) -> list[Path]:
    """Colorize `paths` into out_dir/<name>.png (generated ab on the input's L) and, when
    given, rgb_dir/<name>.png (the RGB as generated: the paper's protocol) and
    saliency_dir/<name>.png (the predicted saliency maps), each at its input's size. A model
    trained without the saliency branch writes colour only."""
    from colorbench.colorize.engine import colorize_images, model_size
    from colorbench.device import resolve_device
    from colorbench.models.checkpoint import load_checkpoint
    from colorbench.models.registry import predictor

    dev = resolve_device(device)
    loaded = load_checkpoint(checkpoint, dev)
    if loaded.kind != "scgan":
        raise ColorbenchError(f"{checkpoint} holds kind {loaded.kind!r}, not an SCGAN model")
    paths = [Path(p) for p in paths]
    names = [p.stem for p in paths] if names is None else list(names)
    size = model_size(loaded)
    if saliency_dir is not None and not getattr(loaded.model, "use_saliency", True):
        # Table II's "w/o attention loss" model has no saliency branch: colour only.
        import sys

        print(
            f"note: {checkpoint} has no saliency branch (attention_loss: false); "
            f"{saliency_dir} stays empty",
            file=sys.stderr,
        )
        saliency_dir = None
    if saliency_dir is None and rgb_dir is None:
        return colorize_images(
            loaded.model, paths, out_dir, size, batch_size, dev,
            predictor=predictor("scgan"), names=names, workers=workers, progress=progress,
        )  # fmt: skip
    dirs = [Path(d) if d is not None else None for d in (saliency_dir, rgb_dir)]
    for d in dirs:
        if d is not None:
            d.mkdir(parents=True, exist_ok=True)
    writer = SCGANWriter(names, _image_sizes(paths), *dirs)
    outs = colorize_images(
        loaded.model, paths, out_dir, size, batch_size, dev,
        predictor=writer, names=names, workers=workers, progress=progress,
    )  # fmt: skip
    writer.check_done()
    return outs


def colorize_scgan(
    checkpoint: str | os.PathLike,
    prepared_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    saliency_dir: str | os.PathLike,
    batch_size: int = 16,
    device: str | torch.device = "auto",
    *,
    out_l_dir: str | os.PathLike | None = None,
    workers: int = 2,
    progress: bool = True,
    ids: list[str] | None = None,
) -> tuple[Path, Path]:
    """The colorize@scgan stage: the test split (role main; or `ids`) of `prepared_dir` ->
    out_dir/<id>.png (RGB as generated: method `scgan`, the paper's protocol),
    out_l_dir/<id>.png (ab on the input's L: method `scgan_l`; default: out_dir's sibling
    `<name>_l`) and saliency_dir/<id>.png, every folder replaced atomically.
    Returns (out_dir, saliency_dir)."""
    from colorbench.atomic import atomic_dir
    from colorbench.data.manifest import image_path, read_manifest, select

    prepared_dir = Path(prepared_dir)
    if not (prepared_dir / "manifest.csv").is_file():
        raise ColorbenchError(f"{prepared_dir}/manifest.csv not found; run the prepare stage")
    if ids is None:
        rows = select(read_manifest(prepared_dir), split="test", role="main")
        ids = rows["id"].astype(str).tolist()
    if not ids:
        raise ColorbenchError(f"no test images in {prepared_dir}; check prepare.split")
    paths = [image_path(prepared_dir, i) for i in ids]
    out_dir = Path(out_dir)
    out_l_dir = Path(out_l_dir) if out_l_dir is not None else out_dir.with_name(out_dir.name + "_l")
    with (
        atomic_dir(out_dir) as tmp_rgb,
        atomic_dir(out_l_dir) as tmp_l,
        atomic_dir(saliency_dir) as tmp_sal,
    ):
        colorize_scgan_paths(
            checkpoint, paths, tmp_l, tmp_sal, rgb_dir=tmp_rgb, names=ids,
            batch_size=batch_size, device=device, workers=workers, progress=progress,
        )  # fmt: skip
    return out_dir, Path(saliency_dir)
