"""`colorbench synth`: write the embedded synthetic dataset."""

from __future__ import annotations

import click


@click.command("synth")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory (replaced atomically).",
)
@click.option("--n", "n", default=1200, show_default=True, type=int, help="Scenes with objects.")
@click.option("--size", default=96, show_default=True, type=int, help="Image side in pixels.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--n-background",
    default=0,
    show_default=True,
    type=int,
    help="Object-free scenes written to OUT/background (the stand-in for Places).",
)
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=int,
    help="Worker processes (0 = all cores). The files do not depend on it.",
)
def command(out: str, n: int, size: int, seed: int, n_background: int, workers: int) -> None:
    """Generate procedural outdoor scenes with COCO-format annotations.

    \b
    OUT/images/syn_000001.png      scenes with 1-4 objects (6 categories)
    OUT/instances.json             COCO instances (RLE masks of the visible parts)
    OUT/labels.csv                 file_name,label (scene label: meadow, beach, ...)
    OUT/background/bg_000001.png   object-free scenes
    The same arguments always give byte-identical files.
    """
    from pathlib import Path

    from colorbench.data.synthetic import generate

    counts = generate(Path(out), n, size, seed, n_background=n_background, workers=workers)
    click.echo(
        f"{out}: {counts['images']} images, {counts['annotations']} objects, "
        f"{counts['background']} background scenes"
    )
