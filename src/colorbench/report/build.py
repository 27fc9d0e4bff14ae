"""`colorbench report` / stage `report`: read evaluated results, write reports/tables,
reports/figures and reports/README.md (each atomically; nothing else under reports/)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from colorbench.atomic import atomic_dir, atomic_file
from colorbench.errors import ColorbenchError
from colorbench.report import content, figures
from colorbench.report.ablation_paracolorizer import arch_table, edge_table
from colorbench.report.ablation_scgan import scgan_ablation_table
from colorbench.report.content import Context
from colorbench.report.experiments import (
    Run,
    current_run,
    load_exp_json,
    parse_exp_show,
    run_exp_show,
    with_details,
)
from colorbench.report.index import FigureEntry, IndexData, render_index
from colorbench.report.load import Results, load_metrics, load_per_image, load_training_logs
from colorbench.report.provenance import global_net_note, stamp_lines, weights_section
from colorbench.report.reference import reference_tables
from colorbench.tables import Table, write_table

DISTRIBUTION_METRICS = ["psnr", "ssim", "lpips"]
# The papers' main tables, each measured on the protocol params' report.tables names for it
# (the primary protocol when unnamed).
PAPER_TABLES = {
    "paracolorizer_table1": content.paracolorizer_table1,
    "paracolorizer_table2": content.paracolorizer_table2,
    "scgan_table1": content.scgan_table1,
}


def _table_protocol(params: dict[str, Any], table: str, results: Results) -> str | None:
    chosen = ((params.get("report") or {}).get("tables") or {}).get(table)
    if chosen and results.protocols and chosen not in results.protocols:
        raise ColorbenchError(
            f"report.tables.{table} names protocol {chosen!r}, which {results.source} does not "
            f"hold ({', '.join(results.protocols)}); run `dvc repro evaluate`"
        )
    return chosen or results.protocol


@dataclass
class ReportConfig:
    """Every folder the report reads or writes; dvc.yaml's `report` stage spells them."""

    metrics: Path  # the evaluate stage's metrics_details.json
    per_image: Path
    outputs: Path
    prepared: Path
    logs: Path
    out: Path
    saliency_pred: Path  # SCGAN's predicted maps
    saliency_gt: Path
    study: Path  # the `study` stage's human-evaluation tables
    crops: Path  # read for its weights_loaded.json only
    grid_images: int = 6
    baseline: str = "gray"
    fid_mode: str | None = None  # params evaluate.fid_mode, to flag a stale metrics.json
    experiments: bool = False  # fill ablation tables from `dvc exp show --json`
    exp_json: Path | None = None  # a saved `dvc exp show --json` instead of running dvc
    repo: Path = Path(".")


@dataclass
class ReportSummary:
    readme: Path
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _runs(cfg: ReportConfig, results: Results, params: dict[str, Any]) -> tuple[list[Run], str]:
    if not cfg.experiments:
        return [
            current_run(results, params, cfg.repo)
        ], "current run only (`--experiments` adds DVC experiments)"
    data = load_exp_json(cfg.exp_json) if cfg.exp_json else run_exp_show(cfg.repo)
    runs = parse_exp_show(data)
    with_details(runs, cfg.repo)
    # exp show drops non-scalars (intervals): the workspace row uses the details file.
    workspace = [r for r in runs if r.kind == "workspace"]
    for r in workspace:
        r.results, r.problem = results, None
        r.params = params or r.params
    if not workspace:
        runs.insert(0, current_run(results, params, cfg.repo))
    n_exp = sum(r.kind == "experiment" for r in runs)
    return (
        runs,
        f"current run + DVC experiments ({len(runs)} rows from `dvc exp show`, {n_exp} experiments)",
    )


def ablation_tables(
    runs: list[Run], ctx: Context, from_experiments: bool, logs_dir: Path | None = None
) -> list[Table]:
    """ParaColorizer's λ_edge and generator-version tables and SCGAN's Table II."""
    return [
        edge_table(runs, ctx, from_experiments, logs_dir),
        arch_table(runs, ctx, from_experiments),
        scgan_ablation_table(runs, ctx, from_experiments),
    ]


def _draw_figures(
    cfg: ReportConfig,
    results: Results,
    per_image: dict[str, Any],
    folder: Path,
) -> tuple[list[FigureEntry], list[str]]:
    from tqdm import tqdm

    drawn: list[FigureEntry] = []
    skipped: list[str] = []
    gt_dir = cfg.prepared / "images"
    methods = [m for m in results.method_names if (cfg.outputs / m).is_dir()]
    ids = figures.choose_ids(
        figures.grid_candidates(cfg.prepared, cfg.outputs, methods, gt_dir), cfg.grid_images
    )
    logs = load_training_logs(cfg.logs)
    steps = [
        ("grid", ""),
        ("cci", ""),
        *[("dist", m) for m in DISTRIBUTION_METRICS],
        *[("curves", stage) for stage in logs],
        ("saliency", ""),
    ]
    for kind, step in tqdm(steps, desc="report figures", file=sys.stderr, leave=False):
        if kind == "grid":
            if cfg.grid_images == 0:
                skipped.append("comparison grid: report.grid_images is 0")
            elif ids and methods:
                figures.comparison_grid(
                    ids, methods, cfg.outputs, gt_dir, folder / "comparison_grid.png"
                )
                drawn.append(
                    FigureEntry("comparison_grid.png", f"Comparison grid ({len(ids)} test images)")
                )
            else:
                skipped.append(
                    f"comparison grid: no test images with outputs under {cfg.outputs} and "
                    f"ground truth under {gt_dir}"
                )
        elif kind == "cci":
            if figures.cci_boxplot(
                per_image, folder / "cci_boxplot.png", results.gt_colorfulness()
            ):
                drawn.append(
                    FigureEntry(
                        "cci_boxplot.png", "CCI (colourfulness) per method, band 16–20 shaded"
                    )
                )
            else:
                skipped.append("CCI box plot: no per-image `colorfulness` column")
        elif kind == "dist":
            name = f"dist_{step}.png"
            if figures.distribution_plot(per_image, step, folder / name):
                drawn.append(FigureEntry(name, f"Per-image {step.upper()} per method"))
            else:
                skipped.append(f"{step} distribution: no per-image `{step}` values")
        elif kind == "saliency":
            if not cfg.saliency_pred.is_dir():
                skipped.append(
                    f"SCGAN weighted images: no predicted saliency in {cfg.saliency_pred}"
                )
                continue
            candidates = figures.grid_candidates(cfg.prepared, cfg.outputs, ["scgan"], gt_dir)
            sal_ids = figures.choose_ids(
                [i for i in candidates if (cfg.saliency_pred / f"{i}.png").is_file()],
                cfg.grid_images or 6,
            )
            sal_gt = cfg.saliency_gt if cfg.saliency_gt.is_dir() else None
            name = "scgan_weighted.png"
            if figures.saliency_figure(
                sal_ids, cfg.outputs, cfg.saliency_pred, sal_gt, gt_dir, folder / name
            ):
                drawn.append(FigureEntry(name, "SCGAN weighted images (colour × saliency)"))
            else:
                skipped.append(
                    "SCGAN weighted images: no test image has an scgan output, a saliency map "
                    "and ground truth"
                )
        else:  # kind == "curves": a training stage's dvclive logs
            name = f"curves_{step}.png"
            figures.training_curves(step, logs[step], folder / name)
            drawn.append(FigureEntry(name, f"Training curves: {step}"))
    if not logs:
        skipped.append(f"training curves: no dvclive logs under {cfg.logs}/<stage>/plots/metrics")
    return drawn, skipped


def _human_section(study: Path, out: Path) -> str:
    """The `study` stage's section (its tables inlined), or why there is none."""
    readme = study / "README.md"
    if not readme.is_file():
        return f"Not scored: no {readme} (run `dvc repro study`)."
    try:
        where = study.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        where = study.as_posix()
    text = readme.read_text(encoding="utf-8").strip()
    if any(study.glob("*.csv")):
        text += f"\n\nEvery table as csv and LaTeX: [{where}/]({where}/)."
    return text


def provenance_lines(cfg: ReportConfig) -> tuple[bool, list[str]]:
    """(stand-in weights used?, the report's provenance section)."""
    stand_in, lines = weights_section([cfg.logs, cfg.per_image, cfg.saliency_gt, cfg.crops])
    note = global_net_note(cfg.logs)
    return stand_in, ([note, ""] if note else []) + lines


def build_report(cfg: ReportConfig, params: dict[str, Any] | None = None) -> ReportSummary:
    """Write the whole report; returns what was written."""
    params = params or {}
    if cfg.grid_images < 0:
        raise ColorbenchError(f"grid_images must be >= 0, got {cfg.grid_images}")
    results = load_metrics(cfg.metrics)
    if not results.methods:
        raise ColorbenchError(f"{cfg.metrics} lists no methods; run `dvc repro evaluate` first")
    per_image = load_per_image(cfg.per_image)
    ctx = Context.from_results(results, params, cfg.baseline, cfg.fid_mode)
    runs, runs_note = _runs(cfg, results, params)
    if results.protocol:  # method folders of the primary protocol: outputs/<protocol>/<method>
        sal = cfg.saliency_pred
        cfg = replace(
            cfg,
            outputs=cfg.outputs / results.protocol,
            saliency_pred=sal.parent / results.protocol / sal.name,
        )

    main = []
    for table, make in PAPER_TABLES.items():
        on = results.for_protocol(_table_protocol(params, table, results))
        main.append(make(on, Context.from_results(on, params, cfg.baseline, cfg.fid_mode)))
    measured = [content.all_metrics_table(results, ctx), content.paired_table(results, ctx)]
    saliency = content.saliency_table(results, ctx)
    if saliency is not None:
        main.append(saliency)
    ablations = [
        *ablation_tables(runs, ctx, cfg.experiments, cfg.logs),
        content.overlay_fusion_table(results, ctx),
    ]
    published = reference_tables()
    notes = []
    if cfg.fid_mode and results.fid_mode and cfg.fid_mode != results.fid_mode:
        notes.append(
            f"params.yaml sets evaluate.fid_mode = {cfg.fid_mode} but {cfg.metrics} was computed "
            f"in mode {results.fid_mode}: run `dvc repro` to re-evaluate."
        )
    if cfg.baseline not in results.methods:
        notes.append(
            f"The baseline '{cfg.baseline}' (report.baseline) is not among the evaluated methods."
        )
    missing_pi = [m for m in results.methods if m not in per_image]
    if missing_pi:
        notes.append(f"No per-image csv in {cfg.per_image} for: {', '.join(missing_pi)}.")
    notes.append(
        "Shares (Top-1, CCI ratio) are shown in % in markdown/LaTeX and as fractions in the csv files."
    )
    if (cfg.out / "seeds.md").is_file():
        notes.append(
            "Seed variance (mean ± sd across training seeds, and which conclusions survive "
            "it): [seeds.md](seeds.md), written by `colorbench seeds N --out reports/seeds.md`."
        )

    stand_in, provenance = provenance_lines(cfg)
    summary = ReportSummary(readme=cfg.out / "README.md")
    with atomic_dir(cfg.out / "tables") as tdir, atomic_dir(cfg.out / "figures") as fdir:
        for t in [*main, *measured, *ablations, *published]:
            summary.tables += [cfg.out / "tables" / p.name for p in write_table(t, tdir)]
        drawn, skipped = _draw_figures(cfg, results, per_image, fdir)
    summary.figures = [cfg.out / "figures" / f.file for f in drawn]
    summary.skipped = skipped
    index = IndexData(
        human=_human_section(cfg.study, cfg.out),
        ctx=ctx,
        methods=results.method_names,
        source=str(cfg.metrics),
        runs_note=runs_note,
        main=main,
        measured=measured,
        ablations=ablations,
        published=published,
        figures=drawn,
        skipped=skipped,
        notes=notes,
        stamp=stamp_lines(stand_in),
        provenance=provenance,
    )
    with atomic_file(summary.readme, "w", encoding="utf-8") as fh:
        fh.write(render_index(index))
    return summary
