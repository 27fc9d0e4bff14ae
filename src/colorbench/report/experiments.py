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

import contextlib
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
from colorbench.params import lookup as get  # noqa: F401  (the report's name for it)
from colorbench.report.content import Context
from colorbench.report.load import Results, Value, results_from_dict
from colorbench.tables import Cell, Column, Table

METRICS_FILE = "reports/metrics.json"
DETAILS_FILE = "reports/metrics_details.json"
PER_IMAGE_DIR = "reports/per_image"
PARAMS_FILE = "params.yaml"


@dataclass
class Run:
    name: str
    rev: str
    kind: str  # workspace | baseline | experiment
    params: dict[str, Any]
    results: Results | None
    problem: str | None = None  # why it has no results
    repo: Path | None = None  # where its committed files (details, per-image csvs) are read

    def read(self, rel: str) -> str | None:
        """A file of this run: the workspace's, or the one committed in its experiment."""
        if self.repo is None:
            return None
        if self.kind == "workspace":
            path = self.repo / rel
            return path.read_text(encoding="utf-8") if path.is_file() else None
        try:
            proc = subprocess.run(
                ["git", "show", f"{self.rev}:{rel}"],
                cwd=self.repo, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode == 0 else None

    def per_image(self, method: str) -> Any:
        """The run's per-image csv of `method` as a DataFrame, or None."""
        import io

        import pandas as pd

        text = self.read(f"{PER_IMAGE_DIR}/{method}.csv")
        if not text:
            return None
        try:
            df = pd.read_csv(io.StringIO(text), dtype={"image": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
        return df if "image" in df.columns else None


def with_details(runs: list[Run], repo: str | os.PathLike) -> None:
    """Give experiment and baseline runs their committed metrics_details.json (intervals,
    std, n: `dvc exp show` carries only the headline means) and a repo to read from."""
    for r in runs:
        r.repo = Path(repo)
        if r.kind == "workspace" or r.results is None:
            continue
        text = r.read(DETAILS_FILE)
        if not text:
            continue
        with contextlib.suppress(ColorbenchError, json.JSONDecodeError):  # else: the means
            r.results = results_from_dict(json.loads(text), f"{r.name}:{DETAILS_FILE}")


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


def select_runs(runs: Iterable[Run], reference: dict[str, Any], allowed: set[str]) -> list[Run]:
    """Runs with results whose params differ from the reference only in `allowed` keys."""
    return [
        r
        for r in runs
        if r.results is not None and (not reference or param_diff(r.params, reference) <= allowed)
    ]


def _run_label(run: Run) -> str:
    return "current run (workspace)" if run.kind == "workspace" else f"{run.name} ({run.kind})"


def ablation_table(
    name: str, title: str, ctx: Context, labels: list[Column], metrics: list[Column]
) -> Table:
    """Label columns, then Run and N (per row: runs may differ in N), then the metrics."""
    return Table(
        name,
        title,
        labels + [Column.label("run", "Run"), Column.label("n", "N")] + metrics,
        header_lines=[f"Profile: {ctx.profile or 'unknown'}", f"FID mode: {ctx.fid_mode}"],
    )


def run_row(labels: list[str], run: Run, method: str, keys: list[str]) -> list[Cell]:
    """A row of `ablation_table`: `method`'s metrics `keys` in `run`."""
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


def skipped_note(runs: list[Run]) -> list[str]:
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


def howto(from_experiments: bool, cmds: list[str]) -> list[str]:
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


def current_run(
    results: Results, params: dict[str, Any], repo: str | os.PathLike | None = None
) -> Run:
    return Run(
        "workspace", "workspace", "workspace", params, results, repo=Path(repo) if repo else None
    )
