"""colorize@scgan: the colourised test split and SCGAN's predicted saliency maps.

Colour goes through colorbench.infer like every other method (the predicted RGB is turned
into ab via colour.py, upsampled onto the input's full-resolution L). The saliency map the
generator predicts alongside is resized to each input's size and written as uint8 gray PNG
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


class SaliencyWriter:
    """An infer.py predictor that also writes the saliency maps of each batch.

    colorize_images calls its predictor once per batch, in input order; the writer consumes
    names (and output sizes) in that order and checks at the end that every input got one.
    """

    def __init__(self, out_dir: Path, names: Sequence[str], sizes: Sequence[tuple[int, int]]):
        self.out_dir = out_dir
        self.names, self.sizes = list(names), list(sizes)
        self.cursor = 0

    def __call__(self, model: nn.Module, l_norm: torch.Tensor) -> torch.Tensor:
        from colorbench.models.scgan import rgb_to_ab_norm

        rgb, sal = model(l_norm)
        if sal is None:
            raise ColorbenchError(
                "this SCGAN checkpoint has no saliency branch (trained with "
                "attention_loss: false); colorize it without saliency output"
            )
        n = l_norm.shape[0]
        if self.cursor + n > len(self.names):
            raise ColorbenchError("more images colorized than names given; internal mismatch")
        for j in range(n):
            h, w = self.sizes[self.cursor + j]
            m = sal[j : j + 1].float()
            if tuple(m.shape[-2:]) != (h, w):
                m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
            arr = m[0, 0].clamp(0, 1).mul(255.0).round().byte().cpu().numpy()
            _save_gray(self.out_dir / f"{self.names[self.cursor + j]}.png", arr)
        self.cursor += n
        return rgb_to_ab_norm(rgb)

    def check_done(self) -> None:
        if self.cursor != len(self.names):
            raise ColorbenchError(
                f"{self.cursor} saliency maps written for {len(self.names)} images"
            )


def _save_gray(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(arr), mode="L").save(tmp, format="PNG")


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
    names: Sequence[str] | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    workers: int = 2,
    progress: bool = True,
) -> list[Path]:
    """Colorize `paths` into out_dir/<name>.png and, when `saliency_dir` is given, write the
    predicted saliency maps to saliency_dir/<name>.png (each at its input's size). A model
    trained without the saliency branch writes colour only."""
    from colorbench.colorize_stage import model_size
    from colorbench.infer import as_device, colorize_images
    from colorbench.models.checkpoint import load_checkpoint
    from colorbench.models.registry import predictor

    dev = as_device(device)
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
    if saliency_dir is None:
        return colorize_images(
            loaded.model, paths, out_dir, size, batch_size, dev,
            predictor=predictor("scgan"), names=names, workers=workers, progress=progress,
        )  # fmt: skip
    saliency_dir = Path(saliency_dir)
    saliency_dir.mkdir(parents=True, exist_ok=True)
    writer = SaliencyWriter(saliency_dir, names, _image_sizes(paths))
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
    workers: int = 2,
    progress: bool = True,
    ids: list[str] | None = None,
) -> tuple[Path, Path]:
    """The colorize@scgan stage: the test split (role main; or `ids`) of `prepared_dir` ->
    out_dir/<id>.png (colour) and saliency_dir/<id>.png (predicted saliency), both folders
    replaced atomically. Returns (out_dir, saliency_dir)."""
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
    with atomic_dir(out_dir) as tmp_out, atomic_dir(saliency_dir) as tmp_sal:
        colorize_scgan_paths(
            checkpoint, paths, tmp_out, tmp_sal, names=ids, batch_size=batch_size,
            device=device, workers=workers, progress=progress,
        )  # fmt: skip
    return Path(out_dir), Path(saliency_dir)
