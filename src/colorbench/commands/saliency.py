"""`colorbench saliency`: one saliency map per prepared image."""

from __future__ import annotations

import click


@click.command("saliency")
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
    type=click.Choice(["masks", "spectral", "deep"]),
    default="masks",
    show_default=True,
)
@click.option(
    "--annotations",
    multiple=True,
    metavar="[SOURCE=]PATH",
    help="COCO annotations json per manifest source (masks backend; repeatable); a bare PATH applies to every source.",
)
@click.option("--batch-size", default=32, show_default=True, help="Batch size (deep).")
@click.option("--workers", default=0, show_default=True, help="Worker processes (-1: all cores).")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda[:N] (deep).")
@click.option(
    "--weights",
    "deep_weights",
    default="u2netp",
    show_default=True,
    help="Registry entry of the deep model's weights.",
)
@click.option("--deep-size", default=320, show_default=True, help="Deep model input side.")
def command(
    prepared: str,
    out: str,
    backend: str,
    annotations: tuple[str, ...],
    batch_size: int,
    workers: int,
    device: str,
    deep_weights: str,
    deep_size: int,
) -> None:
    """Write OUT/<id>.png (uint8 0..255, the prepared size) for every image of PREPARED.

    \b
    backend masks:    union of the COCO instance masks (all-zero without annotations)
    backend spectral: spectral residual (Hou & Zhang 2007) on the L channel, no weights
    backend deep:     U^2-Net-p; install its weights with
                      `colorbench weights import DIR` (DIR holding u2netp.pth)
    """
    from colorbench.commands.crops import parse_annotations, resolve_workers
    from colorbench.saliency import run_saliency

    s = run_saliency(
        prepared,
        out,
        backend=backend,
        annotations=parse_annotations(annotations, prepared),
        batch_size=batch_size,
        num_workers=resolve_workers(workers),
        device=device,
        deep_weights=deep_weights,
        deep_size=deep_size,
    )
    msg = f"{out}: {s.images} saliency maps ({backend})"
    if backend == "masks":
        msg += f", {s.empty} all-zero"
    click.echo(msg)
