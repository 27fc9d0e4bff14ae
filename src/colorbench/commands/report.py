"""`colorbench report`: paper-style tables and figures from evaluated results."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands import _options as opt

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
    ("--saliency-pred", "outputs_saliency/scgan", "SCGAN's predicted saliency maps, <id>.png."),
    ("--saliency-gt", "data/saliency", "Ground-truth saliency maps, <id>.png."),
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
@opt.file_option(
    "--params",
    "params_file",
    default="params.yaml",
    help="params.yaml of the current run: profile, ablation settings, defaults "
    "for --grid-images and --baseline.",
)
@click.option(
    "--grid-images",
    type=click.IntRange(min=0),
    default=None,
    help="Images in the comparison grid [params report.grid_images, else 6].",
)
@click.option(
    "--baseline",
    default=None,
    help="Method the paired tests compare with [params report.baseline, else gray].",
)
def command(
    metrics: Path,
    per_image: Path,
    outputs: Path,
    prepared: Path,
    logs: Path,
    saliency_pred: Path,
    saliency_gt: Path,
    out: Path,
    experiments: bool,
    exp_json: Path | None,
    params_file: Path,
    grid_images: int | None,
    baseline: str | None,
) -> None:
    """Write the report: tables (markdown, csv, LaTeX) and figures from evaluated results.

    \b
    Tables: ParaColorizer Table I and SCGAN Table I layouts, every metric, paired
    tests against the baseline, the ablations (ParaColorizer Tables IV and V, the
    generator versions, SCGAN Table II) and, apart, the papers' published numbers.
    Figures: comparison grid, CCI box plot, per-image PSNR/SSIM/LPIPS distributions,
    training curves, SCGAN weighted images (when saliency maps exist).

    \b
    Examples:
      colorbench report                      the same as the DVC stage `report`
      dvc exp run -S train_fg.lambda_edge=0.25 && colorbench report --experiments
    """
    from colorbench.params import load_params
    from colorbench.report import ReportConfig, build_report

    params = load_params(params_file) if params_file.is_file() else {}
    rp = params.get("report") or {}
    summary = build_report(
        ReportConfig(
            metrics=metrics,
            per_image=per_image,
            outputs=outputs,
            prepared=prepared,
            logs=logs,
            out=out,
            saliency_pred=saliency_pred,
            saliency_gt=saliency_gt,
            grid_images=grid_images if grid_images is not None else int(rp.get("grid_images", 6)),
            baseline=baseline or str(rp.get("baseline", "gray")),
            fid_mode=(params.get("evaluate") or {}).get("fid_mode"),
            experiments=experiments or exp_json is not None,
            exp_json=exp_json,
        ),
        params,
    )
    click.echo(
        f"{summary.readme}: {len(summary.tables)} table files, {len(summary.figures)} figures"
        + (f" ({len(summary.skipped)} not drawn, see the README)" if summary.skipped else "")
    )
