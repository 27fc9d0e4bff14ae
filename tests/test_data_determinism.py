"""The data stages give the same bytes whatever SIMD kernels numpy picks and however many
threads or processes run them (issue: synth moved by 3 bytes between an AVX-512 and an AVX2
machine). Each configuration runs the real data stage commands (acquire, prepare, crops, saliency) in a subprocess, in a temporary
directory, and the file trees are compared with hashes committed here.

The hashes hold for x86-64 with the locked environment (requirements.lock): a different
Pillow may encode the same pixels into other PNG bytes, which the pixel hash tells apart.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from colorbench.data import detmath

REPO = Path(__file__).resolve().parents[1]

# NPY_DISABLE_CPU_FEATURES per SIMD level: native (AVX-512 where present), AVX2 (X86_V3, as
# on AMD EPYC machines without AVX-512) and numpy's baseline (SSE4.2).
_AVX2 = "AVX512_SPR AVX512_ICL X86_V4"
CONFIGS = [
    {"disable": "", "workers": 2, "threads": "2"},
    {"disable": _AVX2, "workers": 1, "threads": "1"},
    {"disable": _AVX2 + " X86_V3", "workers": 0, "threads": "1"},
]
STAGES = {
    "acquire": "data/raw",
    "prepare": "data/prepared",
    "crops": "data/crops",
    "saliency": "data/saliency",
}

# sha256 of (relative path, bytes) of every file, and of the decoded pixels of every PNG.
EXPECTED_FILES = {
    "acquire": "99a44f0635d61f628aa43d569ce5894b3ae6aa27ff95735adf01413e18845444",
    "prepare": "489d4b0bc715144b25c49681043023b55e244490fb553c25bec5487b9d284116",
    "crops": "ab629f022250d116db63fa7c99dfd10e95dfe565010bd19e43bb633090bc4dd8",
    "saliency": "e751dfada9fba723cf42bf92f91f6554a7b854e765daca9e00236bffc5b592cd",
}
EXPECTED_PIXELS = {
    "acquire": "4294823f2a785be30678db38bb29048665afd7efa154e113369407accfa4f7be",
    "prepare": "f93294b109961e3144d66634037e611aeafee22f602c886a7ae205620b0e9d1d",
    "crops": "16437ad2471320ca4e4354be79e17f628cdd7b8bfc18c62075aa9f1ace23df69",
    "saliency": "de80aff1dac10e01943687959690db796046b291c8fbf565e17ac2b2904defba",
}


def _tree_hashes(root: Path) -> tuple[str, str]:
    files, pixels = hashlib.sha256(), hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix().encode()
        files.update(rel + b"\0" + path.read_bytes())
        if path.suffix == ".png":
            with Image.open(path) as im:
                pixels.update(rel + b"\0" + im.mode.encode() + np.asarray(im).tobytes())
    return files.hexdigest(), pixels.hexdigest()


def _small_params(workers: int) -> dict:
    p = yaml.safe_load((REPO / "profiles" / "synthetic.yaml").read_text())
    p["num_workers"] = workers
    p["acquire"]["synthetic"].update(n=40, n_background=8, size=48)
    p["prepare"]["size"] = 32
    p["crops"].update(size=32, min_box=4)
    return p


def _stage_argv(stage: str) -> list[str]:
    """The stage's cmd in dvc.yaml (acquire: its `synthetic` item), run as `python -m`."""
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    cmd = (spec.get("do") or spec)["cmd"].replace("${item}", "synthetic")
    words = shlex.split(cmd, comments=True)
    assert words[0] == "colorbench", cmd
    return [sys.executable, "-m", "colorbench", *words[1:]]


def _run_stages(work: Path, cfg: dict) -> dict[str, tuple[str, str]]:
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(_small_params(cfg["workers"])))
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), NPY_DISABLE_CPU_FEATURES=cfg["disable"])
    env.update({k: cfg["threads"] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    out = {}
    for stage, target in STAGES.items():
        subprocess.run(_stage_argv(stage), cwd=work, env=env, check=True, capture_output=True)
        out[stage] = _tree_hashes(work / target)
    return out


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the hashes are x86-64's")
def test_data_stages_identical_across_simd_levels_and_threads(tmp_path: Path) -> None:
    results = [_run_stages(tmp_path / f"run{i}", cfg) for i, cfg in enumerate(CONFIGS)]
    for cfg, res in zip(CONFIGS, results, strict=True):
        for stage in STAGES:
            assert res[stage][1] == EXPECTED_PIXELS[stage], f"{stage} pixels differ under {cfg}"
            assert res[stage][0] == EXPECTED_FILES[stage], (
                f"{stage}: same pixels, other file bytes under {cfg} (Pillow/zlib not the locked one?)"
            )


def test_tables_match_math_within_a_fraction_of_a_level() -> None:
    x = np.linspace(-40, 40, 100_001)
    assert np.abs(detmath.sin(x) - np.sin(x)).max() < 1e-6
    assert np.abs(detmath.cos(x) - np.cos(x)).max() < 1e-6
    z = np.linspace(0, 30, 100_001)
    assert np.abs(detmath.exp_neg(z) - np.exp(-z)).max() < 1e-6
    t = np.linspace(-0.5, 1.5, 100_001)
    ref = np.clip(t, 0, 1) ** 0.8
    assert np.abs(detmath.pow_unit(t, 0.8) - ref).max() < 2e-3  # steep only right at 0
    assert np.abs(detmath.pow_unit(t, 0.8) - ref)[t > 0.01].max() < 1e-6
    g = detmath.gamma_u8(t, 1.2)
    assert g.dtype == np.uint8
    assert np.abs(g.astype(int) - np.round(255 * np.clip(t, 0, 1) ** 1.2)).max() <= 1


@pytest.mark.slow
@pytest.mark.cost(35)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="the committed lock is x86-64's")
def test_committed_lock_data_stages_reproduce_on_this_machine(tmp_path: Path) -> None:
    """The full-size data stages of the committed dvc.lock, rebuilt here (CI: another
    machine) with `dvc repro`, give every out the committed md5 (issue: a fresh clone must
    reproduce the committed data byte for byte)."""
    from test_pipeline_e2e import _copy_repo, _run

    work = tmp_path / "repo"
    work.mkdir()
    _copy_repo(REPO, work)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    _run(["git", "init", "-q"], work)
    _run([*git, "add", "-A"], work)
    _run([*git, "commit", "-qm", "init"], work)
    stages = ["acquire@synthetic", *list(STAGES)[1:]]
    _run(["dvc", "repro", "--single-item", *stages], work)

    def outs(lock: Path) -> dict[str, str]:
        entries = yaml.safe_load(lock.read_text())["stages"]
        return {o["path"]: o["md5"] for s in stages for o in entries[s]["outs"]}

    committed, rebuilt = outs(REPO / "dvc.lock"), outs(work / "dvc.lock")
    assert set(committed) == set(rebuilt) and len(committed) >= len(STAGES)
    differ = {p: (committed[p], rebuilt[p]) for p in committed if committed[p] != rebuilt[p]}
    assert not differ, f"data differs from the committed dvc.lock: {differ}"
