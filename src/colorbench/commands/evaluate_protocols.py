"""`colorbench evaluate-protocols`: every method of OUTPUTS/<protocol>/ on each evaluation
protocol of the params file (the DVC stage `evaluate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.commands._bind import CommaList, bind_params
from colorbench.metrics.pairing import FID_MODES


@click.command("evaluate-protocols")
@opt.dir_option("--outputs", required=True, exists=True,
                help="OUTPUTS/<protocol>/<method>/<id>.png, e.g. outputs.")  # fmt: skip
@opt.prepared_option(required=True, exists=True)
@opt.file_option("--metrics-json", required=True,
                 help="Headline means (DVC metrics), e.g. reports/metrics.json.")  # fmt: skip
@opt.file_option("--details-json", required=True,
                 help="Intervals, n, paired tests (the report reads it).")  # fmt: skip
@opt.dir_option("--per-image", required=True,
                help="Per-image csvs, [<protocol>/]<method>.csv (replaced atomically).")  # fmt: skip
@opt.file_option("--evaluator", "evaluator_path", default=None,
                 help="The synthetic profile's classifier, e.g. models/evaluator.pt.")  # fmt: skip
@opt.dir_option("--saliency-pred", "saliency_pred_dir", default=None,
                help="Predicted saliency maps, <dir>/<protocol>/<method>/<id>.png.")  # fmt: skip
@opt.dir_option("--saliency-gt", "saliency_gt_dir", default=None,
                help="Ground-truth saliency maps, <id>.png.")  # fmt: skip
@click.option("--metrics", type=CommaList(), default=None,
              help="Comma-separated metrics (default: all; a protocol's own list wins).")  # fmt: skip
@click.option("--fid-mode", type=click.Choice(FID_MODES), default="standard",
              show_default=True)  # fmt: skip
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0))
@opt.batch_size_option(32)
@opt.workers_option(2, "DataLoader worker processes.")
@opt.device_option()
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Bootstrap and selection seed."
)
@click.option("--profile", default="synthetic", show_default=True,
              help="synthetic: Top-1 and evaluator_fd use --evaluator.")  # fmt: skip
@click.option("--baseline", default="gray", show_default=True,
              help="Method the paired tests compare with [params report.baseline].")  # fmt: skip
@bind_params("evaluate", keys={"baseline": "report.baseline"})
def command(outputs: Path, prepared: Path, per_image: Path, params: dict, **settings: Any) -> None:
    """Evaluate each protocol's set: a metrics block per protocol, the first at the top."""
    import logging
    import sys

    from colorbench.metrics.stage import evaluate_protocols
    from colorbench.weights_manifest import write_ledger

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    result = evaluate_protocols(
        params,
        outputs_dir=outputs,
        prepared_dir=prepared,
        metrics_json=settings.pop("metrics_json"),
        per_image_dir=per_image,
        **settings,
    )
    write_ledger(per_image)  # the pretrained files it loaded, which the report lists
    click.echo(f"evaluated {len(result['methods'])} method(s) on {len(result['protocols'])} "
               f"protocol(s) -> {per_image}", err=True)  # fmt: skip
