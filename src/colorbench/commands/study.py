"""`colorbench study build | serve | score`: blind human evaluation (ParaColorizer's fooling
test, SCGAN's perceptual ratings) run as a local web page."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from colorbench.commands import _options as opt
from colorbench.errors import ColorbenchError

# (flag, BuildConfig field, type, help); None defaults so a --protocol file can fill them.
NUMBERS = [
    ("--participants", "participants", 1, "Participants (one link each) [20]."),
    ("--batches", "batches", 1, "Scored batches of the fooling test [4]."),
    ("--per-batch", "per_batch", 1, "Pairs per batch [5]."),
    ("--trial", "trial", 0, "Practice pairs whose answers are shown [3]."),
    ("--groups", "groups", 0, "Rating groups [30]."),
    ("--fooling-checks", "fooling_checks", 0, "Planted obvious fakes in the fooling test [2]."),
    ("--rating-checks", "rating_checks", 0, "Rating groups with a planted obvious fake [1]."),
    ("--max-failed-checks", "max_failed_checks", 0, "Exclude participants failing more [0]."),
    ("--seed", "seed", None, "Seed of every random choice [0]."),
]


@click.group("study")
def command() -> None:
    """Blind human evaluation: build a study, serve it to participants, score it.

    \b
      colorbench study build --method fused --method scgan --out studies/pilot
      colorbench study serve studies/pilot          (prints one link per participant)
      colorbench study score studies/pilot
    Commit studies/<name>/ with its responses/: the DVC stage `study` puts the scores
    in the report.
    """


def _protocol(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ColorbenchError(f"cannot read protocol {path}: {exc}") from None
    known = {f.name for f in fields(_config_cls())}
    if not isinstance(data, dict) or set(data) - known:
        bad = sorted(set(data) - known) if isinstance(data, dict) else data
        raise ColorbenchError(f"{path}: unknown protocol keys {bad}; known: {sorted(known)}")
    return data


def _config_cls():
    from colorbench.study.design import BuildConfig

    return BuildConfig


@command.command("build")
@opt.dir_option(
    "--outputs",
    default=None,
    help="Methods' outputs, OUTPUTS/<method>/<id>.png, e.g. outputs/test (required, here or "
    "in --protocol).",
)
@opt.prepared_option(
    default=None,
    help="Prepared data: ground truth and manifest, e.g. data/prepared (required, here or in "
    "--protocol).",
)
@click.option("--method", "methods", multiple=True, help="A method to evaluate (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["fooling", "rating"]),
    help="Study kind (repeatable) [both].",
)
@opt.options(
    *(
        click.option(
            f, name, type=int if lo is None else click.IntRange(min=lo), default=None, help=h
        )
        for f, name, lo, h in NUMBERS
    )
)
@click.option("--split", default=None, help="Manifest split the images come from [test].")
@opt.file_option(
    "--protocol", exists=True, help="YAML with any of these settings (options override it)."
)
@opt.dir_option("--out", required=True, help="The study folder to create (e.g. studies/pilot).")
def build(protocol: Path | None, **kw: Any) -> None:
    """Build a seeded, blind, self-contained study folder."""
    from colorbench.study.design import build_study

    cfg = _protocol(protocol)
    given = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items() if v not in (None, ())
    }
    cfg.update(given)
    missing = [f"--{k}" for k in ("outputs", "prepared") if cfg.get(k) is None]
    if missing:  # no default folder: the person (or the protocol file) names each one
        raise click.UsageError(f"study build needs {' and '.join(missing)} (or in --protocol)")
    for k in ("outputs", "prepared", "out"):
        cfg[k] = Path(cfg[k])
    spec = build_study(_config_cls()(**cfg))
    n = {
        k: len(spec[k]["items" if k == "fooling" else "groups"])
        for k in ("fooling", "rating")
        if k in spec
    }
    click.echo(
        f"{cfg['out']}: {len(spec['participants'])} participants, {len(spec['images'])} images, "
        + ", ".join(f"{k} {v}" for k, v in n.items())
        + f"; serve it with `colorbench study serve {cfg['out']}`"
    )


@command.command("serve")
@click.argument("study", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 shares it on your LAN.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--public-host", default=None, help="Host name to print in the links (e.g. your LAN IP)."
)
def serve(study: Path, host: str, port: int, public_host: str | None) -> None:
    """Serve the study page; prints one link per participant. Ctrl-C stops it."""
    from colorbench.study.server import links, make_server

    try:
        server = make_server(study, host, port)
    except OSError as exc:
        raise ColorbenchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"serving {study} on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    for pid, link in links(server, public_host).items():
        click.echo(f"{pid}\t{link}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped; answers are in " + str(study / "responses"))
    finally:
        server.server_close()


@command.command("score")
@click.argument("study", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0))
@opt.dir_option("--out", default=None, help="Also write the tables (md, csv, LaTeX) here.")
@opt.file_option("--json", "json_out", default=None, help="Write the scores as JSON.")
def score(study: Path, bootstrap: int, out: Path | None, json_out: Path | None) -> None:
    """Score a study: Table III and F, mean ratings, intervals, agreement, exclusions."""
    from colorbench.atomic import atomic_file
    from colorbench.study.scoring import score_study

    s = score_study(study, bootstrap)
    excluded = [p for p, a in s["participants"].items() if a["excluded"]]
    click.echo(
        f"{s['name']}: participants included: {len(s['included'])}"
        + (f", excluded: {', '.join(excluded)}" if excluded else "")
    )
    for p in s["problems"]:
        click.echo(f"  note: {p}")
    for m, r in (s.get("fooling") or {}).get("methods", {}).items():
        click.echo(
            f"  fooling {m}: F = {_fmt(r['F'])} over {r['F']['n']} decisions, cases {r['total']}"
        )
    for src, crit in (s.get("rating") or {}).get("means", {}).items():
        click.echo(f"  ratings {src}: " + ", ".join(f"{c} {_fmt(v)}" for c, v in crit.items()))
    if json_out:
        with atomic_file(json_out, "w", encoding="utf-8") as fh:
            json.dump(s, fh, indent=1)
    if out:
        from colorbench.atomic import atomic_dir
        from colorbench.study.tables import study_tables
        from colorbench.tables import write_table

        with atomic_dir(out) as tmp:
            for t in study_tables(s):
                write_table(t, tmp)
        click.echo(f"tables in {out}")


@command.command("tables")
@opt.dir_option("--studies", required=True, help="Committed studies, <dir>/<name>/responses/.")
@opt.dir_option("--out", required=True, help="The tables, e.g. reports/study (replaced).")
def tables(studies: Path, out: Path) -> None:
    """Score every study of STUDIES into OUT: Table III, SCGAN's perceptual columns,
    agreement, participants (a README saying so when there is none): the DVC stage."""
    from colorbench.study.tables import write_study_reports

    scores = write_study_reports(studies, out)
    names = ", ".join(s["name"] for s in scores) or "none with responses"
    n = len(scores)
    click.echo(f"study: scored {n} stud{'y' if n == 1 else 'ies'} ({names}) -> {out}")


def _fmt(v: dict[str, Any]) -> str:
    if v["mean"] is None:
        return "n/a"
    ci = v.get("ci95")
    return f"{v['mean']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
