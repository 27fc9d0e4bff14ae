"""`colorbench colorize-protocol`: one method on one evaluation protocol's images (the DVC
stages colorize_*). `colorbench colorize` is its sibling for a folder of any images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.commands._bind import bind_params


def _checkpoints(values: tuple[str, ...]) -> dict[str, Path]:
    """`[ROLE=]PATH` pairs -> role -> file; a bare PATH is the role `model`."""
    out: dict[str, Path] = {}
    for value in values:
        role, sep, path = value.partition("=")
        if not sep or not role.isidentifier():  # a bare path, which may itself hold "="
            role, path = "model", value
        if role in out:
            raise click.BadParameter(f"role {role!r} given twice", param_hint="--checkpoint")
        out[role] = Path(path)
    return out


def _preflight(values: dict[str, Any], params: dict[str, Any]) -> None:
    """METHOD, --alpha and --protocol resolve (`colorbench profile check`)."""
    from colorbench.colorize.stage import output_name
    from colorbench.methods import registry
    from colorbench.protocols import get

    method = registry.get(values["method"])
    output_name(method, values["method"], values["alpha"], values["name"])
    if values["protocol"]:
        get(params, values["protocol"])


@click.command("colorize-protocol")
@click.argument("method")
@click.option("--protocol", default=None,
              help="An evaluation set of params `protocols` (default: the test split).")  # fmt: skip
@opt.prepared_option(required=True, exists=True)
@opt.dir_option("--outputs", required=True,
                help="The protocol's outputs folder, e.g. outputs/coco: fused and overlay read "
                "its fg/ and bg/, scgan also writes its scgan_l/.")  # fmt: skip
@opt.dir_option("--out", default=None,
                help="The method's folder [OUTPUTS/METHOD; overlay: OUTPUTS/overlay_a<ALPHA>; "
                "external: OUTPUTS/NAME] (replaced atomically).")  # fmt: skip
@click.option("--checkpoint", "checkpoint", multiple=True, metavar="[ROLE=]PATH",
              help="A model file per role the method declares (repeatable; a bare PATH is "
              "its one model), e.g. models/fg.pt or fusion=models/fusion.pt.")  # fmt: skip
@opt.dir_option("--saliency-out", default=None,
                help="scgan: the protocol's saliency-map folder, e.g. outputs_saliency/coco "
                "(it writes scgan/ there).")  # fmt: skip
@click.option("--alpha", default=None, help="overlay: fg's weight, as the folder spells it.")
@click.option("--name", default=None, help="external: a method declared in colorize.external.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@opt.workers_option(2, "Decode/encode worker processes.")
@opt.device_option()
@bind_params("colorize", preflight=_preflight)
def command(method: str, protocol: str | None, prepared: Path, outputs: Path, out: Path | None,
            checkpoint: tuple[str, ...], saliency_out: Path | None, alpha: str | None,
            name: str | None, cfg: dict, params: dict, **settings: Any) -> None:  # fmt: skip
    """Colorize the images of --protocol (params `protocols`, chosen with params' seed) with
    METHOD into --out, as the pipeline does: --params' `colorize` section gives the
    settings (batch_size, fusion_strategy, external, ...), options given here win."""
    from colorbench.colorize.stage import run_stage
    from colorbench.protocols import get

    chosen = get(params, protocol) if protocol else None
    target = run_stage(
        method, {**cfg, **settings}, prepared_dir=prepared, outputs_dir=outputs, out_dir=out,
        checkpoints=_checkpoints(checkpoint), saliency_dir=saliency_out, alpha=alpha,
        name=name, protocol=chosen,
    )  # fmt: skip
    click.echo(f"{method}: colorized into {target}", err=True)
