"""SCGAN's Table II ablation table from runs (colorbench.report.experiments)."""

from __future__ import annotations

from typing import Any

from colorbench.report.content import Context
from colorbench.report.experiments import (
    Run,
    ablation_table,
    get,
    howto,
    run_row,
    select_runs,
    skipped_note,
)
from colorbench.report.spec import spec
from colorbench.tables import Column, Table

SCGAN_KEYS = [
    "attention_loss",
    "gan",
    "perceptual",
    "global_net",
    "pixel_loss",
    "lambda_gan",
    "data_fraction",
]
TWICE = "{twice}"  # placeholder: twice the current run's train_scgan.data_fraction
SCGAN_SETTINGS: list[tuple[str, list[str] | None]] = [
    # The paper ran "w/o attention loss" on twice the data (1/5 vs 1/10 of ImageNet).
    ("w/o attention loss (2× data)", ["attention_loss=false", f"data_fraction={TWICE}"]),
    ("w/o attention loss (same data)", ["attention_loss=false"]),
    ("w/o GAN loss", ["gan=none"]),
    ("w/o perceptual loss", ["perceptual=false"]),
    ("with LSGAN loss", ["gan=lsgan"]),
    ("w/o pre-weights", ["global_net=random"]),
    ("w/o global feature", ["global_net=none"]),
    ("with L2 loss", ["pixel_loss=l2"]),
    ("SCGAN (full)", None),
]
PAPER_LAMBDA_GAN = 0.05


def _data_fraction(params: dict[str, Any] | None) -> float:
    value = get(params or {}, "train_scgan.data_fraction", 1.0)
    return float(value) if isinstance(value, (int, float)) and value > 0 else 1.0


def scgan_setting(params: dict[str, Any], reference: dict[str, Any] | None = None) -> str:
    """The SCGAN Table II label of a run's train_scgan switches; its data share is compared
    with `reference`'s (the current params.yaml)."""
    p = get(params, "train_scgan", {}) or {}
    ratio = _data_fraction(params) / _data_fraction(reference)
    data = "same data" if ratio == 1 else ("2× data" if ratio == 2 else f"data × {ratio:.3g}")
    parts = []
    if p.get("attention_loss") is False:
        parts.append(f"w/o attention loss ({data})")
    elif ratio != 1:
        parts.append(data)
    lam = p.get("lambda_gan")
    if p.get("gan") == "none" or lam == 0:
        parts.append("w/o GAN loss")
    elif p.get("gan") == "lsgan":
        parts.append("with LSGAN loss")
    if p.get("perceptual") is False:
        parts.append("w/o perceptual loss")
    if p.get("global_net") == "random":
        parts.append("w/o pre-weights")
    elif p.get("global_net") == "none":
        parts.append("w/o global feature")
    if p.get("pixel_loss") == "l2":
        parts.append("with L2 loss")
    if isinstance(lam, (int, float)) and lam not in (0, PAPER_LAMBDA_GAN):
        parts.append(f"λ_G = {lam:g}")
    return ", ".join(parts) or "SCGAN (full)"


def _scgan_command(assignments: list[str], twice: float) -> str:
    sets = [a.replace(TWICE, f"{twice:g}") for a in assignments]
    slug = "-".join(a.split("=")[0] if TWICE in a else a for a in assignments)
    slug = slug.replace("=", "-").replace("_", "-")
    return "dvc exp run -n scgan-" + slug + "".join(f" -S train_scgan.{a}" for a in sets)


def scgan_ablation_table(runs: list[Run], ctx: Context, from_experiments: bool) -> Table:
    keys = ["psnr", "ssim", "top1", "cci_ratio"]
    table = ablation_table(
        "scgan_table2",
        "Ablation: SCGAN Table II layout (switches of train_scgan)",
        ctx,
        [Column.label("setting", "Setting")],
        [Column.metric(spec(k)) for k in keys],
    )
    seen: dict[str, Run] = {}
    for r in select_runs(runs, ctx.params, {f"train_scgan.{k}" for k in SCGAN_KEYS}):
        if "scgan" in r.results.methods:
            seen.setdefault(scgan_setting(r.params, ctx.params), r)
    order = [s for s, _ in SCGAN_SETTINGS] + sorted(
        s for s in seen if s not in dict(SCGAN_SETTINGS)
    )
    for setting in order:
        if setting in seen:
            table.add_row(run_row([setting], seen[setting], "scgan", keys))
    twice = 2 * _data_fraction(ctx.params)
    table.notes = [
        "Rows: runs differing from params.yaml only in train_scgan."
        + "{"
        + ",".join(SCGAN_KEYS)
        + "}; metrics of method scgan (RGB as generated, the paper's protocol).",
        *skipped_note(runs),
        "Setting labels compare each run's switches with the paper's full SCGAN "
        "(WGAN-GP, attention and perceptual losses, pretrained global net, L1, "
        f"λ_G = {PAPER_LAMBDA_GAN}); data shares (train_scgan.data_fraction) with this run's. "
        "The paper ran w/o attention loss on twice the full system's data.",
    ]
    cmds = []
    for setting, assignments in SCGAN_SETTINGS:
        if setting in seen:
            continue
        if assignments is None:
            cmds.append(
                "dvc exp run -n scgan-full -S train_scgan.attention_loss=true "
                "-S train_scgan.gan=wgan_gp -S train_scgan.perceptual=true "
                "-S train_scgan.global_net=pretrained -S train_scgan.pixel_loss=l1 "
                f"-S train_scgan.lambda_gan={PAPER_LAMBDA_GAN}"
            )
        elif twice <= 1 or not any(TWICE in a for a in assignments):
            cmds.append(_scgan_command(assignments, twice))
        else:
            table.notes.append(
                f"{setting}: needs train_scgan.data_fraction ≤ 0.5 in params.yaml "
                f"(it is {twice / 2:g}) so that twice the data exists."
            )
    table.howto = howto(from_experiments, cmds)
    return table
