"""ParaColorizer's ablation tables from runs: Table IV (λ_edge sweep) and the generator
versions V1/V2/V3 (§V-A). Runs come from colorbench.report.experiments."""

from __future__ import annotations

import math
from pathlib import Path

from colorbench.report.content import Context
from colorbench.report.experiments import (
    FD_NOTE_SHORT,
    Run,
    ablation_table,
    get,
    howto,
    run_row,
    select_runs,
    skipped_note,
)
from colorbench.report.load import Value
from colorbench.report.spec import spec
from colorbench.tables import Cell, Column, Table

LAMBDAS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _half(v: Value) -> float | None:
    """Half-width of v's 95% interval: bootstrap when present, else 1.96·std/√n."""
    if v.lo is not None and v.hi is not None:
        return (v.hi - v.lo) / 2
    if v.std is not None and v.n and v.n > 1:
        return 1.96 * v.std / math.sqrt(v.n)
    return None


def paired_delta(run: Run, ref: Run, method: str, metric: str) -> Cell | None:
    """Mean per-image difference run − ref of `method`'s `metric` on the images both runs
    scored, with a bootstrap 95% interval (None without both runs' per-image csvs)."""
    from colorbench.metrics.stats import paired_test

    a, b = run.per_image(method), ref.per_image(method)
    if a is None or b is None or metric not in a.columns or metric not in b.columns:
        return None
    both = a[["image", metric]].merge(b[["image", metric]], on="image", suffixes=("", "_ref"))
    if both.empty:
        return None
    t = paired_test(both[metric].to_numpy(), both[f"{metric}_ref"].to_numpy())
    lo, hi = t["ci95"] or (None, None)
    return Cell(t["mean_diff"], lo, hi, t["n"])


def delta_cell(v: Value, ref: Value) -> Cell:
    """v − ref with an unpaired normal 95% interval, when per-image values are missing
    (conservative: the runs score the same test images)."""
    if not (v.available and ref.available):
        return Cell(reason="needs both runs' values")
    h1, h0 = _half(v), _half(ref)
    d = float(v.mean) - float(ref.mean)  # type: ignore[arg-type]
    if h1 is None or h0 is None:
        return Cell(d)
    h = math.hypot(h1, h0)
    return Cell(d, d - h, d + h)


def gradient_balance(logs_dir: Path | None) -> str | None:
    """The current fg run's balance: mean ‖∇ edge term‖ / ‖∇ 100·L1‖ on the generator output
    over the logged GAN steps (logs/train_fg), as a sentence; None without those logs."""
    from colorbench.report.load import load_training_logs

    curves = load_training_logs(logs_dir).get("train_fg", {}) if logs_dir else {}
    edge, l1 = curves.get("gan/grad_edge"), curves.get("gan/grad_l1")
    if edge is None or l1 is None:
        return None
    both = edge.merge(l1, on="step", suffixes=("_edge", "_l1"))
    both = both[both["value_l1"] > 0]
    if both.empty:
        return None
    ratio = float((both["value_edge"] / both["value_l1"]).mean())
    return (
        f"Current run: the edge term's gradient on the generator output averaged {ratio:.2f}× "
        f"the L1 term's over {len(both)} logged GAN steps."
    )


def edge_table(
    runs: list[Run], ctx: Context, from_experiments: bool, logs_dir: Path | None = None
) -> Table:
    """ParaColorizer Table IV: λ_edge sweep, SSIM (and PSNR) of the foreground GAN, and
    each λ's SSIM change against λ = 0 with its interval (does the sweep move fg?)."""
    keys = ["ssim", "psnr"]
    ssim = spec("ssim")
    table = ablation_table(
        "paracolorizer_table4",
        "Ablation: ParaColorizer Table IV layout (λ_edge sweep, foreground GAN outputs)",
        ctx,
        [Column.label("lambda_edge", "λ_edge")],
        [Column.metric(spec(k), header=f"fg {spec(k).label}") for k in keys]
        + [Column.metric(ssim, bold=False, header="Δ fg SSIM vs λ=0")],
    )
    seen: dict[float, Run] = {}
    for r in select_runs(runs, ctx.params, {"train_fg.lambda_edge"}):
        lam = get(r.params, "train_fg.lambda_edge")
        if isinstance(lam, (int, float)) and "fg" in r.results.methods:
            seen.setdefault(float(lam), r)
    ref = seen.get(0.0)
    paired = 0
    for lam in sorted(seen):
        row = run_row([f"{lam:.2f}"], seen[lam], "fg", keys)
        if ref is None:
            row.append(Cell(reason="no λ = 0 run"))
        else:
            delta = paired_delta(seen[lam], ref, "fg", "ssim")
            paired += delta is not None
            v, v0 = seen[lam].results.value("fg", "ssim"), ref.results.value("fg", "ssim")
            row.append(delta if delta is not None else delta_cell(v, v0))
        table.add_row(row)
    scale = get(ctx.params, "train_fg.edge_scale", 250.0)
    table.notes = [
        "Rows: runs whose params differ from the current params.yaml only in "
        "train_fg.lambda_edge; metrics of method fg (the paper reports SSIM of the "
        "foreground colorizer).",
        f"The edge term weighs λ_edge × edge_scale ({scale:g}): at λ_edge = 1 its gradient "
        "on the generator output is about that of 100·L1 (logged per step as "
        "gan/grad_edge and gan/grad_l1 in logs/train_fg).",
        *([balance] if (balance := gradient_balance(logs_dir)) else []),
        "Δ vs λ=0: mean per-image SSIM difference on the same test images with a paired "
        "bootstrap 95% interval (each run's reports/per_image/fg.csv, from its experiment "
        "commit); without per-image files, the difference of means with an unpaired normal "
        f"interval. Paired rows: {paired} of {len(seen)}. An interval excluding 0 is a "
        "measurable effect of λ_edge.",
        *skipped_note(runs),
    ]
    missing = [lam for lam in LAMBDAS if lam not in seen]
    table.howto = howto(
        from_experiments,
        [f"dvc exp run -n fg-edge-{lam:g} -S train_fg.lambda_edge={lam:g}" for lam in missing],
    )
    return table


VERSIONS = {
    "V1": "V1: pix2pix U-Net, no pretraining, crops, L1",
    "V2": "V2: Res-UNet, unbalanced, no edge loss",
    "V3": "V3: self-attention Res-UNet + edge loss",
}


def fg_version(params: dict) -> str:
    """The §V-A version the fg colorizer of a run trains (a key of VERSIONS, or a label)."""
    if str(get(params, "train_fg.version", "v3")) == "v2":
        return "V2"
    arch = get(params, "train_fg.generator.arch", "resunet_attn")
    return "V3" if arch == "resunet_attn" else f"fg with generator {arch}"


def arch_table(runs: list[Run], ctx: Context, from_experiments: bool) -> Table:
    """ParaColorizer's generator versions V1/V2/V3 (§V-A, Fig. 9): V1 is the `unet`
    colorizer of a run, V2 and V3 its fg colorizer under train_fg.version v2 / v3."""
    keys = ["delta_colorful", "fid", "evaluator_fd", "lpips", "psnr", "ssim"]
    table = ablation_table(
        "paracolorizer_versions",
        "Ablation: ParaColorizer generator versions V1/V2/V3",
        ctx,
        [Column.label("arch", "Version"), Column.label("method", "Method")],
        [Column.metric(spec(k)) for k in keys],
    )
    allowed = {"train_fg.version", "train_fg.generator.arch"}
    seen: dict[str, tuple[Run, str]] = {}
    for r in select_runs(runs, ctx.params, allowed):
        if "fg" in r.results.methods:
            seen.setdefault(fg_version(r.params), (r, "fg"))
        if "unet" in r.results.methods:
            seen.setdefault("V1", (r, "unet"))
    order = list(VERSIONS) + sorted(a for a in seen if a not in VERSIONS)
    for version in order:
        if version in seen:
            r, method = seen[version]
            table.add_row(run_row([VERSIONS.get(version, version), method], r, method, keys))
    table.notes = [
        "V1 is the `unet` colorizer (params train_unet: pix2pix U-Net trained adversarially "
        "from scratch on fg's data with crops, L1 only); V2 and V3 are the fg colorizer of "
        "runs differing from params.yaml only in train_fg.version (v2: Res-UNet without "
        "self-attention, unbalanced training, no edge loss). The paper's V2 also added "
        "Places to the background pipeline: our bg colorizer has it in every version.",
        ctx.fid_note(),
        FD_NOTE_SHORT,
        *skipped_note(runs),
    ]
    cmds = [] if "V2" in seen else ["dvc exp run -n fg-v2 -S train_fg.version=v2"]
    table.howto = howto(from_experiments, cmds)
    return table
