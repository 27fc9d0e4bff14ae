"""`colorbench seeds`: seed experiments -> reports/seeds.md (statistics checked against the
statistics module; the DVC side with real `dvc exp run --temp` in a throwaway repo)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from colorbench.errors import ColorbenchError
from colorbench.report import seeds as sd
from colorbench.report.experiments import Run
from colorbench.report.load import results_from_dict

# PSNR per method and seed: fused beats fg and bg in seeds 0 and 1 but not in seed 2.
PSNR = {
    "gray": [15.0, 15.0, 15.0],
    "fg": [19.0, 19.4, 20.9],
    "bg": [20.0, 20.1, 20.2],
    "fused": [20.5, 20.6, 20.4],
    "scgan": [22.0, 22.5, 21.8],
}


def _run(name: str, kind: str, params: dict, psnr: dict[str, float]) -> Run:
    data = {"n_images": 10, "methods": {m: {"psnr": v, "ssim": 0.5 + v / 100, "fid": None}
                                        for m, v in psnr.items()}}  # fmt: skip
    return Run(name, name, kind, params, results_from_dict(data))


def _runs(extra: list[Run] | None = None) -> list[Run]:
    base = {"seed": 0, "train_seed": 0, "train_fg": {"lambda_edge": 0.5}}
    runs = [_run("workspace", "workspace", base, {m: v[0] for m, v in PSNR.items()})]
    for s in range(3):
        params = {**base, "train_seed": s}
        runs.append(_run(f"seed-{s}", "experiment", params, {m: v[s] for m, v in PSNR.items()}))
    other = {**base, "train_seed": 1, "seed": 7}  # other data: must never be mixed in
    runs.append(_run("stale", "experiment", other, {m: 0.0 for m in PSNR}))
    return runs + (extra or [])


def test_summary_statistics_and_claims() -> None:
    text = sd.render(_runs(), [0, 1, 2], "reports/seeds.md")
    for method, values in PSNR.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {method} |"))
        mean, sdev = statistics.mean(values), statistics.stdev(values)
        assert f"{mean:.2f} ± {sdev:.2f}" in row, row
    assert "FID" not in text.split("\n\n")[2]  # unavailable everywhere: no column
    assert "fused better than both inputs (fg, bg) on PSNR (dB): holds in 2 of 3 seeds" in text
    assert "SCGAN better than every other method on PSNR (dB): holds in all 3 seeds" in text
    assert "PSNR ranking by mean: scgan > fused > bg > fg > gray" in text
    assert "fused > bg (3/3)" in text and "bg > fg (2/3)" in text
    assert "dvc exp run --temp -S train_seed=2 -n seed-2" in text
    assert "Table IV trend: fewer than two" in text


def test_table_iv_compared_with_seed_noise() -> None:
    base = {"seed": 0, "train_seed": 0}
    sweep = [
        _run(f"edge-{lam}", "experiment", {**base, "train_fg": {"lambda_edge": lam}},
             {"fg": 19.0 + 4 * lam})
        for lam in (0.0, 1.0)
    ]  # fmt: skip
    text = sd.render(_runs(sweep), [0, 1, 2], "reports/seeds.md")
    fg_sd = statistics.stdev(PSNR["fg"])
    assert f"spread of 4.00 dB exceeds twice the seed sd of fg's PSNR ({fg_sd:.2f} dB" in text


def test_too_few_seeds_is_one_clear_error() -> None:
    with pytest.raises(ColorbenchError, match="at least 2 finished seed experiments"):
        sd.render(_runs()[:2], [0, 1, 2], "reports/seeds.md")


def test_report_links_seeds_when_present(tmp_path: Path) -> None:
    from test_report import _config, make_project

    from colorbench.report import build_report

    root = make_project(tmp_path)
    (root / "reports" / "seeds.md").write_text("# Seed variance\n")
    cfg = _config(root, missing=("outputs", "prepared", "logs", "saliency_pred", "saliency_gt"))
    build_report(cfg)
    assert "[seeds.md](seeds.md)" in (root / "reports" / "README.md").read_text()


@pytest.mark.cost(20)
@pytest.mark.slow
def test_cli_runs_seed_experiments_with_real_dvc(tmp_path: Path) -> None:
    """A throwaway DVC project whose one stage 'trains' from train_seed; the CLI runs the
    three seeds as real `dvc exp run --temp` experiments and summarises them."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    (tmp_path / "train.py").write_text(
        "import json, os, yaml\n"
        "s = yaml.safe_load(open('params.yaml'))['train_seed']\n"
        "psnr = {'gray': 15.0, 'fg': 19.0 + s, 'bg': 20.0 + s / 10, 'fused': 21.0, 'scgan': 22.0}\n"
        "m = {'n_images': 5, 'methods': {k: {'psnr': v} for k, v in psnr.items()}}\n"
        "os.makedirs('reports', exist_ok=True)\n"
        "json.dump(m, open('reports/metrics.json', 'w'))\n"
    )
    (tmp_path / "params.yaml").write_text("seed: 0\ntrain_seed: 0\n")
    (tmp_path / "dvc.yaml").write_text(
        f"stages:\n  train:\n    cmd: {sys.executable} train.py\n    deps: [train.py]\n"
        "    params: [train_seed]\n    metrics:\n      - reports/metrics.json:\n"
        "          cache: false\n"
    )
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
               PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))  # fmt: skip

    def sh(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=tmp_path, check=True, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip

    sh("git", "init", "-q")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    sh(sys.executable, "-m", "dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "init")
    cli = [sys.executable, "-m", "colorbench.cli", "seeds", "3", "--out", "reports/seeds.md"]
    first = sh(*cli)
    # seed 0 is the committed `dvc repro` run; seeds 1 and 2 run as experiments
    assert first.stderr.count("dvc exp run --temp") == 2
    assert "train_seed=0 -n seed-0" not in first.stderr
    text = (tmp_path / "reports" / "seeds.md").read_text()
    assert "dvc repro  # train_seed=0: the committed pipeline run (dvc.lock)" in text
    assert "| fg | 20.00 ± 1.00 |" in text
    assert "fused better than both inputs (fg, bg) on PSNR (dB): holds in 2 of 3 seeds" in text
    again = sh(*cli)  # finished seeds are reused, not re-run
    assert "dvc exp run --temp" not in again.stderr
    assert (tmp_path / "reports" / "seeds.md").read_text() == text


def test_train_seed_leaves_data_choices_on_the_global_seed(tmp_path: Path) -> None:
    """A seed run varies training noise only: SCGAN's data subset follows `seed`, not
    `train_seed`."""
    import yaml

    from colorbench.params import section

    params = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    params["seed"], params["train_seed"] = 7, 99
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    sec = section("train_scgan", path)
    assert sec["seed"] == 99 and sec["data_seed"] == 7
