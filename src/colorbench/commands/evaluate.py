"""`colorbench evaluate`: every metric of a folder of colourised images against ground truth."""

from __future__ import annotations

import click

from colorbench.metrics.pairing import FID_MODES


def _metrics_help() -> str:
    """--metrics' help from colorbench.metrics.registry (what each name turns on)."""
    from colorbench.metrics.registry import evaluated

    names = []
    for m in evaluated():
        if m.request == m.key:
            more = [k for k in m.group if k != m.key]
            names.append(m.key + (f" (also gives {' and '.join(more)})" if more else ""))
        elif m.request:
            names.append(f"{m.request} ({m.key})")
    return "Comma-separated metrics (default: all). " + ", ".join(names) + "."


_METRICS_HELP = _metrics_help()


def read_labels(path: str) -> dict[str, str]:
    """id -> label from a prepared dir, its manifest.csv, or any CSV with columns
    (id | image) and label."""
    from pathlib import Path

    import pandas as pd

    from colorbench.errors import ColorbenchError

    p = Path(path)
    if p.is_dir():
        p = p / "manifest.csv"
    if not p.is_file():
        raise ColorbenchError(f"labels file {p} not found")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ColorbenchError(f"cannot read labels from {p}: {exc}") from None
    key = "id" if "id" in df.columns else "image" if "image" in df.columns else None
    if key is None or "label" not in df.columns:
        raise ColorbenchError(f"{p} needs columns 'id' (or 'image') and 'label'")
    from colorbench.imagefiles import is_image_name

    # `image` may hold file names; ids (stems) can themselves contain dots
    ids = df[key].map(lambda s: Path(s).stem if is_image_name(s) else s)
    return {i: lab for i, lab in zip(ids, df["label"], strict=True) if lab != ""}


@click.command("evaluate")
@click.option("--pred", "pred", required=True, type=click.Path(file_okay=False),
              help="Folder of colourised images (drives the pairing).")  # fmt: skip
@click.option("--gt", "gt", required=True, type=click.Path(file_okay=False),
              help="Folder of ground-truth colour images with the same file names.")  # fmt: skip
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="JSON: metric name -> {mean, std, ci95, n} (or available=false + reason).")  # fmt: skip
@click.option("--per-image", "per_image", type=click.Path(dir_okay=False),
              help="CSV with a column `image` and one column per per-image metric.")  # fmt: skip
@click.option("--metrics", "metrics", default=None, help=_METRICS_HELP)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=0),
              help="DataLoader worker processes (decoding and pixel metrics).")  # fmt: skip
@click.option("--fid-mode", type=click.Choice(FID_MODES), default="standard",
              show_default=True,
              help="standard: TF-FID Inception + exact Fréchet distance (pytorch-fid numbers); "
              "piq: ParaColorizer's protocol (piq's iterative sqrt, biased upwards); "
              "both: one Inception pass, `fid` standard and `fid_piq` piq.")  # fmt: skip
@click.option("--evaluator", type=click.Path(dir_okay=False),
              help="The profile's classifier checkpoint (models/evaluator.pt) for top1 and "
              "evaluator_fd; without it top1 uses ImageNet VGG-16 if the labels are ImageNet.")  # fmt: skip
@click.option("--labels", type=click.Path(),
              help="Image labels for top1: a prepared dir, its manifest.csv, or a CSV with "
              "columns id (or image) and label.")  # fmt: skip
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for the 95% intervals (0: none).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Bootstrap seed.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda[:N].")
@click.option("--allow-missing", is_flag=True,
              help="Evaluate even when some GT images have no prediction; FILE.json records "
              "n_missing per metric and the names under `missing`.")  # fmt: skip
def command(
    pred: str,
    gt: str,
    out: str,
    per_image: str | None,
    metrics: str | None,
    batch_size: int,
    workers: int,
    fid_mode: str,
    evaluator: str | None,
    labels: str | None,
    bootstrap: int,
    seed: int,
    device: str,
    allow_missing: bool,
) -> None:
    """Evaluate colourised images in PRED against GT, paired by file name.

    \b
    Example:
      colorbench evaluate --pred outputs/fg --gt data/prepared/images \\
          --out fg.json --per-image fg.csv --metrics psnr,ssim,colorfulness,cci

    Metrics whose weights (`colorbench weights status`) or labels are missing are written
    as {"mean": null, "available": false, "reason": ...}, never dropped.
    """
    from colorbench.atomic import atomic_file
    from colorbench.metrics.evaluate import evaluate_table
    from colorbench.metrics.stage import write_json

    names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    summary, table = evaluate_table(
        pred,
        gt,
        metrics=names,
        batch_size=batch_size,
        num_workers=workers,
        fid_mode=fid_mode,
        evaluator_path=evaluator,
        labels=read_labels(labels) if labels else None,
        bootstrap=bootstrap,
        seed=seed,
        device=device,
        allow_missing=allow_missing,
    )
    info = table.pairing
    missing = info.get("missing") or []
    # metric name -> {mean, ...} stays the contract; the gap is one extra entry when there is one
    write_json(out, {**summary, **({"missing": {"n_missing": len(missing), "names": missing}}
                                   if missing else {})})  # fmt: skip
    if per_image:
        with atomic_file(per_image, newline="") as fh:
            table.write_csv(fh)
    extra = len(missing)
    click.echo(
        f"evaluated {len(table)} image(s)"
        + (f"; {extra} ground-truth image(s) had no prediction" if extra else "")
        + f" -> {out}",
        err=True,
    )
    for name, s in summary.items():
        mean = s.get("mean")
        click.echo(
            f"  {name:17s} " + (f"{mean:.4f}" if mean is not None else f"n/a ({s.get('reason')})"),
            err=True,
        )
