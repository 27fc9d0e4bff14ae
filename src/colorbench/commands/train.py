"""`colorbench train`: ParaColorizer's colorization GANs and its fusion autoencoder."""

from __future__ import annotations

from typing import Any

import click

PATHS = {"file_okay": True, "dir_okay": False}


def apply_overrides(params: dict[str, Any], sets: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` (YAML value; dotted keys reach nested maps, e.g. generator.width=8)."""
    import yaml

    out = dict(params)
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node[p] = dict(node.get(p) or {})
            node = node[p]
        node[parts[-1]] = value
    return out


def _common(fn):
    # Applied bottom-up so that --help lists them in this order.
    for option in reversed(_COMMON):
        fn = option(fn)
    return fn


_COMMON = [
    click.option(
        "--params",
        "params_file",
        default="params.yaml",
        show_default=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Parameter file (the active profile).",
    ),
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a key of the params section (repeatable; dotted keys for nested "
        "maps, e.g. --set generator.width=8 --set gan_epochs=0).",
    ),
    click.option(
        "--prepared",
        default="data/prepared",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Prepared data dir (manifest.csv, images/).",
    ),
    click.option(
        "--checkpoints",
        default="checkpoints",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Checkpoint root: <root>/<run>/last.pt, resumed after an interruption.",
    ),
    click.option(
        "--logs",
        default="logs",
        show_default=True,
        type=click.Path(file_okay=False),
        help="dvclive root: <root>/<run>/ (metrics, sample images).",
    ),
    click.option(
        "--fresh", is_flag=True, help="Ignore an existing checkpoint and start from scratch."
    ),
    click.option("--quiet", is_flag=True, help="No progress bars."),
]


@click.group("train")
def command() -> None:
    """Train ParaColorizer's networks (the DVC stages train_colorizer@* and train_fusion).

    \b
    Runs resume from checkpoints/<run>/last.pt after a kill (same params and data),
    log metrics with dvclive to logs/<run>/, and scale out with torchrun:
      torchrun --nproc_per_node=4 -m colorbench.cli train colorizer fg
    """


@command.command("colorizer")
@click.argument("name", type=click.Choice(["unet", "fg", "bg"]))
@_common
@click.option(
    "--crops",
    default="data/crops",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Crops dir (boxes.csv, crops/) for use_crops.",
)
@click.option(
    "--out", default=None, type=click.Path(dir_okay=False), help="Model file [models/NAME.pt]."
)
def colorizer(
    name: str,
    params_file: str,
    sets: tuple[str, ...],
    prepared: str,
    checkpoints: str,
    logs: str,
    fresh: bool,
    quiet: bool,
    crops: str,
    out: str | None,
) -> None:
    """Train colorizer NAME: unet (pix2pix V1), fg (foreground GAN), bg (background GAN).

    Params: section train_NAME of --params (generator, discriminator, pretrain_epochs,
    gan_epochs, batch_size, lr_pretrain, lr_gan, lambda_l1, lambda_edge, use_crops,
    use_background, checkpoint_every) and the global seed, device, num_workers.
    """
    from colorbench.params import section
    from colorbench.train.colorizer import train_colorizer

    params = apply_overrides(section(f"train_{name}", params_file), sets)
    metrics = train_colorizer(
        name,
        params,
        prepared_dir=prepared,
        crops_dir=crops,
        out=out,
        checkpoint_root=checkpoints,
        log_root=logs,
        resume=not fresh,
        progress=not quiet,
    )
    _summary(metrics)


@command.command("fusion")
@_common
@click.option(
    "--out", default="models/fusion.pt", show_default=True, type=click.Path(dir_okay=False)
)
def fusion(
    params_file: str,
    sets: tuple[str, ...],
    prepared: str,
    checkpoints: str,
    logs: str,
    fresh: bool,
    quiet: bool,
    out: str,
) -> None:
    """Train the DenseFuse fusion autoencoder (section train_fusion: width, epochs,
    batch_size, lr, lambda_ssim, checkpoint_every)."""
    from colorbench.params import section
    from colorbench.train.fusion import train_fusion

    params = apply_overrides(section("train_fusion", params_file), sets)
    metrics = train_fusion(
        params,
        prepared_dir=prepared,
        out=out,
        checkpoint_root=checkpoints,
        log_root=logs,
        resume=not fresh,
        progress=not quiet,
    )
    _summary(metrics)


def _summary(metrics: dict[str, float]) -> None:
    shown = {k: v for k, v in metrics.items() if "val" in k or "epoch_loss" in k}
    if shown:
        click.echo("  ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items())), err=True)
