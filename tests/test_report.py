"""The report stage: tables (markdown/csv/LaTeX), figures, the index, DVC experiments."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from colorbench.errors import ColorbenchError
from colorbench.report import (
    ReportConfig,
    ablation_paracolorizer,
    ablation_scgan,
    build_report,
    content,
    experiments,
)
from colorbench.report.build import ablation_tables
from colorbench.report.figures import choose_ids
from colorbench.report.load import load_metrics, load_training_logs, results_from_dict
from colorbench.tables import to_csv, to_latex, to_markdown

REPO = Path(__file__).resolve().parents[1]
IDS = [f"img{i:03d}" for i in range(6)]
METHODS = ["gray", "unet", "fg", "bg", "overlay_a0.25", "overlay_a0.5", "fused", "scgan"]
LPIPS_REASON = "weights missing: run colorbench weights fetch alexnet"

# Set-level means per method; the best of each column is unique and known.
MEANS = {
    #                psnr   ssim   dcol  cci    cni   top1  fd    colf
    "gray": (20.0, 0.900, 30.0, 0.00, 0.10, 0.40, 90.0, 0.0),
    "unet": (22.0, 0.910, 9.0, 0.10, 0.50, 0.50, 40.0, 18.0),
    "fg": (23.0, 0.920, 2.5, 0.30, 0.60, 0.55, 30.0, 24.0),
    "bg": (22.5, 0.915, 5.0, 0.20, 0.55, 0.52, 35.0, 20.0),
    "overlay_a0.25": (22.6, 0.916, 4.0, 0.22, 0.56, 0.53, 33.0, 21.0),
    "overlay_a0.5": (22.8, 0.917, 3.5, 0.25, 0.58, 0.54, 31.0, 22.0),
    "fused": (24.5, 0.925, 3.0, 0.35, 0.70, 0.58, 12.0, 23.0),
    "scgan": (23.5, 0.940, 6.0, 0.45, 0.65, 0.60, 20.0, 19.0),
}


def _stat(mean: float, hw: float, n: int = 6) -> dict:
    return {"mean": mean, "std": hw, "ci95": [mean - hw, mean + hw], "n": n}


def metrics_json(methods: list[str] = METHODS, fid: bool = False) -> dict:
    out: dict = {"n_images": 6, "fid_mode": "standard", "profile": "synthetic", "methods": {}}
    for m in methods:
        psnr, ssim, dcol, cci, cni, top1, fd, colf = MEANS[m]
        out["methods"][m] = {
            "psnr": _stat(psnr, 0.5),
            "ssim": _stat(ssim, 0.01),
            "colorfulness": _stat(colf, 2.0),
            "colorfulness_abs": _stat(colf + 5, 2.0),
            "delta_colorful": {
                "mean": dcol,
                "ci95": [dcol - 1, dcol + 1],
                "n": 6,
                "pred_mean": colf,
                "gt_mean": 21.0,
            },
            "cci_ratio": _stat(cci, 0.1),
            "cni": _stat(cni, 0.05),
            "top1": _stat(top1, 0.05),
            "evaluator_fd": _stat(fd, 3.0),
            "lpips": {"mean": None, "available": False, "reason": LPIPS_REASON},
            "fid": _stat(fd * 2, 4.0)
            if fid
            else {"mean": None, "available": False, "reason": "Inception weights missing"},
        }
    out["paired"] = {
        m: {
            "psnr": {
                "vs": "gray",
                "mean_diff": MEANS[m][0] - 20.0,
                "ci95": [MEANS[m][0] - 21.0, MEANS[m][0] - 19.0],
                "p_value": 0.0001 if m == "fused" else 0.2,
                "test": "wilcoxon",
            },
            "top1": {
                "vs": "gray",
                "mean_diff": MEANS[m][5] - 0.4,
                "ci95": [0.0, 0.3],
                "p_value": 0.04,
                "test": "mcnemar",
            },
        }
        for m in methods
        if m != "gray"
    }
    return out


def _png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def make_project(root: Path, methods: list[str] = METHODS, saliency: bool = True) -> Path:
    """A repo-like folder with everything the report stage reads, 32 px images."""
    rng = np.random.default_rng(0)
    (root / "reports" / "per_image").mkdir(parents=True)
    from colorbench.metrics.stage import headline

    full = metrics_json(methods)
    (root / "reports" / "metrics_details.json").write_text(json.dumps(full))
    (root / "reports" / "metrics.json").write_text(json.dumps(headline(full)))
    for k, m in enumerate(methods):
        df = pd.DataFrame(
            {
                "image": [f"{i}.png" for i in IDS],
                "psnr": MEANS[m][0] + rng.normal(0, 1, len(IDS)),
                "ssim": np.clip(MEANS[m][1] + rng.normal(0, 0.01, len(IDS)), 0, 1),
                "colorfulness": MEANS[m][7] + rng.normal(0, 3, len(IDS)) * (k > 0),
                "colorfulness_abs": MEANS[m][7] + 5 + rng.normal(0, 3, len(IDS)),
                "cni": rng.uniform(0, 1, len(IDS)),
                "top1": rng.integers(0, 2, len(IDS)),
                "lpips": np.nan,
            }
        )
        df.to_csv(root / "reports" / "per_image" / f"{m}.csv", index=False)
    rows = []
    for n, image_id in enumerate([*IDS, "trainA", "trainB"]):
        gt = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        _png(root / "data" / "prepared" / "images" / f"{image_id}.png", gt)
        split = "test" if n < len(IDS) else "train"
        rows.append(
            [image_id, "synthetic", "main", split, False, "sky", f"raw/{image_id}.png"]
            + [48, 48, 32, 32]
        )
        if split != "test":
            continue
        for m in methods:
            out = gt if m != "gray" else np.repeat(gt.mean(axis=2, keepdims=True), 3, 2)
            _png(root / "outputs" / m / f"{image_id}.png", out.astype(np.uint8))
        if saliency:
            sal = rng.integers(0, 256, (32, 32), dtype=np.uint8)
            (root / "outputs_saliency" / "scgan").mkdir(parents=True, exist_ok=True)
            Image.fromarray(sal).save(root / "outputs_saliency" / "scgan" / f"{image_id}.png")
            (root / "data" / "saliency").mkdir(parents=True, exist_ok=True)
            Image.fromarray(255 - sal).save(root / "data" / "saliency" / f"{image_id}.png")
    from colorbench.data.manifest import COLUMNS

    pd.DataFrame(rows, columns=COLUMNS).to_csv(
        root / "data" / "prepared" / "manifest.csv", index=False
    )
    curves = root / "logs" / "train_fg" / "plots" / "metrics"
    (curves / "train").mkdir(parents=True)
    (curves / "train" / "loss_g.tsv").write_text("step\tloss_g\n0\t1.0\n1\t0.5\n2\t0.25\n")
    (curves / "val_l1.tsv").write_text("timestamp\tstep\tval_l1\n1\t0\t0.3\n2\t1\t0.2\n")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root


def _ctx(results, params=None) -> content.Context:
    return content.Context.from_results(results, params or {}, "gray", "standard")


def _bold_rows(table, key: str) -> list[str]:
    table.finalize()
    j = [c.key for c in table.columns].index(key)
    return [row[0].text for row in table.rows if row[j].bold]


# ---- tables -------------------------------------------------------------------------------


def test_bold_is_direction_aware() -> None:
    results = results_from_dict(metrics_json(fid=True))
    t = content.all_metrics_table(results, _ctx(results))
    label = {m: content.method_label(m) for m in METHODS}
    assert _bold_rows(t, "psnr") == [label["fused"]]  # higher is better
    assert _bold_rows(t, "ssim") == [label["scgan"]]
    assert _bold_rows(t, "top1") == [label["scgan"]]
    assert _bold_rows(t, "cci_ratio") == [label["scgan"]]
    assert _bold_rows(t, "cni") == [label["fused"]]
    assert _bold_rows(t, "delta_colorful") == [label["fg"]]  # lower is better
    assert _bold_rows(t, "evaluator_fd") == [label["fused"]]
    assert _bold_rows(t, "fid") == [label["fused"]]
    assert _bold_rows(t, "colorfulness") == []  # no direction, no bold
    md = to_markdown(t)
    assert "**24.50 ± 0.50**" in md and "**2.50 ± 1.00**" in md
    assert "| 20.00 ± 0.50 |" in md  # gray's PSNR is not bold
    tex = to_latex(t)
    assert r"\textbf{24.50}" in tex and r"\textbf{2.50}" in tex and r"\textbf{20.00}" not in tex


def test_ties_at_displayed_precision_all_bold() -> None:
    data = metrics_json(["gray", "fg", "bg"])
    data["methods"]["fg"]["ssim"]["mean"] = 0.92341
    data["methods"]["bg"]["ssim"]["mean"] = 0.92339  # both show 0.9234
    for m in ("gray", "fg", "bg"):
        data["methods"][m]["cci_ratio"]["mean"] = 0.25  # all equal: nothing is bold
    results = results_from_dict(data)
    t = content.scgan_table1(results, _ctx(results))
    assert _bold_rows(t, "ssim") == [content.method_label("fg"), content.method_label("bg")]
    assert _bold_rows(t, "cci_ratio") == []


def test_unavailable_metric_is_na_with_reason_everywhere() -> None:
    results = results_from_dict(metrics_json())
    t = content.paracolorizer_table1(results, _ctx(results))
    md, tex, text = to_markdown(t), to_latex(t), to_csv(t)
    assert "n/a¹" in md and "n/a²" in md  # FID and LPIPS footnotes
    assert f"LPIPS ↓: {LPIPS_REASON}" not in md  # arrows are stripped from footnote names
    assert f"LPIPS: {LPIPS_REASON}" in md and "FID: Inception weights missing" in md
    assert r"n/a\textsuperscript{2}" in tex and "weights fetch alexnet" in tex
    rows = list(csv.DictReader(text.splitlines()))
    assert all(r["lpips"] == "" and r["lpips_note"] == LPIPS_REASON for r in rows)
    assert _bold_rows(t, "lpips") == []


def test_every_measured_table_states_n_and_fid_mode() -> None:
    results = results_from_dict(metrics_json())
    ctx = _ctx(results)
    tables = [
        content.paracolorizer_table1(results, ctx),
        content.scgan_table1(results, ctx),
        content.all_metrics_table(results, ctx),
        content.paired_table(results, ctx),
        content.overlay_fusion_table(results, ctx),
    ]
    for t in tables:
        for text in (to_markdown(t), to_latex(t)):
            assert "N = 6 test images" in text, t.name
            assert "FID mode: standard" in text, t.name
    md = to_markdown(content.all_metrics_table(results, ctx))
    assert "Fréchet distance (evaluator features), not FID" in md
    assert "FD-eval (evaluator features, not FID)" in md


def _check_latex(tex: str, ncols: int) -> None:
    assert tex.count("{") == tex.count("}")
    depth = 0
    for ch in tex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\end{table}"):
        assert tex.count(token) == 1, token
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    for line in body.strip().splitlines():
        assert line.endswith(r"\\") and line.count(" & ") == ncols - 1
    plain = re.sub(r"\\[a-zA-Z]+|\\.", "", tex.split("\n", 1)[1])  # drop commands/escapes
    assert plain.count("$") % 2 == 0
    plain = re.sub(r"\$[^$]*\$", "", plain)  # math may use ^ and _
    assert not re.search(r"[_%&#^~]", plain.replace(" & ", "")), "unescaped LaTeX special"
    assert re.search(r"\\begin\{tabular\}\{l[lr]+\}", tex)


def test_latex_is_booktabs_and_balanced() -> None:
    results = results_from_dict(metrics_json())
    ctx = _ctx(results)
    from colorbench.report.reference import reference_tables

    for t in [
        content.all_metrics_table(results, ctx),
        content.paired_table(results, ctx),
        content.overlay_fusion_table(results, ctx),
        *reference_tables(),
    ]:
        _check_latex(to_latex(t), len(t.columns))


def test_csv_parses_with_intervals_in_raw_units() -> None:
    results = results_from_dict(metrics_json())
    t = content.scgan_table1(results, _ctx(results))
    df = pd.read_csv(pd.io.common.StringIO(to_csv(t)))
    assert list(df["method"]) == [content.method_label(m) for m in METHODS]
    fused = df[df["method"] == content.method_label("fused")].iloc[0]
    assert fused["psnr"] == pytest.approx(24.5)
    assert (fused["psnr_ci95_lo"], fused["psnr_ci95_hi"]) == pytest.approx((24.0, 25.0))
    assert fused["top1"] == pytest.approx(0.58)  # a fraction in the csv ...
    assert "58.00 ± 5.00" in to_markdown(t)  # ... a percentage in markdown
    assert fused["psnr_n"] == 6


def test_paired_table_rows_and_p_values() -> None:
    results = results_from_dict(metrics_json())
    t = content.paired_table(results, _ctx(results))
    assert len(t.rows) == 2 * (len(METHODS) - 1)
    md = to_markdown(t)
    assert "<0.001" in md and "wilcoxon" in md and "mcnemar" in md
    assert "+4.50" not in md and "4.50 ± 1.00" in md  # fused PSNR diff 24.5 − 20
    rows = list(csv.DictReader(to_csv(t).splitlines()))
    fused = [r for r in rows if r["method"].startswith("fused") and r["metric"].startswith("PSNR")]
    assert float(fused[0]["p_value"]) == pytest.approx(0.0001)
    assert float(fused[0]["mean_diff_ci95_lo"]) == pytest.approx(3.5)


def test_paired_table_undefined_test_is_na_with_reason() -> None:
    data = metrics_json(["gray", "fg"])
    data["paired"]["fg"]["psnr"] = {
        "vs": "gray", "mean_diff": None, "ci95": None, "p_value": None, "test": "wilcoxon", "n": 0
    }  # fmt: skip
    results = results_from_dict(data)
    md = to_markdown(content.paired_table(results, _ctx(results)))
    assert "| n/a¹ | n/a |" in md and "no image pair with defined values (n = 0)" in md


def test_paired_table_flags_a_baseline_mismatch() -> None:
    results = results_from_dict(metrics_json())
    ctx = content.Context.from_results(results, {}, "unet", "standard")
    assert "evaluate's baseline" in to_markdown(content.paired_table(results, ctx))


def test_overlay_table_orders_alpha_bg_fg_fusion() -> None:
    results = results_from_dict(metrics_json(fid=True))
    params = {"colorize": {"fusion_strategy": "l1norm"}}
    t = content.overlay_fusion_table(results, _ctx(results, params))
    assert [(r[0].text, r[1].text) for r in t.rows] == [
        ("0.00", "bg"),
        ("0.25", "overlay_a0.25"),
        ("0.50", "overlay_a0.5"),
        ("1.00", "fg"),
        ("fusion", "fused (l1norm)"),
    ]
    t.finalize()
    assert [r[1].text for r in t.rows if r[2].bold] == ["fused (l1norm)"]


def test_reference_tables_are_labelled_and_hold_the_papers_numbers() -> None:
    from colorbench.report.reference import reference_tables

    tables = {t.name: t for t in reference_tables()}
    for t in tables.values():
        assert "not comparable to this profile's numbers" in t.title
        assert t.title.startswith(("ParaColorizer", "SCGAN"))
    md = to_markdown(tables["published_paracolorizer_table1"])
    assert "| ParaColorizer | 4.90 | 17.60 | 0.151 | 23.96 | 0.9250 |" in md
    md = to_markdown(tables["published_scgan_table1"])
    assert "| SCGAN | 23.80 | 0.9473 | 53.47 | 21.41 |" in md
    assert "**" not in md  # published numbers are never bolded against measured ones


def test_results_tolerate_odd_entries_and_reject_bad_files(tmp_path: Path) -> None:
    r = results_from_dict(
        {"methods": {"fg": {"psnr": 21.5, "ssim": {"mean": None}, "x": "junk", "fid": {}}}}
    )
    assert r.value("fg", "psnr").mean == 21.5
    assert not r.value("fg", "ssim").available and not r.value("fg", "fid").available
    assert r.value("fg", "lpips").reason == "not in metrics.json"
    assert r.n_images is None
    assert results_from_dict(metrics_json()).gt_colorfulness() == 21.0
    assert results_from_dict(metrics_json()).value("fg", "delta_colorful").extras["pred_mean"] == 24
    with pytest.raises(ColorbenchError, match="not found"):
        load_metrics(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ColorbenchError, match="not valid JSON"):
        load_metrics(tmp_path / "bad.json")
    (tmp_path / "nomethods.json").write_text("{}")
    with pytest.raises(ColorbenchError, match="no 'methods'"):
        load_metrics(tmp_path / "nomethods.json")


def test_choose_ids_is_deterministic_and_spread() -> None:
    ids = [f"{i:02d}" for i in range(10)]
    assert choose_ids(list(reversed(ids)), 4) == ["00", "03", "06", "09"]
    assert choose_ids(ids, 20) == ids and choose_ids(ids, 0) == []


def test_training_logs_are_read_from_dvclive_tsv(tmp_path: Path) -> None:
    make_project(tmp_path, ["gray", "fg"], saliency=False)
    (tmp_path / "logs" / "train_fg" / "plots" / "metrics" / "broken.tsv").write_text("")
    logs = load_training_logs(tmp_path / "logs")
    assert set(logs["train_fg"]) == {"train/loss_g", "val_l1"}
    assert list(logs["train_fg"]["val_l1"]["value"]) == [0.3, 0.2]


# ---- DVC experiments ----------------------------------------------------------------------


def _state(rev: str, name: str | None, params: dict, metrics: dict | None) -> dict:
    """One ExpState as dvc 3.67's `exp show --json` prints it (serialize.py); metrics keep
    only scalars, as dvc's _extract_metrics does."""

    def scalars(d):
        if isinstance(d, dict):
            out = {k: scalars(v) for k, v in d.items()}
            return {k: v for k, v in out.items() if v not in (None, {})}
        return d if isinstance(d, (int, float, str)) else None

    met = (
        {"reports/metrics.json": {"data": scalars(metrics)}}
        if metrics is not None
        else {
            "reports/metrics.json": {
                "error": {"type": "FileNotFoundError", "msg": "[Errno 2] No such file"}
            }
        }
    )
    return {
        "rev": rev,
        "name": name,
        "data": {
            "rev": rev,
            "timestamp": None if rev == "workspace" else "2025-01-01T00:00:00",
            "params": {"params.yaml": {"data": params}},
            "metrics": met,
            "deps": {"src/colorbench/report": {"hash": None, "size": None, "nfiles": None}},
            "outs": {},
            "meta": {},
        },
        "error": None,
        "experiments": None,
    }


def _exp(state: dict, name: str, executor: dict | None = None) -> dict:
    return {"revs": [state], "executor": executor, "name": name}


def _variant(params: dict, dotted: str, value) -> dict:
    p = copy.deepcopy(params)
    cur = p
    *head, last = dotted.split(".")
    for k in head:
        cur = cur[k]
    cur[last] = value
    return p


def _metrics_variant(ssim_fg: float, ssim_scgan: float) -> dict:
    m = metrics_json()
    m["methods"]["fg"]["ssim"]["mean"] = ssim_fg
    m["methods"]["scgan"]["ssim"]["mean"] = ssim_scgan
    return m


def synthetic_exp_show(params: dict) -> list:
    base = _state("a" * 40, "main", params, None)  # baseline commit without metrics
    base["experiments"] = [
        _exp(
            _state(
                "b" * 40,
                "fg-edge-0",
                _variant(params, "train_fg.lambda_edge", 0.0),
                _metrics_variant(0.861, 0.9),
            ),
            "fg-edge-0",
        ),
        _exp(
            _state(
                "c" * 40,
                "fg-edge-1",
                _variant(params, "train_fg.lambda_edge", 1),
                _metrics_variant(0.93, 0.9),
            ),
            "fg-edge-1",
        ),
        _exp(
            _state(
                "d" * 40,
                "scgan-lsgan",
                _variant(params, "train_scgan.gan", "lsgan"),
                _metrics_variant(0.92, 0.911),
            ),
            "scgan-lsgan",
        ),
        _exp(
            _state(
                "e" * 40,
                "scgan-no-global",
                _variant(params, "train_scgan.global_net", "none"),
                _metrics_variant(0.92, 0.905),
            ),
            "scgan-no-global",
        ),
        _exp(
            _state(
                "f" * 40,
                "fg-v2",
                _variant(params, "train_fg.version", "v2"),
                _metrics_variant(0.915, 0.9),
            ),
            "fg-v2",
        ),
        _exp(  # differs in two unrelated places: belongs to no table
            _state(
                "1" * 40,
                "mixed",
                _variant(_variant(params, "prepare.size", 32), "train_fg.lambda_edge", 0.25),
                _metrics_variant(0.5, 0.5),
            ),
            "mixed",
        ),
        _exp(_state("2" * 40, "queued-one", params, None), "queued-one", {"state": "queued"}),
    ]
    return [_state("workspace", None, params, metrics_json()), base]


def test_exp_show_parser_and_ablation_tables() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    runs = experiments.parse_exp_show(synthetic_exp_show(params))
    assert [r.kind for r in runs[:2]] == ["workspace", "baseline"]
    by_name = {r.name: r for r in runs}
    assert by_name["main"].results is None and "No such file" in by_name["main"].problem
    assert by_name["queued-one"].problem == "experiment queued"
    # dvc drops the intervals: means survive, ci95 does not
    v = by_name["fg-edge-0"].results.value("fg", "ssim")
    assert v.mean == pytest.approx(0.861) and v.lo is None and v.n == 6
    assert not by_name["fg-edge-0"].results.value("fg", "lpips").available

    results = results_from_dict(metrics_json())
    ctx = _ctx(results, params)
    edge, arch, sc = ablation_tables(runs, ctx, from_experiments=True)
    assert [r[0].text for r in edge.rows] == ["0.00", "0.50", "1.00"]  # mixed excluded
    assert _bold_rows(edge, "ssim") == ["1.00"]
    md = to_markdown(edge)
    assert "dvc exp run -n fg-edge-0.25 -S train_fg.lambda_edge=0.25" in md
    assert "fg-edge-0 -S" not in md  # present rows are not asked for again
    assert "queued-one: experiment queued" in md
    # experiment rows get 1.96·std/√n; Δ vs λ=0 an unpaired interval around the difference
    fg0 = by_name["fg-edge-0"].results.value("fg", "ssim")
    half = 1.96 * fg0.std / fg0.n**0.5
    assert edge.rows[0][3].lo == pytest.approx(0.861 - half)
    delta = edge.rows[2][-1]
    assert delta.value == pytest.approx(0.93 - 0.861)
    assert delta.hi - delta.value == pytest.approx(half * 2**0.5)
    assert edge.rows[0][-1].value == 0.0
    assert [r[0].text.split(":")[0] for r in arch.rows] == ["V1", "V2", "V3"]
    assert [r[1].text for r in arch.rows] == ["unet", "fg", "fg"]
    assert arch.rows[1][2].text == "fg-v2 (experiment)"
    assert "train_fg.version=v2" not in to_markdown(arch)
    assert [r[0].text for r in sc.rows] == ["with LSGAN loss", "w/o global feature", "SCGAN (full)"]
    assert "-S train_scgan.attention_loss=false" in to_markdown(sc)
    assert "-S train_scgan.gan=lsgan" not in to_markdown(sc)


def test_scgan_setting_labels() -> None:
    full = {
        "train_scgan": {
            "attention_loss": True,
            "gan": "wgan_gp",
            "perceptual": True,
            "global_net": "pretrained",
            "pixel_loss": "l1",
            "lambda_gan": 0.05,
        }
    }
    label = ablation_scgan.scgan_setting
    assert label(full) == "SCGAN (full)"
    no_att = _variant(full, "train_scgan.attention_loss", False)
    assert label(no_att) == "w/o attention loss (same data)"
    half = _variant(full, "train_scgan.data_fraction", 0.5)
    assert label(_variant(no_att, "train_scgan.data_fraction", 1.0), half) == (
        "w/o attention loss (2× data)"
    )
    assert label(half, full) == "data × 0.5"
    assert label(_variant(full, "train_scgan.lambda_gan", 0)) == "w/o GAN loss"
    assert label(_variant(full, "train_scgan.gan", "none")) == "w/o GAN loss"
    assert label(_variant(full, "train_scgan.perceptual", False)) == "w/o perceptual loss"
    assert label(_variant(full, "train_scgan.global_net", "random")) == "w/o pre-weights"
    assert label(_variant(full, "train_scgan.pixel_loss", "l2")) == "with L2 loss"
    assert label(_variant(full, "train_scgan.lambda_gan", 0.1)) == "λ_G = 0.1"


def test_exp_show_parser_tolerates_missing_pieces() -> None:
    runs = experiments.parse_exp_show(
        [
            {"rev": "workspace"},
            {"rev": "abc", "error": {"msg": "broken", "type": "X"}, "experiments": [{}]},
            {"rev": "def", "data": {"params": {}, "metrics": {}}, "experiments": [{"revs": []}]},
            "junk",
        ]
    )
    assert [r.results for r in runs] == [None, None, None]
    assert runs[1].problem == "broken"
    with pytest.raises(ColorbenchError):
        experiments.parse_exp_show({"not": "a list"})


def test_plain_run_fills_ablation_tables_with_current_row_and_commands() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    results = results_from_dict(metrics_json())
    ctx = _ctx(results, params)
    runs = [experiments.current_run(results, params)]
    edge, arch, sc = ablation_tables(runs, ctx, from_experiments=False)
    lam = params["train_fg"]["lambda_edge"]
    assert [r[0].text for r in edge.rows] == [f"{lam:.2f}"]
    assert edge.rows[0][1].text == "current run (workspace)"
    md = to_markdown(edge)
    assert "This table shows the current run only" in md
    assert "colorbench report --experiments" in md
    assert sum(c.startswith("dvc exp run") for c in edge.howto) == 4
    assert len(sc.rows) == 1 and sc.rows[0][0].text == "SCGAN (full)"
    assert sum(c.startswith("dvc exp run") for c in sc.howto) == 8
    # params.yaml trains on half the split, so the paper's 2x-data row can be asked for
    assert "-S train_scgan.attention_loss=false -S train_scgan.data_fraction=1\n" in to_markdown(sc)


# ---- the whole stage ---------------------------------------------------------------------


_DVC_STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _dag_layout() -> dict[str, str]:
    """ReportConfig field -> the path dvc.yaml's `report` stage passes for it."""
    words = shlex.split(_DVC_STAGES["report"]["cmd"])
    flags = {w[2:].replace("-", "_"): words[i + 1] for i, w in enumerate(words) if w[:2] == "--"}
    fields = dataclasses.fields(ReportConfig)
    return {f.name: flags[f.name] for f in fields if f.default is dataclasses.MISSING}


def _config(root: Path, missing: tuple[str, ...] = (), **kw) -> ReportConfig:
    """ReportConfig with the DAG's layout under `root`; `missing` inputs point nowhere."""
    paths = {k: root / ("missing" if k in missing else v) for k, v in _dag_layout().items()}
    return ReportConfig(**paths, **kw)


def _links(readme: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", readme.read_text())


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, path
    with Image.open(path) as im:
        assert im.size[0] > 100 and im.size[1] > 50


def test_build_report_end_to_end(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "reports" / "tables").mkdir()
    (root / "reports" / "tables" / "stale.md").write_text("old")
    before = (root / "reports" / "metrics.json").read_bytes()
    params = yaml.safe_load((root / "params.yaml").read_text())
    summary = build_report(_config(root, grid_images=4, fid_mode="piq"), params)
    figs = {p.name for p in summary.figures}
    assert figs == {
        "comparison_grid.png",
        "cci_boxplot.png",
        "dist_psnr.png",
        "dist_ssim.png",
        "curves_train_fg.png",
        "scgan_weighted.png",
    }
    for p in summary.figures:
        _assert_png(p)
    assert any("lpips distribution" in s for s in summary.skipped)  # all-NaN column
    readme = root / "reports" / "README.md"
    links = _links(readme)
    assert links and all((readme.parent / link).is_file() for link in links)
    for p in summary.tables:
        assert p.is_file() and p.stat().st_size > 0
        assert f"tables/{p.name}" in links
    text = readme.read_text()
    assert "N = **6** test images" in text and "FID mode: **standard**" in text
    assert "params.yaml sets evaluate.fid_mode = piq" in text  # stale metrics flagged
    assert "Published reference numbers" in text and "not comparable" in text
    assert "| **fused (ParaColorizer)** |" not in text  # labels are never bold, only values
    assert not (root / "reports" / "tables" / "stale.md").exists()  # the folder was replaced
    assert (root / "reports" / "metrics.json").read_bytes() == before
    assert sorted(p.name for p in (root / "reports").iterdir()) == [
        "README.md",
        "figures",
        "metrics.json",
        "metrics_details.json",
        "per_image",
        "tables",
    ]
    # the grid shows 4 evenly spaced test ids, never train images
    assert choose_ids(IDS, 4) == ["img000", "img002", "img003", "img005"]


def test_report_without_optional_inputs(tmp_path: Path) -> None:
    root = tmp_path
    (root / "reports").mkdir()
    (root / "reports" / "metrics_details.json").write_text(json.dumps(metrics_json(["gray", "fg"])))
    optional = ("per_image", "outputs", "prepared", "logs", "saliency_pred", "saliency_gt")
    summary = build_report(_config(root, missing=optional))
    assert summary.figures == [] and len(summary.skipped) >= 5
    text = (root / "reports" / "README.md").read_text()
    assert "Not drawn:" in text and "No per-image csv" in text
    assert all((root / "reports" / link).is_file() for link in _links(root / "reports/README.md"))


def test_cli_report_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorbench.cli import main

    runner = CliRunner()
    help_text = runner.invoke(main, ["report", "--help"]).output
    for opt in (
        "--metrics",
        "--per-image",
        "--outputs",
        "--prepared",
        "--logs",
        "--out",
        "--experiments",
    ):
        assert opt in help_text
    res = runner.invoke(main, ["report", "--metrics", str(tmp_path / "nope.json")])
    assert res.exit_code == 1 and "error:" in res.output and "Traceback" not in res.output

    root = make_project(tmp_path / "proj", ["gray", "fg", "bg", "fused"], saliency=False)
    dump = tmp_path / "exp.json"
    params = yaml.safe_load((root / "params.yaml").read_text())
    dump.write_text(json.dumps(synthetic_exp_show(params)))
    monkeypatch.chdir(root)
    res = runner.invoke(main, ["report", "--exp-json", str(dump), "--grid-images", "2"])
    assert res.exit_code == 0, res.output
    table4 = (root / "reports" / "tables" / "paracolorizer_table4.md").read_text()
    assert "fg-edge-1 (experiment)" in table4 and "current run (workspace)" in table4


@pytest.mark.slow
def test_stage_command_end_to_end(tmp_path: Path) -> None:
    """dvc.yaml's `report` cmd, run as `python -m colorbench ...`."""
    root = make_project(tmp_path)
    words = shlex.split(_DVC_STAGES["report"]["cmd"])
    assert words[0] == "colorbench"
    proc = subprocess.run(
        [sys.executable, "-m", "colorbench", *words[1:]],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    readme = root / "reports" / "README.md"
    assert all((readme.parent / link).is_file() for link in _links(readme))
    assert (root / "reports" / "figures" / "comparison_grid.png").stat().st_size > 0


@pytest.mark.slow
def test_real_dvc_exp_show_is_parsed(tmp_path: Path) -> None:
    """Two real `dvc exp run`s in a throwaway git repo, read back through run_exp_show."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    env_py = sys.executable
    script = (
        "import json, yaml\n"
        "p = yaml.safe_load(open('params.yaml'))\n"
        "lam = p['train_fg']['lambda_edge']\n"
        "m = {'n_images': 3, 'fid_mode': 'standard', 'methods': {'fg': {"
        "'ssim': {'mean': 0.8 + lam / 10, 'ci95': [0.7, 0.9], 'n': 3},"
        "'lpips': {'mean': None, 'available': False, 'reason': 'no weights'}}}}\n"
        "import os; os.makedirs('reports/per_image', exist_ok=True)\n"
        "json.dump(m, open('reports/metrics_details.json', 'w'))\n"
        "json.dump({'n_images': 3, 'methods': {'fg': {'ssim': m['methods']['fg']['ssim']['mean']}}},"
        " open('reports/metrics.json', 'w'))\n"
        "rows = [f'i{k},{0.8 + lam / 10 + 0.01 * k * (1 + lam)}' for k in range(3)]\n"
        "open('reports/per_image/fg.csv', 'w').write('image,ssim\\n' + '\\n'.join(rows))\n"
    )
    (tmp_path / "run.py").write_text(script)
    (tmp_path / "params.yaml").write_text(
        "train_fg:\n  lambda_edge: 0.5\n  generator: {arch: resunet_attn}\n"
    )
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  evaluate:\n    cmd: " + env_py + " run.py\n    deps: [run.py]\n"
        "    params: [train_fg]\n    metrics:\n      - reports/metrics.json:\n"
        "          cache: false\n    outs:\n      - reports/metrics_details.json:\n"
        "          cache: false\n      - reports/per_image:\n          cache: false\n"
    )
    env = {
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    import os

    env = {**os.environ, **env}

    def sh(*cmd: str) -> None:
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env, capture_output=True, timeout=120)

    sh("git", "init", "-q")
    sh(env_py, "-m", "dvc", "init", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "init")
    sh(env_py, "-m", "dvc", "exp", "run", "-q", "-n", "edge-0", "-S", "train_fg.lambda_edge=0")
    sh(env_py, "-m", "dvc", "exp", "run", "-q", "-n", "edge-1", "-S", "train_fg.lambda_edge=1")
    runs = experiments.parse_exp_show(experiments.run_exp_show(tmp_path))
    by_name = {r.name: r for r in runs}
    assert {"workspace", "edge-0", "edge-1"} <= set(by_name)
    assert by_name["edge-0"].results.value("fg", "ssim").mean == pytest.approx(0.8)
    assert by_name["edge-1"].results.value("fg", "ssim").mean == pytest.approx(0.9)
    assert experiments.get(by_name["edge-1"].params, "train_fg.lambda_edge") == 1
    assert by_name["edge-1"].results.value("fg", "ssim").lo is None  # exp show: means only
    experiments.with_details(runs, tmp_path)  # each experiment's committed details file
    assert by_name["edge-1"].results.value("fg", "ssim").lo == pytest.approx(0.7)
    results = results_from_dict(json.loads((tmp_path / "reports/metrics.json").read_text()))
    ctx = _ctx(results, yaml.safe_load((tmp_path / "params.yaml").read_text()))
    edge = ablation_paracolorizer.edge_table(runs, ctx, from_experiments=True)
    assert [r[0].text for r in edge.rows] == ["0.00", "1.00"]
    # Δ vs λ=0, paired on the per-image csvs: 0.1 + 0.01·k for k = 0, 1, 2
    delta = edge.rows[1][-1]
    assert delta.value == pytest.approx(0.11) and delta.n == 3
    assert 0.1 - 1e-9 <= delta.lo < delta.value < delta.hi <= 0.12 + 1e-9
    assert "Paired rows: 2 of 2" in " ".join(edge.notes)


def test_training_curves_show_losses_per_phase_and_validation(tmp_path: Path) -> None:
    import pandas as pd

    from colorbench.report.figures import curve_selection, training_curves

    names = ["pretrain/l1", "pretrain/loss", "pretrain/val_psnr", "pretrain/epoch_loss",
             "gan/g_loss", "gan/d_loss", "gan/d_real", "gan/l1", "gan/grad_l1", "gan/val_psnr",
             "gan/val_psnr_gray", "gan/epoch_g_loss"]  # fmt: skip
    curves = {n: pd.DataFrame({"step": [0, 1, 2], "value": [3.0, 2.0, 1.5]}) for n in names}
    losses, vals = curve_selection(curves)
    assert losses == ["gan/g_loss", "gan/d_loss", "pretrain/loss"]
    assert vals == ["gan/val_psnr", "pretrain/val_psnr"]
    evaluator = {n: curves["gan/l1"] for n in ("train/loss", "train/acc", "val/acc")}
    assert curve_selection(evaluator) == (["train/loss"], ["val/acc"])
    training_curves("train_fg", curves, tmp_path / "c.png")
    _assert_png(tmp_path / "c.png")


def test_paracolorizer_tables_show_piq_fid_when_both_modes_ran() -> None:
    data = metrics_json(fid=True)
    plain = results_from_dict(data)
    assert [c.key for c in content.paracolorizer_table2(plain, _ctx(plain)).columns] == [
        "method",
        "fid",
    ]
    data["fid_mode"] = "both"
    for m, entry in data["methods"].items():
        entry["fid_piq"] = _stat(MEANS[m][6] * 3, 4.0)
    both = results_from_dict(data)
    ctx = _ctx(both)
    for t in (content.paracolorizer_table1(both, ctx), content.paracolorizer_table2(both, ctx)):
        keys = [c.key for c in t.columns]
        assert "fid_piq" in keys and "fid" not in keys
        assert "FID (piq)" in to_markdown(t) and "| **36.00 ± 4.00** |" in to_markdown(t)
        assert any("FID (piq) with ParaColorizer's protocol" in n for n in t.notes)
    all_keys = [c.key for c in content.all_metrics_table(both, ctx).columns]
    assert all_keys.index("fid_piq") == all_keys.index("fid") + 1  # both, side by side
