"""Seed variance: every method trained with several `train_seed`s, as DVC experiments on the
same data, split and evaluator -> reports/seeds.md (mean ± sd across seeds, and whether the
method ranking and the papers' claims survive the training noise).

The committed pipeline run (HEAD) counts for its own `train_seed`; every other seed is
`dvc exp run --temp -S train_seed=S -n seed-S` (the workspace is untouched; DVC's run cache
skips the unchanged data stages). The summary reads `dvc exp show --json`, whose
rows carry the headline means of reports/metrics.json.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from colorbench.atomic import atomic_file
from colorbench.errors import ColorbenchError
from colorbench.metrics.stage import HEADLINE
from colorbench.report.experiments import Run, get, param_diff
from colorbench.report.spec import method_order, spec

SEED_PARAM = "train_seed"
EDGE_PARAM = "train_fg.lambda_edge"


def exp_name(seed: int) -> str:
    return f"seed-{seed}"


def exp_command(seed: int) -> list[str]:
    return ["dvc", "exp", "run", "--temp", "-S", f"{SEED_PARAM}={seed}", "-n", exp_name(seed)]


def reproduce_command(seed: int, run: Run) -> str:
    """How to get `run` (seed `seed`) again: its experiment, or the committed pipeline run."""
    if run.kind == "baseline":
        return f"dvc repro  # {SEED_PARAM}={seed}: the committed pipeline run (dvc.lock)"
    return " ".join(exp_command(seed))


def run_seed(seed: int, repo: str | Path = ".") -> None:
    """One training seed as a DVC experiment (in a temporary copy of the workspace)."""
    cmd = [sys.executable, "-m", *exp_command(seed)]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ColorbenchError(f"`{' '.join(exp_command(seed))}` failed: {last}")


def seed_runs(runs: Sequence[Run], seeds: Sequence[int]) -> dict[int, Run]:
    """Per wanted seed, the committed pipeline run (HEAD, `dvc repro`'s results) when it has
    that seed, else the newest experiment with results; only runs whose other params equal
    the workspace's count (so a stale run from other settings is never mixed in)."""
    workspace = next((r for r in runs if r.kind == "workspace"), None)
    head = next((r for r in runs if r.kind == "baseline"), None)
    reference = workspace.params if workspace else {}
    out: dict[int, Run] = {}
    for run in runs:
        seed = get(run.params, SEED_PARAM)
        if run is not head and run.kind != "experiment":
            continue
        if run.results is None or seed not in seeds or seed in out:
            continue
        if not reference or param_diff(run.params, reference) <= {SEED_PARAM}:
            out[int(seed)] = run
    return out


@dataclass
class Stat:
    values: list[float]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def sd(self) -> float:
        n = len(self.values)
        if n < 2:
            return math.nan
        return math.sqrt(sum((v - self.mean) ** 2 for v in self.values) / (n - 1))


def collect(by_seed: dict[int, Run]) -> dict[str, dict[str, dict[int, float]]]:
    """{method: {metric: {seed: mean}}} over the headline metrics that were measured."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for seed, run in sorted(by_seed.items()):
        for method in run.results.method_names:
            for metric in HEADLINE:
                value = run.results.value(method, metric).mean
                if value is not None:
                    out.setdefault(method, {}).setdefault(metric, {})[seed] = value
    return out


def _fmt(x: float, metric: str) -> str:
    if math.isnan(x):
        return "–"
    s = spec(metric)
    return f"{x * s.scale:.{s.digits}f}"


def _better(a: float, b: float, metric: str) -> bool:
    return a > b if spec(metric).higher_is_better else a < b


def _verdict(held: int, n: int) -> str:
    if held == n:
        return f"holds in all {n} seeds"
    if held == 0:
        return f"fails in all {n} seeds"
    return f"holds in {held} of {n} seeds: **not robust to seed noise**"


def claim_lines(values: dict[str, dict[str, dict[int, float]]], seeds: list[int]) -> list[str]:
    """The papers' method claims, checked seed by seed on PSNR and SSIM."""
    lines = []
    for metric in ("psnr", "ssim"):
        v = {m: vals.get(metric, {}) for m, vals in values.items()}
        common = [s for s in seeds if all(s in v.get(m, {}) for m in ("fused", "fg", "bg"))]
        if common:
            held = sum(
                _better(v["fused"][s], v["fg"][s], metric) and _better(v["fused"][s], v["bg"][s], metric)
                for s in common
            )  # fmt: skip
            lines.append(f"- fused better than both inputs (fg, bg) on {spec(metric).label}: "
                         f"{_verdict(held, len(common))}.")  # fmt: skip
        others = [m for m in v if m not in ("scgan", "gray") and v[m]]
        common = [s for s in seeds if s in v.get("scgan", {}) and all(s in v[m] for m in others)]
        if common and others:
            held = sum(all(_better(v["scgan"][s], v[m][s], metric) for m in others) for s in common)
            lines.append(f"- SCGAN better than every other method on {spec(metric).label}: "
                         f"{_verdict(held, len(common))}.")  # fmt: skip
    return lines


def ranking_lines(values: dict[str, dict[str, dict[int, float]]], seeds: list[int]) -> list[str]:
    psnr = {m: vals["psnr"] for m, vals in values.items() if "psnr" in vals}
    common = [s for s in seeds if all(s in d for d in psnr.values())]
    if not common:
        return ["- PSNR ranking: no seed has PSNR for every method."]
    orders = [tuple(sorted(psnr, key=lambda m, s=s: -psnr[m][s])) for s in common]
    mean_order = sorted(psnr, key=lambda m: -Stat([psnr[m][s] for s in common]).mean)
    same = sum(o == tuple(mean_order) for o in orders)
    pairs = []
    for a, b in zip(mean_order, mean_order[1:], strict=False):
        held = sum(psnr[a][s] > psnr[b][s] for s in common)
        pairs.append(f"{a} > {b} ({held}/{len(common)})")
    return [
        f"- PSNR ranking by mean: {' > '.join(mean_order)}; the same full order in "
        f"{same} of {len(common)} seeds.",
        f"- Neighbours in that ranking, seeds where the order holds: {', '.join(pairs)}.",
    ]


def table_iv_lines(runs: Sequence[Run], fg_psnr_sd: float) -> list[str]:
    """Table IV (edge-loss sweep) experiments vs the seed noise of fg's PSNR."""
    workspace = next((r for r in runs if r.kind == "workspace"), None)
    reference = workspace.params if workspace else {}
    sweep: dict[float, float] = {}
    for run in runs:
        lam = get(run.params, EDGE_PARAM)
        value = run.results.value("fg", "psnr").mean if run.results else None
        if lam is None or value is None or lam in sweep:
            continue
        if not reference or param_diff(run.params, reference) <= {EDGE_PARAM}:
            sweep[float(lam)] = value
    if len(sweep) < 2:
        cmd = "for l in 0 0.25 0.5 0.75 1.0; do dvc exp run -S train_fg.lambda_edge=$l; done"
        return [f"- Table IV trend: fewer than two λ_edge runs found; run `{cmd}`."]
    spread = max(sweep.values()) - min(sweep.values())
    pts = ", ".join(f"λ={k:g}: {v:.2f}" for k, v in sorted(sweep.items()))
    if math.isnan(fg_psnr_sd) or fg_psnr_sd == 0:
        return [f"- Table IV (fg PSNR per λ_edge: {pts}): no seed sd to compare with."]
    ratio = spread / fg_psnr_sd
    verdict = "exceeds" if ratio > 2 else "is within"
    return [
        f"- Table IV trend (fg PSNR per λ_edge: {pts}): its spread of {spread:.2f} dB {verdict} "
        f"twice the seed sd of fg's PSNR ({fg_psnr_sd:.2f} dB; ratio {ratio:.1f})."
    ]


def render(runs: Sequence[Run], seeds: list[int], out: str) -> str:
    """The seed-variance report; `out` is only how its Reproduce section spells the file."""
    by_seed = seed_runs(runs, seeds)
    missing = [s for s in seeds if s not in by_seed]
    if len(by_seed) < 2:
        raise ColorbenchError(
            f"seed variance needs at least 2 finished seed experiments, found {sorted(by_seed)}; "
            f"run `colorbench seeds {len(seeds)} --out {out}`"
        )
    found = sorted(by_seed)
    values = collect(by_seed)
    metrics = [k for k in HEADLINE if any(k in v for v in values.values())]
    head = "| method | " + " | ".join(f"{spec(k).label}{spec(k).arrow}" for k in metrics) + " |"
    rows = [head, "|---" * (len(metrics) + 1) + "|"]
    for method in method_order(list(values)):
        cells = []
        for k in metrics:
            stat = Stat(list(values[method].get(k, {}).values()))
            cells.append(
                "–" if not stat.values else f"{_fmt(stat.mean, k)} ± {_fmt(stat.sd, k)}"
                if len(stat.values) > 1 else _fmt(stat.mean, k)
            )  # fmt: skip
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    fg_sd = Stat(list(values.get("fg", {}).get("psnr", {}).values() or [math.nan])).sd
    lines = [
        "# Seed variance",
        "",
        f"Training seeds (`{SEED_PARAM}`): {', '.join(map(str, found))}. Data, split and "
        "evaluator are the same in every run (`seed` is fixed), so the spread below is the "
        "training noise alone. ± is the sample standard deviation across seeds (not a "
        "confidence interval); the bootstrap intervals of the main report cover image sampling.",
        "",
        *rows,
        "",
        "## Do the conclusions survive seed noise?",
        "",
        *ranking_lines(values, found),
        *claim_lines(values, found),
        *table_iv_lines(runs, fg_sd),
        "",
        "## Reproduce",
        "",
        "```bash",
        f"colorbench seeds {len(seeds)}"
        + (f" --start {seeds[0]}" if seeds[0] else "")
        + f" --out {out}",
        "# which runs, per seed, one DVC experiment (or uses the committed run):",
        *(reproduce_command(s, by_seed[s]) for s in found),
        "```",
    ]
    if missing:
        lines += ["", f"Seeds without a finished experiment (left out): {missing}."]
    return "\n".join(lines) + "\n"


def write(path: str | Path, text: str) -> None:
    with atomic_file(path, "w", encoding="utf-8") as fh:
        fh.write(text)
