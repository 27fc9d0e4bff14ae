"""`colorbench study score`: the fooling score F (ParaColorizer Table III), mean ratings
(SCGAN Table I's perceptual columns), bootstrap 95% intervals over participants,
Krippendorff's alpha and attention-check exclusion.

Fooling cases (ParaColorizer Sec. IV): 1 right & confident (score 0), 2 right & not sure
(0.25), 3 wrong & not sure (0.75), 4 wrong & confident (1). F is the mean case score over
all decisions: Table III's counts 31/140/196/33 give 215/400 = 0.5375, the published value.
The printed formula divides the same sum by b×N (batches × subjects = 80), which gives
2.6875, not 0.5375: we implement the definition that reproduces the published number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.metrics.stats import bootstrap_many
from colorbench.study.design import CRITERIA, GROUND_TRUTH, PLANTED
from colorbench.study.store import Study, read_log

CASE_SCORES = (0.0, 0.25, 0.75, 1.0)


def case_of(correct: bool, confident: bool) -> int:
    """ParaColorizer's case number 1..4 of one decision."""
    if correct:
        return 1 if confident else 2
    return 4 if confident else 3


def fooling_score(counts: list[int] | np.ndarray) -> float:
    """F = Σ_i count_i · K_i / Σ_i count_i (the mean case score), from case counts 1..4."""
    c = np.asarray(counts, dtype=np.float64)
    return float(c @ np.asarray(CASE_SCORES) / c.sum()) if c.sum() else math.nan


def printed_formula(counts: list[int] | np.ndarray, batches: int, participants: int) -> float:
    """ParaColorizer's formula as printed, Σ V·K / (b×N): kept only to report the
    discrepancy (Table III: 2.6875 instead of the published 0.5375)."""
    return float(np.asarray(counts, dtype=np.float64) @ np.asarray(CASE_SCORES)) / (
        batches * participants
    )


@dataclass
class Decision:
    participant: str
    item: str
    method: str
    batch: int  # 0: the practice (trial) batch
    check: bool
    correct: bool
    confident: bool

    @property
    def case(self) -> int:
        return case_of(self.correct, self.confident)


@dataclass
class Rating:
    participant: str
    group: str
    source: str  # a method, ground_truth or planted
    check: bool
    values: list[int]  # one per CRITERIA


def load_answers(study: Study) -> tuple[list[Decision], list[Rating], list[str]]:
    """Every stored answer, joined with the study's hidden truth; problems as text."""
    decisions: list[Decision] = []
    ratings: list[Rating] = []
    problems: list[str] = []
    known = set(study.participants)
    for path in sorted((study.folder / "responses").glob("*.jsonl")):
        pid = path.stem
        if pid not in known:
            problems.append(f"{path.name}: not a participant of this study, ignored")
            continue
        answers, bad = read_log(path)
        if bad:
            problems.append(f"{path.name}: {bad} unreadable line(s) skipped")
        for rec in answers.values():
            if "item" in rec:
                it = study.item(rec["item"])
                truth = "real" if rec["a"] == "real" else "recolorized"
                decisions.append(
                    Decision(
                        pid,
                        it["id"],
                        it["method"],
                        it["batch"],
                        it["check"],
                        rec["answer"] == truth,
                        bool(rec["confident"]),
                    )
                )
            else:
                g = study.group(rec["group"])
                src = {c["key"]: c["source"] for c in g["candidates"]}
                for key, vals in rec["ratings"].items():
                    ratings.append(Rating(pid, g["id"], src[key], g["check"], list(vals)))
    return decisions, ratings, problems


def attention(study: Study, decisions: list[Decision], ratings: list[Rating]) -> dict[str, dict]:
    """Per participant: answered screens, checks seen and failed, and the exclusion verdict
    under the study's pre-registered rule."""
    limit = int(study.spec["exclusion"]["max_failed_checks"])
    out = {}
    for pid in study.participants:
        answered, _ = read_log(study.log_path(pid))
        fails = [not d.correct for d in decisions if d.participant == pid and d.check]
        by_group: dict[str, dict[str, int]] = {}
        for r in ratings:
            if r.participant == pid and r.check and r.source in (PLANTED, GROUND_TRUTH):
                by_group.setdefault(r.group, {})[r.source] = r.values[0]  # naturalness
        fails += [g[PLANTED] >= g[GROUND_TRUTH] for g in by_group.values()]
        out[pid] = {
            "answered": len(answered),
            "total": len(study.plan(pid)),
            "checks": len(fails),
            "failed": int(sum(fails)),
            "excluded": sum(fails) > limit,
        }
    return out


def _ratio_ci(sums: np.ndarray, counts: np.ndarray, n_boot: int, seed: int) -> list[float] | None:
    """Percentile 95% interval of Σsums/Σcounts over participants resampled with replacement."""
    if len(sums) < 2 or n_boot <= 0:
        return None
    boot = bootstrap_many(
        {"r": lambda idx: sums[idx].sum(1) / counts[idx].sum(1)}, len(sums), n_boot, seed
    )["r"]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return [float(lo), float(hi)]


def _per_participant(rows: list[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    acc: dict[str, list[float]] = {}
    for pid, v in rows:
        acc.setdefault(pid, []).append(v)
    return (
        np.array([sum(v) for v in acc.values()], np.float64),
        np.array([len(v) for v in acc.values()], np.float64),
    )


def _summary(rows: list[tuple[str, float]], n_boot: int, seed: int) -> dict[str, Any]:
    sums, counts = _per_participant(rows)
    mean = float(sums.sum() / counts.sum()) if counts.sum() else None
    ci = _ratio_ci(sums, counts, n_boot, seed) if mean is not None else None
    return {"mean": mean, "ci95": ci, "n": int(counts.sum()), "n_participants": len(sums)}


def krippendorff_alpha(matrix: np.ndarray, level: str) -> tuple[float | None, str | None]:
    """Krippendorff's alpha of a raters × units matrix (NaN = no answer), or None and why."""
    import krippendorff

    m = np.asarray(matrix, dtype=np.float64)
    pairable = (np.sum(~np.isnan(m), axis=0) >= 2).sum() if m.size else 0
    if m.shape[0] < 2 or pairable == 0:
        return None, "needs at least two participants answering the same item"
    try:
        a = float(krippendorff.alpha(reliability_data=m, level_of_measurement=level))
    except ValueError as exc:  # e.g. every answer identical: agreement undefined
        return None, str(exc).rstrip(".")
    return (a, None) if math.isfinite(a) else (None, "undefined (no variation in the answers)")


def _matrix(rows: list[tuple[str, str, float]], raters: list[str]) -> np.ndarray:
    units = sorted({u for _, u, _ in rows})
    m = np.full((len(raters), len(units)), np.nan)
    ri, ui = {r: i for i, r in enumerate(raters)}, {u: j for j, u in enumerate(units)}
    for r, u, v in rows:
        m[ri[r], ui[u]] = v
    return m


def score_study(folder: str | Path, n_boot: int = 1000, seed: int | None = None) -> dict[str, Any]:
    """The whole score of one study folder as a JSON-able dict."""
    study = Study.load(folder)
    seed = int(study.spec.get("seed", 0)) if seed is None else seed
    decisions, ratings, problems = load_answers(study)
    people = attention(study, decisions, ratings)
    keep = {p for p, a in people.items() if not a["excluded"] and a["answered"] > 0}
    out: dict[str, Any] = {
        "name": study.spec.get("name", Path(folder).name),
        "methods": study.spec["methods"],
        "rule": study.spec["exclusion"]["rule"],
        "participants": people,
        "included": sorted(keep),
        "problems": problems,
        "bootstrap": n_boot,
    }
    scored = [d for d in decisions if d.participant in keep and d.batch > 0 and not d.check]
    if "fooling" in study.spec:
        b = int(study.spec["fooling"]["batches"])
        fool: dict[str, Any] = {}
        for m in study.spec["methods"]:
            ds = [d for d in scored if d.method == m]
            table = {k: [0, 0, 0, 0] for k in range(1, b + 1)}
            for d in ds:
                table[d.batch][d.case - 1] += 1
            total = [sum(table[k][c] for k in table) for c in range(4)]
            f = _summary([(d.participant, CASE_SCORES[d.case - 1]) for d in ds], n_boot, seed)
            fool[m] = {
                "batches": {str(k): v for k, v in table.items()},
                "total": total,
                "F": f,
                "printed_formula": printed_formula(total, b, len(keep)) if keep else None,
            }
        rows = [(d.participant, d.item, float(not d.correct)) for d in scored]
        alpha, why = krippendorff_alpha(_matrix(rows, sorted(keep)), "nominal")
        out["fooling"] = {"batches": b, "methods": fool, "alpha": alpha, "alpha_reason": why}
    if "rating" in study.spec:
        valid = [r for r in ratings if r.participant in keep and r.source != PLANTED]
        sources = [*study.spec["methods"], GROUND_TRUTH]
        means = {
            s: {
                c: _summary(
                    [(r.participant, r.values[k]) for r in valid if r.source == s], n_boot, seed
                )
                for k, c in enumerate(CRITERIA)
            }
            for s in sources
        }
        agreement = {}
        for k, c in enumerate(CRITERIA):
            rows = [(r.participant, f"{r.group}/{r.source}", float(r.values[k])) for r in valid]
            alpha, why = krippendorff_alpha(_matrix(rows, sorted(keep)), "interval")
            agreement[c] = {"alpha": alpha, "reason": why}
        out["rating"] = {"criteria": list(CRITERIA), "means": means, "agreement": agreement}
    return out
