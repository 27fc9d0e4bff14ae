"""Study scores as report tables: ParaColorizer Table III (cases per batch and F), SCGAN
Table I's perceptual columns, agreement and participants; and `reports/study/`, which the
DVC stage `study` writes from every committed `studies/<name>/` and the report inlines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from colorbench.atomic import atomic_dir
from colorbench.study.design import GROUND_TRUTH
from colorbench.study.scoring import CASE_SCORES, fooling_score, score_study
from colorbench.tables import Cell, Column, Table, to_markdown, write_table

NO_STUDY = (
    "No human study has been scored: `studies/` holds no study with responses. "
    "See the README, section *Human evaluation*, to run one."
)
CRITERIA_HEADERS = {
    "naturalness": "Colour naturalness",
    "bleeding": "Colour bleeding removal",
    "colourfulness": "Colour colourfulness",
}


def _col(key: str, header: str, digits: int, ci: bool = False) -> Column:
    return Column(key, header, header, digits=digits, ci=ci)


def _table(score: dict[str, Any], suffix: str, title: str, cols: list[Column]) -> Table:
    name = score["name"]
    t = Table(f"study_{name}_{suffix}", title.format(name=name), cols, bold=False)
    t.ci_in_markdown = any(c.ci for c in cols if c.kind == "metric")  # the "±" note
    return t


def _ci(summary: dict[str, Any]) -> Cell:
    lo, hi = summary["ci95"] or (None, None)
    reason = None if summary["mean"] is not None else "no answers from included participants"
    return Cell(summary["mean"], lo, hi, summary["n"], reason=reason)


def table3(score: dict[str, Any]) -> Table:
    fool = score["fooling"]
    cols = [Column.label("method", "Method"), Column.label("batch", "Batch")]
    cols += [_col(f"case{i + 1}", f"Case {i + 1} ({k:g})", 0) for i, k in enumerate(CASE_SCORES)]
    cols += [_col("F", "F (fooling score)", 4, ci=True)]
    t = _table(
        score, "table3", "Human evaluation ({name}): fooling test, as ParaColorizer Table III", cols
    )
    for m, r in fool["methods"].items():
        for b, counts in r["batches"].items():
            f = fooling_score(counts)
            t.add_row(
                [
                    Cell(text=m),
                    Cell(text=f"Batch {b}"),
                    *(Cell(float(c)) for c in counts),
                    Cell(None if f != f else f, n=sum(counts), reason="no decisions"),
                ]
            )
        t.add_row(
            [Cell(text=m), Cell(text="All"), *(Cell(float(c)) for c in r["total"]), _ci(r["F"])]
        )
    t.header_lines = [
        f"participants included: {len(score['included'])}",
        "cases: 1 right & confident, "
        "2 right & not sure, 3 wrong & not sure, 4 wrong & confident (score in brackets)",
    ]
    t.notes = [
        "F is the mean case score over all decisions (ParaColorizer's Table III counts "
        "31/140/196/33 give 215/400 = 0.5375, the published value); the paper's printed "
        "formula divides by b×N instead and would not give 0.5375. The interval resamples "
        "participants (bootstrap, 95%). Practice items and attention checks are not counted."
    ]
    return t


def perceptual_table(score: dict[str, Any]) -> Table:
    rating = score["rating"]
    cols = [Column.label("method", "Method")]
    cols += [_col(c, CRITERIA_HEADERS[c] + " ↑", 2, ci=True) for c in rating["criteria"]]
    t = _table(
        score, "perceptual", "Human evaluation ({name}): ratings 0–10, as SCGAN Table I", cols
    )
    for src, crit in rating["means"].items():
        label = "Ground truth (shown unlabelled)" if src == GROUND_TRUTH else src
        t.add_row([Cell(text=label), *(_ci(crit[c]) for c in rating["criteria"])])
    t.header_lines = [f"participants included: {len(score['included'])}"]
    t.notes = ["Mean over participants × groups; the interval resamples participants."]
    return t


def agreement_table(score: dict[str, Any]) -> Table:
    cols = [Column.label("measure", "Answers"), _col("alpha", "Krippendorff's alpha", 3)]
    t = _table(score, "agreement", "Inter-rater agreement ({name})", cols)
    if "fooling" in score:
        f = score["fooling"]
        t.add_row(
            [Cell(text="Fooled or not (nominal)"), Cell(f["alpha"], reason=f["alpha_reason"])]
        )
    for c, a in (score.get("rating") or {}).get("agreement", {}).items():
        t.add_row(
            [Cell(text=f"{CRITERIA_HEADERS[c]} (interval)"), Cell(a["alpha"], reason=a["reason"])]
        )
    return t


def participants_table(score: dict[str, Any]) -> Table:
    cols = [
        Column.label("participant", "Participant"),
        _col("answered", "Answered", 0),
        _col("total", "Screens", 0),
        _col("checks", "Checks", 0),
        _col("failed", "Failed", 0),
        Column.label("excluded", "Excluded"),
    ]
    t = _table(score, "participants", "Participants and attention checks ({name})", cols)
    for pid, a in score["participants"].items():
        if a["answered"]:
            t.add_row(
                [
                    Cell(text=pid),
                    *(Cell(float(a[k])) for k in ("answered", "total", "checks", "failed")),
                    Cell(text="yes" if a["excluded"] else "no"),
                ]
            )
    t.notes = [
        f"Exclusion rule (fixed when the study was built): {score['rule']}.",
        "A participant who stopped early counts with the answers given.",
    ]
    return t


def study_tables(score: dict[str, Any]) -> list[Table]:
    out = []
    if "fooling" in score:
        out.append(table3(score))
    if "rating" in score:
        out.append(perceptual_table(score))
    return [*out, agreement_table(score), participants_table(score)]


def _has_responses(folder: Path) -> bool:
    return any(p.stat().st_size for p in (folder / "responses").glob("*.jsonl"))


def write_study_reports(studies: Path, out: Path, n_boot: int = 1000) -> list[dict[str, Any]]:
    """Score every `studies/<name>/` with responses; write OUT/<table>.{md,csv,tex},
    OUT/scores.json and OUT/README.md (the report's human-evaluation section)."""
    folders = sorted(p.parent for p in studies.glob("*/study.json")) if studies.is_dir() else []
    scores = [score_study(f, n_boot) for f in folders if _has_responses(f)]
    lines: list[str] = []
    with atomic_dir(out) as tmp:
        for s in scores:
            lines += [f"### Study `{s['name']}`", ""]
            lines += [f"- {p}" for p in s["problems"]] + ([""] if s["problems"] else [])
            for t in study_tables(s):
                write_table(t, tmp)
                lines += [to_markdown(t, heading="####"), ""]
        if not scores:
            lines = [NO_STUDY, ""]
        (tmp / "scores.json").write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return scores
