"""`colorbench crops`: object boxes (and crops) for prepared images."""

from __future__ import annotations

import click


def parse_annotations(values: tuple[str, ...], prepared: str) -> dict[str, str]:
    """`SOURCE=PATH` pairs, or a bare PATH that applies to every source in the manifest."""
    from colorbench.data.manifest import read_manifest

    out: dict[str, str] = {}
    bare = [v for v in values if "=" not in v]
    for v in values:
        if "=" in v:
            name, path = v.split("=", 1)
            out[name] = path
    if bare:
        if len(bare) > 1:
            raise click.BadParameter(
                "give one bare PATH, or SOURCE=PATH pairs", param_hint="--annotations"
            )
        for source in sorted(set(read_manifest(prepared)["source"])):
            out.setdefault(source, bare[0])
    return out


def resolve_workers(n: int) -> int:
    import os

    return (os.cpu_count() or 1) if n < 0 else n


@click.command("crops")
@click.option(
    "--prepared",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Prepared data dir (manifest.csv, images/).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output dir (replaced atomically).",
)
@click.option(
    "--backend",
    type=click.Choice(["annotations", "maskrcnn"]),
    default="annotations",
    show_default=True,
)
@click.option(
    "--annotations",
    multiple=True,
    metavar="[SOURCE=]PATH",
    help="COCO annotations json per manifest source (repeatable); a bare PATH applies to every source.",
)
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
@click.option("--batch-size", default=8, show_default=True, help="Detector batch size.")
@click.option("--workers", default=0, show_default=True, help="Worker processes (-1: all cores).")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda[:N].")
@click.option(
    "--detector-min-size",
    default=800,
    show_default=True,
    help="Mask R-CNN input rescale (shorter side).",
)
def command(
    prepared: str,
    out: str,
    backend: str,
    annotations: tuple[str, ...],
    score_threshold: float,
    top_k: int,
    min_box: int,
    size: int,
    materialize: bool,
    batch_size: int,
    workers: int,
    device: str,
    detector_min_size: int,
) -> None:
    """Object boxes for every `main` image of PREPARED: OUT/boxes.csv (image_id, box_index,
    x0, y0, x1, y1 in prepared pixels, score, category, crop_path) and, with
    --materialize, OUT/crops/<image_id>_<k>.png.

    \b
    backend annotations: COCO ground truth (iscrowd ignored), largest boxes first
    backend maskrcnn:    torchvision Mask R-CNN on the gray image; needs
                         `colorbench weights fetch maskrcnn_resnet50_fpn`
    """
    from colorbench.detect import run_crops

    s = run_crops(
        prepared,
        out,
        backend=backend,
        annotations=parse_annotations(annotations, prepared),
        score_threshold=score_threshold,
        top_k=top_k,
        min_box=min_box,
        size=size,
        materialize=materialize,
        batch_size=batch_size,
        num_workers=resolve_workers(workers),
        device=device,
        detector_min_size=detector_min_size,
    )
    click.echo(f"{out}: {s.boxes} boxes in {s.images_with_boxes} of {s.images} main images")
