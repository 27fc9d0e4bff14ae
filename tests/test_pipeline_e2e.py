"""End to end: the real `dvc repro` of the whole DAG on a tiny synthetic profile, in a
temporary copy of the repository (never inside the repo)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_study_browser import complete_by_keyboard

pytestmark = pytest.mark.slow


def _count_numbers(obj) -> int:
    if isinstance(obj, dict):
        return sum(_count_numbers(v) for v in obj.values())
    return int(isinstance(obj, (int, float)) and not isinstance(obj, bool))


def _tiny_params(params: dict) -> dict:
    """The default synthetic profile shrunk so the whole DAG runs in a few minutes."""
    p = json.loads(json.dumps(params))
    p["num_workers"] = 0
    p["acquire"]["synthetic"].update(n=90, n_background=20, size=48)
    p["prepare"]["size"] = 32
    p["prepare"]["split"] = {"val": 0.1, "test": 0.2}
    p["crops"].update(size=32, min_box=4)
    for name in ("train_unet", "train_fg", "train_bg"):
        p[name].update(pretrain_epochs=1, gan_epochs=1, batch_size=8)
        p[name]["generator"]["width"] = 4
        p[name]["discriminator"]["width"] = 4
    p["train_unet"]["generator"]["depth"] = 5
    p["train_fusion"].update(epochs=1, batch_size=8, width=4)
    p["train_evaluator"].update(epochs=1, width=8)
    p["train_global"].update(epochs=1, width=4)
    p["train_scgan"].update(phase1_epochs=1, phase2_epochs=1, batch_size=8, width=4)
    p["colorize"]["overlay_alphas"] = [0.5]  # one overlay stage per protocol, not three
    p["evaluate"]["bootstrap"] = 50
    p["report"]["grid_images"] = 2
    return p


def _copy_repo(src: Path, dst: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=src,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for rel in filter(None, files):
        path = src / rel.decode()
        if path.is_file() and not rel.startswith(b"tests/"):
            target = dst / rel.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["DVC_NO_ANALYTICS"] = "1"
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


def _md5s(root: Path, *paths: str) -> dict[str, str]:
    import hashlib

    out = {}
    for rel in paths:
        for f in sorted((root / rel).rglob("*")) if (root / rel).is_dir() else [root / rel]:
            if f.is_file():
                out[str(f.relative_to(root))] = hashlib.md5(f.read_bytes()).hexdigest()
    return out


def _stages_run(stdout: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", stdout))


def _check_metrics(work: Path) -> None:
    """metrics.json / metrics_details.json schema, counts against the manifest, per-image
    rows, and a paired test for every method but the baseline."""
    import pandas as pd

    manifest = pd.read_csv(work / "data/prepared/manifest.csv", dtype=str, keep_default_na=False)
    n_test = int(((manifest["split"] == "test") & (manifest["role"] == "main")).sum())
    assert n_test > 0
    head = json.loads((work / "reports/metrics.json").read_text())
    details = json.loads((work / "reports/metrics_details.json").read_text())
    assert {"n_images", "methods"} <= set(head) and head["n_images"] == n_test
    assert details["n_images"] == n_test and details["profile"] == "synthetic"
    methods = set(details["methods"])
    assert {"gray", "unet", "fg", "bg", "fused", "scgan", "overlay_a0.5"} <= methods
    assert set(head["methods"]) == methods
    for method, summary in details["methods"].items():
        cni = summary["cni"]  # undefined on colourless images: then unavailable, with a reason
        assert cni["n"] + cni.get("n_undefined", 0) == n_test, method
        assert cni["n"] > 0 or (cni["available"] is False and cni["reason"]), method
        for key in ("psnr", "ssim", "colorfulness"):
            entry = summary[key]
            assert set(entry) >= {"mean", "std", "ci95", "n"}, (method, key)
            assert entry["n"] == n_test and np.isfinite(entry["mean"]), (method, key)
            assert len(entry["ci95"]) == 2 and entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
        assert summary["psnr"]["mean"] > 5 and 0 < summary["ssim"]["mean"] <= 1
        assert head["methods"][method]["psnr"] == summary["psnr"]["mean"]
        for key, entry in summary.items():  # available, or unavailable with a reason
            assert "mean" in entry and (entry.get("available", True) or entry["reason"]), key
        rows = pd.read_csv(work / "reports/per_image" / f"{method}.csv", dtype={"image": str})
        assert len(rows) == n_test and rows["image"].is_unique, method
        assert set(rows["image"]) == set(
            manifest.loc[(manifest["split"] == "test") & (manifest["role"] == "main"), "id"]
        )
        assert rows["psnr"].mean() == pytest.approx(summary["psnr"]["mean"])
    assert set(details["paired"]) == methods - {"gray"}
    for method, tests in details["paired"].items():
        assert tests["psnr"]["vs"] == "gray" and tests["psnr"]["n"] == n_test, method
        assert 0 <= tests["psnr"]["p_value"] <= 1
    gray_fid = details["methods"]["gray"]["fid"]
    assert gray_fid["available"] is False and "colorbench weights" in gray_fid["reason"]


@pytest.mark.cost(300)
def test_dvc_repro_whole_dag(repo_root: Path, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    _copy_repo(repo_root, work)
    params = yaml.safe_load((work / "params.yaml").read_text())
    tiny = yaml.safe_dump(_tiny_params(params), sort_keys=False)
    (work / "params.yaml").write_text(tiny)
    (work / "profiles/synthetic.yaml").write_text(tiny)  # the copy's default profile: tiny
    # a profile that differs in its name, one training param and one report param only
    variant = _tiny_params(params)
    variant.update(profile="variant")
    variant["train_fg"]["lambda_edge"] = 0.25
    variant["report"]["grid_images"] = 3
    (work / "profiles/variant.yaml").write_text(yaml.safe_dump(variant, sort_keys=False))
    _run(["git", "init", "-q"], work)
    _run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], work)
    _run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], work)

    _run(["dvc", "repro"], work)

    _check_metrics(work)
    metrics = json.loads((work / "reports/metrics_details.json").read_text())
    methods = metrics["methods"]
    for method in ("gray", "unet", "fg", "bg", "fused", "scgan", "scgan_l", "overlay_a0.5"):
        assert method in methods, method
        assert methods[method]["psnr"]["mean"] > 0
    assert methods["gray"]["fid"]["available"] is False and methods["gray"]["fid"]["reason"]
    # two evaluation protocols, each with its own outputs, N and metrics
    assert metrics["protocol"] == "test" and set(metrics["protocols"]) == {"test", "test_balanced"}
    balanced = metrics["protocols"]["test_balanced"]
    assert (
        0 < balanced["n_images"] <= metrics["n_images"] and "fid" not in balanced["methods"]["fg"]
    )
    n_bal = len(list((work / "outputs/test_balanced/scgan").iterdir()))
    assert n_bal == balanced["n_images"]
    scgan_table = (work / "reports/tables/scgan_table1.md").read_text()
    assert "Protocol: test_balanced" in scgan_table and f"N = {n_bal} images" in scgan_table
    head = json.loads((work / "reports/metrics.json").read_text())  # DVC's: means only
    assert head["methods"]["fused"]["psnr"] == methods["fused"]["psnr"]["mean"]
    assert head["protocol"] == "test" and set(head["protocols"]) == {"test_balanced"}
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], work).stdout)
    assert 0 < _count_numbers(shown) <= 150  # DVC's metrics file stays terminal-sized
    report = (work / "reports/README.md").read_text()
    assert "gray" in report and "scgan" in report
    for link in (work / "reports").rglob("*.png"):
        assert link.stat().st_size > 0
    status = json.loads(_run(["dvc", "status", "--json"], work).stdout or "{}")
    assert status == {}

    # Re-running one training stage from scratch reproduces its outputs byte for byte.
    before = _md5s(work, "models/unet.pt", "logs/train_unet/plots/metrics")
    shutil.rmtree(work / "checkpoints" / "train_unet")
    out = _run(["dvc", "repro", "--force", "--single-item", "train_colorizer@unet"], work).stdout
    assert _stages_run(out) == {"train_colorizer@unet"}
    assert _md5s(work, "models/unet.pt", "logs/train_unet/plots/metrics") == before
    assert json.loads(_run(["dvc", "status", "--json"], work).stdout or "{}") == {}

    # `profile use` -> dvc status names exactly the stages whose params changed.
    exe = str(Path(sys.executable).parent / "colorbench")
    _run([exe, "profile", "use", "variant"], work)
    status = json.loads(_run(["dvc", "status", "--json"], work).stdout)
    # `profile` is a param of evaluate and report; lambda_edge of train_fg and report
    assert set(status) == {"train_colorizer@fg", "evaluate", "report"}
    _run([exe, "profile", "use", "synthetic"], work)
    assert json.loads(_run(["dvc", "status", "--json"], work).stdout or "{}") == {}

    # An ablation as a real DVC experiment re-runs train_fg and what depends on it, only.
    out = _run(["dvc", "exp", "run", "-S", "train_fg.lambda_edge=0.25"], work).stdout
    names = _run(["dvc", "stage", "list", "--name-only"], work).stdout.split()
    downstream = ("colorize_model@fg", "colorize_overlay@", "colorize_fused@")
    expected = {"train_colorizer@fg", "evaluate", "report"}
    expected |= {n for n in names if n.startswith(downstream)}
    assert _stages_run(out) == expected
    assert json.loads(_run(["dvc", "status", "--json"], work).stdout or "{}") == {}

    # Code is a dep (tools/stage_deps.py): editing the Res-UNet changes the stages that run it,
    # fg's and bg's training, not the U-Net's; `dvc repro` then re-runs whatever their new
    # checkpoints feed (colorize fg/bg, overlay, fused, evaluate, report).
    net = work / "src/colorbench/models/resunet.py"
    original = net.read_bytes()
    net.write_bytes(original + b"\n# edited\n")
    status = json.loads(_run(["dvc", "status", "--json"], work).stdout)
    assert set(status) == {"train_colorizer@fg", "train_colorizer@bg"}
    net.write_bytes(original)
    # Changing one report param re-runs the report stage only.
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["report"]["grid_images"] = 3
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(_run(["dvc", "status", "--json"], work).stdout)
    assert set(status) == {"report"}
    assert "No human study has been scored" in report

    # A blind study of the run's outputs, taken in Chromium with the keyboard alone (scripted
    # answers), then scored by the `study` stage into the report.
    _run(["colorbench", "study", "build", "--method", "unet", "--method", "scgan",
          "--participants", "1", "--batches", "1", "--per-batch", "2", "--trial", "1",
          "--groups", "1", "--outputs", "outputs/test", "--prepared", "data/prepared",
          "--out", "studies/e2e"], work)  # fmt: skip
    complete_by_keyboard(work / "studies" / "e2e")
    _run(["dvc", "repro"], work)
    scores = json.loads((work / "reports/study/scores.json").read_text())
    assert scores[0]["fooling"]["methods"]["scgan"]["F"]["mean"] == 0.75  # wrong, not sure
    assert "### Study `e2e`" in (work / "reports/README.md").read_text()


def test_profile_switch_changes_only_declared_params(repo_root: Path, tmp_path: Path) -> None:
    """`colorbench profile use` rewrites params.yaml from profiles/; the embedded default is
    identical to profiles/synthetic.yaml, so a fresh clone runs the synthetic profile."""
    assert (repo_root / "params.yaml").read_text() == (
        repo_root / "profiles/synthetic.yaml"
    ).read_text()
    work = tmp_path / "r"
    shutil.copytree(repo_root / "profiles", work / "profiles")
    shutil.copy2(repo_root / "params.yaml", work / "params.yaml")
    exe = Path(sys.executable).parent / "colorbench"
    out = subprocess.run(
        [str(exe), "profile", "use", "paper", "--root", str(work)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load((work / "params.yaml").read_text())["profile"] == "paper"
    bad = subprocess.run(
        [str(exe), "profile", "use", "nope", "--root", str(work)], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "no profile 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
