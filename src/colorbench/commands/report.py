"""`colorbench report`: paper-style tables and figures from evaluated results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.commands._bind import bind_params
from colorbench.metrics.pairing import FID_MODES

# (flag, default, help) of the folders read and the one written, as in ReportConfig.
FOLDERS = [
    ("--per-image", "reports/per_image", "Folder of per-image csvs, one <method>.csv each."),
    ("--outputs", "outputs", "Colourised images, outputs/<method>/<id>.png (comparison grid)."),
    (
        "--prepared",
        "data/prepared",
        "Prepared data: images/<id>.png ground truth and manifest.csv (test ids).",
    ),
    ("--logs", "logs", "dvclive training logs, logs/<stage>/plots/metrics/**/*.tsv (curves)."),
    (
        "--saliency-pred",
        "outputs_saliency/scgan",
        "The saliency maps SCGAN's saliency branch predicted for the test images (grey "
        "<id>.png), spelled ROOT/METHOD: with evaluation protocols the primary "
        "protocol's maps are read from ROOT/<protocol>/METHOD (what colorize_scgan writes "
        "with --saliency-out ROOT/<protocol>). The report draws them in the 'SCGAN weighted "
        "images' figure (colour × saliency, beside --saliency-gt); the saliency-agreement "
        "table comes from the metrics file.",
    ),
    ("--saliency-gt", "data/saliency", "Ground-truth saliency maps, <id>.png."),
    ("--study", "reports/study", "Human-evaluation tables of the `study` stage."),
    ("--crops", "data/crops", "The crops stage's folder (its weights_loaded.json)."),
    ("--out", "reports", "Writes OUT/README.md, OUT/tables/ and OUT/figures/ (nothing else)."),
]


@click.command("report")
@opt.file_option(
    "--metrics",
    default="reports/metrics_details.json",
    help="Set-level results of the evaluate stage (its details file).",
)
@opt.options(*(opt.dir_option(flag, default=d, help=h) for flag, d, h in FOLDERS))
@click.option(
    "--experiments",
    is_flag=True,
    help="Fill the ablation tables (λ_edge sweep, V1/V2/V3, SCGAN switches) from "
    "`dvc exp show --json` run in the current directory.",
)
@opt.file_option(
    "--exp-json",
    exists=True,
    help="Use a saved `dvc exp show --json` dump instead of running dvc (implies --experiments).",
)
@click.option(
    "--grid-images",
    type=click.IntRange(min=0),
    default=6,
    show_default=True,
    help="Images in the comparison grid [params report.grid_images].",
)
@click.option(
    "--baseline",
    default="gray",
    show_default=True,
    help="Method the paired tests compare with [params report.baseline].",
)
@click.option(
    "--fid-mode",
    type=click.Choice(FID_MODES),
    default=None,
    help="The FID protocol evaluate used, to flag stale metrics [params evaluate.fid_mode].",
)
@bind_params("report", keys={"fid_mode": "evaluate.fid_mode"}, default="params.yaml")
def command(experiments: bool, exp_json: Path | None, params: dict, **settings: Any) -> None:
    """Write the report: tables (markdown, csv, LaTeX) and figures from evaluated results.

    \b
    Tables: ParaColorizer Table I and SCGAN Table I layouts, every metric, paired
    tests against the baseline, the ablations (ParaColorizer Tables IV and V, the
    generator versions, SCGAN Table II) and, apart, the papers' published numbers.
    Figures: comparison grid, CCI box plot, per-image PSNR/SSIM/LPIPS distributions,
    training curves, SCGAN weighted images (when saliency maps exist).

    \b
    Examples:
      colorbench report                      the DVC stage `report` with its default paths
      dvc exp run -S train_fg.lambda_edge=0.25 && colorbench report --experiments
    """
    from colorbench.report import ReportConfig, build_report

    summary = build_report(
        ReportConfig(
            **settings, experiments=experiments or exp_json is not None, exp_json=exp_json
        ),
        params,
    )
    click.echo(
        f"{summary.readme}: {len(summary.tables)} table files, {len(summary.figures)} figures"
        + (f" ({len(summary.skipped)} not drawn, see the README)" if summary.skipped else "")
    )
