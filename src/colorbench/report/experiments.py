"""DVC experiments -> ablation tables (ParaColorizer Table IV, the V1/V2/V3 generators,
SCGAN Table II).

`dvc exp show --json` (dvc 3.x, dvc/repo/experiments/serialize.py) prints a list of
ExpState objects:

    {"rev": "workspace" | sha, "name": str | null, "error": {...} | null,
     "data": {"rev", "timestamp", "params": {"params.yaml": {"data": {...}} | {"error"}},
              "metrics": {"reports/metrics.json": {"data": {...}} | {"error": {...}}},
              "deps", "outs", "meta"},
     "experiments": [{"name", "executor": {"state": ...} | null, "revs": [ExpState, ...]}]}

The first entry is the workspace, then one per baseline commit with its experiments.
DVC keeps only scalars of a metrics file, so ci95 lists (and null means) are dropped:
tables built from experiments show means without intervals. The parser tolerates any
piece being missing.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colorbench.errors import ColorbenchError
from colorbench.report.content import Context
from colorbench.report.load import Results, Value, results_from_dict
from colorbench.report.spec import spec
from colorbench.report.tables import Cell, Column, Table

METRICS_FILE = "reports/metrics.json"
PARAMS_FILE = "params.yaml"


@dataclass
class Run:
    name: str
    rev: str
    kind: str  # workspace | baseline | experiment
    params: dict[str, Any]
    results: Results | None
    problem: str | None = None  # why it has no results


def run_exp_show(repo: str | os.PathLike = ".", timeout: float = 600) -> Any:
    """Run `dvc exp show --json` in `repo` with this interpreter's dvc."""
    cmd = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
    try:
        proc = subprocess.run(
            cmd, cwd=repo, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ColorbenchError(f"`dvc exp show --json` failed to run ({exc})") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ColorbenchError(
            f"`dvc exp show --json` failed in {Path(repo).resolve()}: {last}; "
            "run `colorbench report --experiments` from the repository root"
        )
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise ColorbenchError(f"`dvc exp show --json` printed no valid JSON ({exc})") from exc


def load_exp_json(path: str | os.PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ColorbenchError(f"{path}: not a readable `dvc exp show --json` dump ({exc})") from exc


def _file_data(files: Any, wanted: str) -> tuple[Any, str | None]:
    """data of one params/metrics file of an ExpState: (data, error message)."""
    if not isinstance(files, dict) or not files:
        return None, f"no {wanted}"
    entry = files.get(wanted)
    if entry is None:  # tolerate other path spellings (e.g. run from a subdirectory)
        matches = [v for k, v in files.items() if str(k).replace("\\", "/").endswith(wanted)]
        entry = matches[0] if matches else None
    if not isinstance(entry, dict):
        return None, f"no {wanted}"
    if entry.get("error"):
        err = entry["error"]
        msg = err.get("msg") or err.get("type") if isinstance(err, dict) else str(err)
        return None, f"{wanted}: {msg}"
    return entry.get("data"), None


def _state_to_run(state: dict[str, Any], kind: str, exp_name: str | None = None) -> Run | None:
    if not isinstance(state, dict):
        return None
    rev = str(state.get("rev") or "?")
    name = state.get("name") or exp_name or (rev if rev == "workspace" else rev[:7])
    data = state.get("data") or {}
    params_data, _ = _file_data(data.get("params"), PARAMS_FILE)
    params = params_data if isinstance(params_data, dict) else {}
    problem = None
    results = None
    if state.get("error"):
        err = state["error"]
        problem = err.get("msg", "error") if isinstance(err, dict) else str(err)
    else:
        metrics_data, problem = _file_data(data.get("metrics"), METRICS_FILE)
        if problem is None:
            try:
                results = results_from_dict(metrics_data, f"{name}:{METRICS_FILE}")
            except ColorbenchError as exc:
                problem = str(exc)
    return Run(str(name), rev, kind, params, results, problem)


def parse_exp_show(data: Any) -> list[Run]:
    """Runs from `dvc exp show --json` output, workspace first; queued, running and failed
    experiments are kept with `problem` set so the report can say why they are missing."""
    if not isinstance(data, list):
        raise ColorbenchError("`dvc exp show --json` output is not a list; is this dvc 3.x?")
    runs: list[Run] = []
    for state in data:
        if not isinstance(state, dict):
            continue
        kind = "workspace" if state.get("rev") == "workspace" else "baseline"
        run = _state_to_run(state, kind)
        if run is not None:
            runs.append(run)
        for exp_range in state.get("experiments") or []:
            if not isinstance(exp_range, dict):
                continue
            revs = exp_range.get("revs") or []
            executor = exp_range.get("executor") or {}
            exec_state = executor.get("state") if isinstance(executor, dict) else None
            if not revs:
                continue
            run = _state_to_run(revs[0], "experiment", exp_range.get("name"))
            if run is None:
                continue
            if exec_state and exec_state != "success":
                run.results, run.problem = None, f"experiment {exec_state}"
            runs.append(run)
    return runs


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out.update(flatten(v, key))
            else:
                out[key] = v
    return out


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) != float(b)
    return a != b


def param_diff(params: dict[str, Any], reference: dict[str, Any]) -> set[str]:
    """Flat keys whose values differ; keys missing on either side are ignored (an older
    commit may predate a param)."""
    fa, fb = flatten(params), flatten(reference)
    return {k for k in fa.keys() & fb.keys() if _differs(fa[k], fb[k])}


def get(params: dict[str, Any], dotted: str, default: Any = None) -> Any:
    cur: Any = params
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def _select(runs: Iterable[Run], reference: dict[str, Any], allowed: set[str]) -> list[Run]:
    """Runs with results whose params differ from the reference only in `allowed` keys."""
    return [
        r
        for r in runs
        if r.results is not None and (not reference or param_diff(r.params, reference) <= allowed)
    ]


def _run_label(run: Run) -> str:
    return "current run (workspace)" if run.kind == "workspace" else f"{run.name} ({run.kind})"


def _ablation_table(
    name: str, title: str, ctx: Context, labels: list[Column], metrics: list[Column]
) -> Table:
    """Label columns, then Run and N (per row: runs may differ in N), then the metrics."""
    return Table(
        name,
        title,
        labels + [Column.label("run", "Run"), Column.label("n", "N")] + metrics,
        header_lines=[f"Profile: {ctx.profile or 'unknown'}", f"FID mode: {ctx.fid_mode}"],
    )


def _run_row(labels: list[str], run: Run, method: str, keys: list[str]) -> list[Cell]:
    """A row of `_ablation_table`: `method`'s metrics `keys` in `run`."""
    r = run.results
    n = Cell(text="?" if r.n_images is None else str(r.n_images))
    return (
        [Cell(text=t) for t in labels]
        + [Cell(text=_run_label(run)), n]
        + [value_cell(r.value(method, k)) for k in keys]
    )


def value_cell(v: Value) -> Cell:
    """A metric cell. DVC keeps only a metrics file's scalars, so experiment rows lack the
    bootstrap interval: they get the normal approximation mean ± 1.96·std/√n instead."""
    cell = Cell.of(v)
    if v.available and v.lo is None and v.std is not None and v.n and v.n > 1:
        half = 1.96 * v.std / math.sqrt(v.n)
        cell.lo, cell.hi = v.mean - half, v.mean + half  # type: ignore[operator]
    return cell


def _skipped_note(runs: list[Run]) -> list[str]:
    """Notes shared by the experiment tables: what is left out and why."""
    notes = ["Bold: best value of the column (↑ higher is better, ↓ lower is better)."]
    if any(r.kind != "workspace" and r.results is not None for r in runs):
        notes.append(
            "Rows from DVC experiments: DVC keeps only the scalars of reports/metrics.json, "
            "so their ± is the normal approximation 1.96·std/√n, not the bootstrap interval "
            "(`dvc exp apply NAME && dvc repro` restores a run's full results). Experiments "
            "that also change other params are left out."
        )
    bad = [f"{r.name}: {r.problem}" for r in runs if r.results is None and r.problem]
    if bad:
        notes.append("Runs without results (not shown): " + "; ".join(bad) + ".")
    return notes


FD_NOTE_SHORT = "FD-eval: Fréchet distance (evaluator features), not FID."

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
    table = _ablation_table(
        "scgan_table2",
        "Ablation: SCGAN Table II layout (switches of train_scgan)",
        ctx,
        [Column.label("setting", "Setting")],
        [Column.metric(spec(k)) for k in keys],
    )
    seen: dict[str, Run] = {}
    for r in _select(runs, ctx.params, {f"train_scgan.{k}" for k in SCGAN_KEYS}):
        if "scgan" in r.results.methods:
            seen.setdefault(scgan_setting(r.params, ctx.params), r)
    order = [s for s, _ in SCGAN_SETTINGS] + sorted(
        s for s in seen if s not in dict(SCGAN_SETTINGS)
    )
    for setting in order:
        if setting in seen:
            table.add_row(_run_row([setting], seen[setting], "scgan", keys))
    twice = 2 * _data_fraction(ctx.params)
    table.notes = [
        "Rows: runs differing from params.yaml only in train_scgan."
        + "{"
        + ",".join(SCGAN_KEYS)
        + "}; metrics of method scgan (RGB as generated, the paper's protocol).",
        *_skipped_note(runs),
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
    table.howto = _howto(from_experiments, cmds)
    return table


def _howto(from_experiments: bool, cmds: list[str]) -> list[str]:
    if not cmds:
        return []
    lead = (
        "Missing rows: run these experiments, then `colorbench report --experiments`"
        if from_experiments
        else "This table shows the current run only. Fill the other rows with DVC experiments, "
        "then run `colorbench report --experiments`"
    )
    lead += " (add `--queue` to each and then `dvc queue start` to run them in the background):"
    return [lead, "", "```sh", *cmds, "```"]


def ablation_tables(runs: list[Run], ctx: Context, from_experiments: bool) -> list[Table]:
    from colorbench.report.ablation_paracolorizer import arch_table, edge_table

    return [
        edge_table(runs, ctx, from_experiments),
        arch_table(runs, ctx, from_experiments),
        scgan_ablation_table(runs, ctx, from_experiments),
    ]


def current_run(results: Results, params: dict[str, Any]) -> Run:
    return Run("workspace", "workspace", "workspace", params, results)
