"""`colorbench acquire`: fetch or generate one raw dataset into data/raw/<dataset>/."""

from __future__ import annotations

import click

from colorbench.commands._bind import bind_params


@click.command("acquire")
@click.argument("dataset", type=click.Choice(["synthetic", "coco", "places", "imagenet", "folder"]))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory, e.g. data/raw/DATASET (replaced atomically).",
)
@bind_params("acquire", default="params.yaml")
def command(dataset: str, out: str, cfg: dict) -> None:
    """Acquire DATASET: synthetic | coco | places | imagenet | folder.

    \b
    synthetic  generate the embedded scenes (acquire.synthetic, seed)
    coco       train2017 + val2017 + instance annotations (about 19 GB)
    places     Places365-standard 256x256, a seeded subset of acquire.places.max_images
    imagenet   ILSVRC2012 subsets streamed from the train, val and devkit archives, which
               you place in data/downloads/ (no public URL) or fetch from acquire.imagenet.base_url
    folder     copy your images from acquire.folder.path
    Archives go to data/downloads/ (or $COLORBENCH_DOWNLOADS) and are resumed, verified
    and reused; on a machine without network, put them there by hand.
    """
    from colorbench.data.acquire import acquire

    summary = acquire(dataset, out, cfg)
    click.echo(f"{summary['out']}: {_describe(summary)}")


def _describe(summary: dict) -> str:
    if summary.get("dataset") == "imagenet":
        return (
            f"{summary['classes']} classes, {summary.get('train', 0)} train and "
            f"{summary.get('val', 0)} val images ({summary.get('val_skipped', 0)} val files skipped)"
        )
    if "images" in summary:
        return (
            f"{summary['images']} images, {summary['annotations']} objects, "
            f"{summary['background']} background scenes"
        )
    return f"{summary['files']} files"
