"""`colorbench train`: ParaColorizer's GANs and fusion autoencoder; SCGAN and its global net."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.methods.paracolorizer import GENERATORS


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
        for i, p in enumerate(parts[:-1]):
            child = node.get(p) or {}
            if not isinstance(child, dict):
                raise click.BadParameter(
                    f"{key}: {'.'.join(parts[: i + 1])} is not a map", param_hint="--set"
                )
            node[p] = dict(child)
            node = node[p]
        node[parts[-1]] = value
    return out


_common = opt.options(
    opt.file_option(
        "--params",
        "params_file",
        default="params.yaml",
        exists=True,
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
    opt.prepared_option(default="data/prepared"),
    opt.dir_option(
        "--checkpoints",
        default="checkpoints",
        help="Checkpoint root: <root>/<run>/last.pt, resumed after an interruption.",
    ),
    opt.dir_option(
        "--logs", default="logs", help="dvclive root: <root>/<run>/ (metrics, sample images)."
    ),
    click.option(
        "--fresh", is_flag=True, help="Ignore an existing checkpoint and start from scratch."
    ),
    click.option("--quiet", is_flag=True, help="No progress bars."),
)


@click.group("train")
def command() -> None:
    """Train a network (the DVC stages train_colorizer@*, train_fusion, train_global, train_scgan).

    \b
    Runs resume from checkpoints/<run>/last.pt after a kill (same params and data),
    log metrics with dvclive to logs/<run>/, and scale out with torchrun:
      torchrun --nproc_per_node=4 -m colorbench.cli train colorizer fg
    """


@command.command("colorizer")
@click.argument("name", type=click.Choice(list(GENERATORS)))
@_common
@opt.dir_option(
    "--crops", default="data/crops", help="Crops dir (boxes.csv, crops/) for use_crops."
)
@opt.file_option("--out", help="Model file [models/NAME.pt].")
def colorizer(name: str, crops: Path, out: Path | None, **common: Any) -> None:
    """Train colorizer NAME: unet (pix2pix V1), fg (foreground GAN), bg (background GAN).

    Params: section train_NAME of --params (generator, discriminator, pretrain_epochs,
    gan_epochs, batch_size, lr_pretrain, lr_gan, lambda_l1, lambda_edge, use_crops,
    use_background, checkpoint_every) and the global seed, device, num_workers.
    """
    from colorbench.methods.paracolorizer.train_colorizer import train_colorizer

    _train(train_colorizer, f"train_{name}", name, crops_dir=crops, out=out, **common)


@command.command("fusion")
@_common
@opt.file_option("--out", default="models/fusion.pt")
def fusion(out: Path, **common: Any) -> None:
    """Train the DenseFuse fusion autoencoder (section train_fusion: width, epochs,
    batch_size, lr, lambda_ssim, checkpoint_every)."""
    from colorbench.methods.paracolorizer.train_fusion import train_fusion

    _train(train_fusion, "train_fusion", out=out, **common)


@command.command("global")
@_common
@opt.file_option("--out", default="models/global.pt")
def global_net(out: Path, **common: Any) -> None:
    """Train SCGAN's global-feature network: a VGG-16-layout classifier on gray images
    (section train_global: width, epochs, batch_size, lr). Labels: the manifest's classes,
    else the COCO categories of the annotations declared in prepare.sources."""
    from colorbench.detect.coco import annotations_from_sources
    from colorbench.methods.scgan.train_global import train_global
    from colorbench.params import section

    sources = section("prepare", common["params_file"]).get("sources", [])
    _train(train_global, "train_global", out=out, annotations=annotations_from_sources(sources),
           **common)  # fmt: skip


@command.command("scgan")
@_common
@opt.dir_option("--saliency", default="data/saliency", help="Ground-truth saliency maps.")
@opt.file_option(
    "--global-net", "global_path", default="models/global.pt", help="From `train global`."
)
@opt.file_option(
    "--evaluator",
    "evaluator_path",
    default="models/evaluator.pt",
    help="Perceptual features when perceptual_net is evaluator.",
)
@opt.file_option("--out", default="models/scgan.pt")
def scgan(
    saliency: Path, global_path: Path, evaluator_path: Path, out: Path, **common: Any
) -> None:
    """Train SCGAN in two phases (section train_scgan; Table II ablations are its switches:
    gan, attention_loss, perceptual, global_net, pixel_loss)."""
    from colorbench.methods.scgan.train import train_scgan

    _train(
        train_scgan,
        "train_scgan",
        saliency_dir=saliency,
        global_path=global_path,
        evaluator_path=evaluator_path,
        out=out,
        **common,
    )


def _train(
    train: Callable[..., dict[str, float]],
    section_name: str,
    *args: Any,
    params_file: Path,
    sets: tuple[str, ...],
    prepared: Path,
    checkpoints: Path,
    logs: Path,
    fresh: bool,
    quiet: bool,
    **extra: Any,
) -> None:
    """train(*args, params, ...) with the `_common` options; prints the final metrics."""
    from colorbench.params import section
    from colorbench.params_schema import ParamsError, check_section

    params = apply_overrides(section(section_name, params_file), sets)
    try:
        check_section(section_name, params)  # the same schema as params.yaml
    except ParamsError as exc:
        raise ParamsError(f"--set {exc}") from None
    metrics = train(
        *args,
        params,
        prepared_dir=prepared,
        checkpoint_root=checkpoints,
        log_root=logs,
        resume=not fresh,
        progress=not quiet,
        **extra,
    )
    _summary(metrics)


def _summary(metrics: dict[str, float]) -> None:
    shown = {k: v for k, v in metrics.items() if "val" in k or "epoch_loss" in k}
    if shown:
        click.echo("  ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items())), err=True)
