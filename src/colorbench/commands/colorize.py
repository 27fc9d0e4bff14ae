"""`colorbench colorize`: colorize a folder of images of any size with a trained method."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands import _options as opt

COMBINED = ("overlay", "fused")
SINGLE = {"unet": "generator", "fg": "generator", "bg": "generator", "scgan": "scgan"}


def _resolve_method(method: str, alpha: float) -> tuple[str, float]:
    """Validate --method before any model loads: `overlay_a<alpha>` (the DVC stage's output
    name) means overlay with that alpha; a typo must not silently run some checkpoint."""
    import re

    from colorbench.errors import ColorbenchError
    from colorbench.models import registry

    match = re.fullmatch(r"overlay_a(.+)", method)
    if match:
        try:
            alpha = float(match.group(1))
        except ValueError:
            alpha = -1.0
        if not 0.0 <= alpha <= 1.0:
            raise ColorbenchError(f"--method {method}: alpha must be a number in [0, 1]")
        return "overlay", alpha
    if method in SINGLE or method in COMBINED:
        return method, alpha
    try:  # a plugin's checkpoint kind with a predictor is a method too
        registry.predictor(method)
    except ColorbenchError:
        choices = ", ".join([*SINGLE, *COMBINED, "overlay_a<alpha>"])
        raise ColorbenchError(f"unknown --method {method!r}; use one of {choices}") from None
    return method, alpha


@click.command(name="colorize")
@click.option(
    "--method",
    "-m",
    required=True,
    help="unet | fg | bg | scgan (one checkpoint), fused (fg + bg + fusion network), "
    "overlay (alpha*fg + (1-alpha)*bg; overlay_a<alpha> sets --alpha too).",
)
@opt.file_option("--checkpoint", help="Model file for unet/fg/bg/scgan (e.g. models/fg.pt).")
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
    import tempfile

    from colorbench.colorize_stage import colorize_with_checkpoint, fuse_with_checkpoint
    from colorbench.errors import ColorbenchError
    from colorbench.infer import list_images, output_paths, overlay_images

    method, alpha = _resolve_method(method, alpha)
    paths = list_images(input_dir)
    output_paths(paths, out_dir)  # refuse early, before any model runs
    rejects: list[tuple[Path, str]] = []
    common = {"size": size, "batch_size": batch_size, "device": device, "rejects": rejects}

    if method not in COMBINED:
        if checkpoint is None:
            raise ColorbenchError(f"--method {method} needs --checkpoint PATH")
        outs = colorize_with_checkpoint(checkpoint, paths, out_dir, method=method, **common)
        _report_rejects(out_dir, rejects, len(outs))
        click.echo(f"colorized {len(outs)} image(s) into {out_dir}", err=True)
        return

    needed = {"--fg": fg_ckpt, "--bg": bg_ckpt}
    if method == "fused":
        needed["--fusion"] = fusion_ckpt
    missing = [k for k, v in needed.items() if v is None]
    if missing:
        raise ColorbenchError(f"--method {method} needs {' '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="colorbench-colorize-") as tmp:
        fg = colorize_with_checkpoint(fg_ckpt, paths, Path(tmp) / "fg", method="fg", **common)
        _report_rejects(out_dir, rejects, len(fg))
        paths = [p for p in paths if p not in {r for r, _ in rejects}]  # the same fail for bg
        common["rejects"] = None
        bg = colorize_with_checkpoint(bg_ckpt, paths, Path(tmp) / "bg", method="bg", **common)
        names = [p.stem for p in paths]
        if method == "overlay":
            outs = overlay_images(fg, bg, out_dir, alpha, names=names)
        else:
            outs = fuse_with_checkpoint(
                fusion_ckpt,
                fg,
                bg,
                out_dir,
                strategy=strategy,
                batch_size=batch_size,
                device=device,
                names=names,
            )
    click.echo(f"{method}: wrote {len(outs)} image(s) into {out_dir}", err=True)


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
