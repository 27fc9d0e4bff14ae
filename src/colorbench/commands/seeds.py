"""`colorbench seeds N`: train every method with N seeds (DVC experiments), write
reports/seeds.md."""

from __future__ import annotations

from pathlib import Path

import click

from colorbench.commands import _options as opt


@click.command("seeds")
@click.argument("n", type=click.IntRange(min=2))
@click.option("--start", default=0, show_default=True, type=int, help="First train_seed.")
@opt.file_option(
    "--out",
    required=True,
    help="The seed-variance report, e.g. reports/seeds.md (the report "
    "links it when it lies in the report's folder).",
)
@click.option(
    "--run/--no-run",
    default=True,
    show_default=True,
    help="Run the seeds that have no finished experiment yet (else only summarise).",
)
@opt.file_option(
    "--exp-json", exists=True, help="Summarise a saved `dvc exp show --json` dump (no dvc run)."
)
def command(n: int, start: int, out: Path, run: bool, exp_json: Path | None) -> None:
    """Seed variance: seeds START..START+N-1 of `train_seed`, one DVC experiment each.

    \b
    The committed run (HEAD's reports/metrics.json, made by `dvc repro`) counts for its
    own train_seed; every other seed is `dvc exp run --temp -S train_seed=S -n seed-S`:
    only the training stages and what follows re-run (data, split and evaluator keep
    `seed`), the workspace is left alone, and seeds that already have a finished
    experiment with the workspace's other params are reused. Then OUT gets, per method and headline
    metric, mean ± sd across seeds and whether the PSNR ranking and the papers' claims
    (fused beats fg and bg, SCGAN beats the rest, Table IV's trend) hold in every seed.
    The main report links OUT when it exists.

    \b
    Example:
      colorbench seeds 3 --out reports/seeds.md && colorbench report
    """
    from colorbench.report import seeds as sd
    from colorbench.report.experiments import load_exp_json, parse_exp_show, run_exp_show

    wanted = list(range(start, start + n))
    if exp_json is not None:
        runs = parse_exp_show(load_exp_json(exp_json))
    else:
        runs = parse_exp_show(run_exp_show())
        todo = [s for s in wanted if s not in sd.seed_runs(runs, wanted)]
        if todo and run:
            for seed in todo:
                click.echo(f"seed {seed}: {' '.join(sd.exp_command(seed))}", err=True)
                sd.run_seed(seed)
            runs = parse_exp_show(run_exp_show())
    sd.write(out, sd.render(runs, wanted, str(out)))
    click.echo(f"{out}: {len(sd.seed_runs(runs, wanted))} of {n} seeds")
