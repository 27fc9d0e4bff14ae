"""`colorbench prepare`: a folder of images -> square RGB PNGs + manifest.csv + rejects.csv."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands._bind import bind_params


@click.command("prepare")
@click.option(
    "--input",
    "input_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder of images, scanned recursively (any format PIL reads) [required without "
    "--params, whose prepare.sources list the folders otherwise].",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (replaced atomically): images/<id>.png, manifest.csv, rejects.csv.",
)
@click.option(
    "--size", default=256, show_default=True, type=click.IntRange(min=8), help="Output side in px."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the hash splits.")
@click.option(
    "--workers",
    default=-1,
    show_default=True,
    type=int,
    help="Processes: -1 = every available core, 0 = in this process.",
)
@click.option(
    "--role",
    default="main",
    show_default=True,
    type=click.Choice(["main", "background"]),
    help="main: split train/val/test by hash; background: all train (extra scenes).",
)
@click.option(
    "--split",
    "force_split",
    default=None,
    type=click.Choice(["train", "val", "test"]),
    help="Put every image into this split instead of hashing.",
)
@click.option(
    "--val", default=0.05, show_default=True, type=click.FloatRange(0, 1), help="Val fraction."
)
@click.option(
    "--test", default=0.15, show_default=True, type=click.FloatRange(0, 1), help="Test fraction."
)
@click.option(
    "--keep-grayscale",
    is_flag=True,
    help="Keep grayscale-content images in their split (default: split 'excluded').",
)
@click.option(
    "--gray-threshold",
    default=4.0,
    show_default=True,
    type=float,
    help="Mean Lab chroma below which an image counts as grayscale content.",
)
@click.option(
    "--labels",
    default=None,
    type=click.Path(path_type=Path),
    help="CSV with columns file_name,label (file_name relative to --input, or a base name).",
)
@click.option(
    "--max-pixels",
    default=89_478_485,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images with more pixels are rejected (decompression-bomb guard).",
)
@click.option(
    "--name", default=None, help="Source name in the manifest [default: the input folder's name]."
)
@click.option(
    "--png-compress-level",
    default=None,
    type=click.IntRange(0, 9),
    help="zlib level of the written PNGs; the pixels do not depend on it [1].",
)
@bind_params(
    "prepare",
    keys={
        "workers": "num_workers", "val": "split.val", "test": "split.test",
        "gray_threshold": "gray_chroma_threshold",
    },
)  # fmt: skip
def command(
    input_dir: Path | None,
    out_dir: Path,
    size: int,
    seed: int,
    workers: int,
    role: str,
    force_split: str | None,
    val: float,
    test: float,
    keep_grayscale: bool,
    gray_threshold: float,
    labels: Path | None,
    max_pixels: int,
    name: str | None,
    png_compress_level: int | None,
    cfg: dict,
) -> None:
    """Decode, check, resize and split a folder of images.

    Every file ends up either in OUT/manifest.csv (kept; id = its file stem, made unique
    with the sub-folder where stems collide) or in OUT/rejects.csv with a reason
    (truncated, not an image, decompression bomb, too small, flat...). EXIF orientation
    is applied; CMYK, palette, alpha (on white) and 16-bit images become 8-bit RGB.
    Exits 0 when at least one image was kept.

    \b
    Example:
      colorbench prepare --input photos/ --out prepared/ --size 256
      colorbench prepare --params params.yaml --out data/prepared    (the DVC stage)
    """
    from colorbench.data.prepare import prepare

    if input_dir is not None:
        sources = [{
            "name": name or input_dir.resolve().name or "input",
            "path": str(input_dir),
            "role": role,
            "labels": str(labels) if labels else None,
            "split": force_split,
        }]  # fmt: skip
    elif cfg.get("sources"):
        sources = cfg["sources"]
    else:
        raise click.UsageError("give --input DIR, or --params FILE with prepare.sources")
    summary = prepare(
        sources=sources,
        out_dir=out_dir,
        size=size,
        seed=seed,
        split={"val": val, "test": test},
        gray_chroma_threshold=gray_threshold,
        keep_grayscale=keep_grayscale,
        max_pixels=max_pixels,
        workers=workers,
        **({} if png_compress_level is None else {"compress_level": png_compress_level}),
    )
    click.echo(summary.describe())
