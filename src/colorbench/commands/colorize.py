"""`colorbench colorize`: colorize a folder of images of any size with a trained method."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands import _options as opt


def _resolve_method(method: str):
    """Validate --method before any model loads (colorbench.methods.registry): a typo must
    not silently run some checkpoint."""
    from colorbench.errors import ColorbenchError
    from colorbench.methods import registry

    found = registry.find(method)
    if found is None:
        choices = ", ".join(registry.choices())
        raise ColorbenchError(f"unknown --method {method!r}; use one of {choices}") from None
    return found


def _method_help() -> str:
    """--method's help from the registry, read when help is shown (no torch import)."""
    from colorbench.methods import registry

    shown = zip(registry.choices(), registry.all_methods(), strict=True)
    return "The method: " + "; ".join(f"{name}: {m.help}" for name, m in shown if m.help) + "."


@click.command(name="colorize")
@click.option(
    "--method",
    "-m",
    required=True,
    help=_method_help(),
)
@opt.file_option("--checkpoint", help="Model file of a one-model method (e.g. models/fg.pt).")
@opt.dir_option(
    "--input",
    "input_dir",
    required=True,
    help="Folder of images (png, jpg, tif, ...; any size, colour or gray; only L is used).",
)
@opt.dir_option(
    "--out",
    "out_dir",
    required=True,
    help="Output folder: <input stem>.png per image, same size as the input. "
    "Must not be the input folder.",
)
@click.option(
    "--size",
    type=click.IntRange(min=8),
    default=None,
    help="Side the model sees (L resized to SIZE x SIZE). Default: the training size "
    "recorded in the checkpoint, else 256.",
)
@opt.batch_size_option(16)
@opt.device_option()
@opt.file_option("--fg", "fg_ckpt", help="fused/overlay: foreground generator checkpoint.")
@opt.file_option("--bg", "bg_ckpt", help="fused/overlay: background generator checkpoint.")
@opt.file_option(
    "--fusion", "fusion_ckpt", help="fused: fusion network checkpoint (models/fusion.pt)."
)
@click.option(
    "--strategy",
    type=click.Choice(["addition", "l1norm"]),
    default="l1norm",
    show_default=True,
    help="fused: feature fusion strategy.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="overlay: weight of the foreground colorization.",
)
def command(
    method: str,
    checkpoint: Path | None,
    input_dir: Path,
    out_dir: Path,
    size: int | None,
    batch_size: int,
    device: str,
    fg_ckpt: Path | None,
    bg_ckpt: Path | None,
    fusion_ckpt: Path | None,
    strategy: str,
    alpha: float,
) -> None:
    """Colorize every image in --input with a trained method; write PNGs to --out.

    Any size in, same size out: the model sees L at --size, its ab is upsampled onto the
    full-resolution L. Inputs are never overwritten. Inputs that cannot be decoded are
    skipped and listed in --out/rejects.csv (path,reason); the exit code is 1 only when
    no input could be colorized.

    \b
    Examples:
      colorbench colorize --method fg --checkpoint models/fg.pt --input photos --out col
      colorbench colorize --method fused --fg models/fg.pt --bg models/bg.pt \\
          --fusion models/fusion.pt --strategy l1norm --input photos --out col
    """
    from colorbench.infer import list_images, output_paths
    from colorbench.methods.base import ColorizeJob

    chosen = _resolve_method(method)
    job_check = getattr(chosen, "check", None)
    paths = list_images(input_dir)
    output_paths(paths, out_dir)  # refuse early, before any model runs
    rejects: list[tuple[Path, str]] = []
    job = ColorizeJob(
        name=method,
        inputs=paths,
        ids=[p.stem for p in paths],
        out_dir=Path(out_dir),
        checkpoints={"model": checkpoint, "fg": fg_ckpt, "bg": bg_ckpt, "fusion": fusion_ckpt},
        options={"alpha": alpha, "fusion_strategy": strategy},
        device=device,
        batch_size=batch_size,
        size=size,
        rejects=rejects,
    )
    job.checkpoints = {k: v for k, v in job.checkpoints.items() if v is not None}
    if job_check is not None:
        job_check(job)
    outs = chosen.colorize(job)
    _report_rejects(out_dir, rejects, len(outs))
    if "model" in chosen.checkpoints:
        click.echo(f"colorized {len(outs)} image(s) into {out_dir}", err=True)
    else:
        click.echo(f"{chosen.name}: wrote {len(outs)} image(s) into {out_dir}", err=True)


def _report_rejects(out_dir: Path, rejects: list[tuple[Path, str]], n_done: int) -> None:
    """Write --out/rejects.csv (path,reason; like prepare's) when inputs were skipped; an
    error when nothing could be colorized."""
    import csv

    from colorbench.atomic import atomic_file
    from colorbench.errors import ColorbenchError

    if not rejects:
        (Path(out_dir) / "rejects.csv").unlink(missing_ok=True)  # a previous run's list
        return
    with atomic_file(Path(out_dir) / "rejects.csv", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "reason"])
        writer.writerows(sorted((str(p), reason) for p, reason in rejects))
    first = f"{rejects[0][0].name}: {rejects[0][1]}"
    if n_done == 0:
        raise ColorbenchError(
            f"no input could be colorized: {len(rejects)} rejected (e.g. {first}); "
            f"see {Path(out_dir) / 'rejects.csv'}"
        )
    click.echo(
        f"{len(rejects)} input(s) rejected, listed in {Path(out_dir) / 'rejects.csv'} "
        f"(e.g. {first})",
        err=True,
    )
