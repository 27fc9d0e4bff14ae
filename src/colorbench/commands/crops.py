"""`colorbench crops`: object boxes (and crops) for prepared images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _annotations as ann
from colorbench.commands import _options as opt
from colorbench.commands._bind import bind_params


@click.command("crops")
@opt.prepared_option(required=True, exists=True)
@opt.out_dir_option()
@click.option(
    "--backend",
    type=click.Choice(["annotations", "maskrcnn"]),
    default="annotations",
    show_default=True,
)
@ann.annotations_option()
@click.option(
    "--score-threshold", default=0.7, show_default=True, help="Minimum detector score (maskrcnn)."
)
@click.option("--top-k", default=8, show_default=True, help="Boxes kept per image.")
@click.option("--min-box", default=8, show_default=True, help="Minimum box side, prepared pixels.")
@click.option("--size", default=64, show_default=True, help="Crop side after resizing.")
@click.option(
    "--materialize/--no-materialize",
    default=True,
    show_default=True,
    help="Write crop PNGs (else loaders cut them with colorbench.detect.load_crop).",
)
@click.option(
    "--source",
    type=click.Choice(["original", "prepared"]),
    default="original",
    show_default=True,
    help="Detect on and cut from the original image (manifest orig_path) or the prepared one.",
)
@opt.batch_size_option(8, "Detector batch size.")
@opt.workers_option()
@opt.device_option()
@click.option(
    "--detector-min-size",
    default=800,
    show_default=True,
    help="Mask R-CNN input rescale (shorter side).",
)
@bind_params("crops")
def command(
    prepared: Path, out: Path, annotations: tuple[str, ...], params: dict, **options: Any
) -> None:
    """Object boxes for every `main` image of PREPARED: OUT/boxes.csv (image_id, box_index,
    x0, y0, x1, y1 in prepared pixels, score, category, crop_path, orig_path, ox0, oy0,
    ox1, oy1 in the original's pixels) and, with --materialize, OUT/crops/<image_id>_<k>.png
    (cut from the original image with --source original, then resized to --size).

    \b
    backend annotations: COCO ground truth (iscrowd ignored), largest boxes first
    backend maskrcnn:    torchvision Mask R-CNN on the gray image; needs
                         `colorbench weights fetch maskrcnn_resnet50_fpn`
    """
    from colorbench.detect import run_crops

    # Every other option is named after a run_crops keyword argument.
    s = ann.run_annotated(run_crops, prepared, out, annotations, params, options)
    click.echo(f"{out}: {s.boxes} boxes in {s.images_with_boxes} of {s.images} main images")
