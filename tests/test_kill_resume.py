"""Kill -9 at step k, rerun, compare with an uninterrupted run: for every trainer and for
num_workers 0 and 2. Each run is its own process, so nothing survives the kill but what
the trainer wrote to disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_scgan_train import make_evaluator, make_prepared

from colorbench.models.checkpoint import read_checkpoint

HERE = Path(__file__).resolve().parent
KILL_AT = 3  # mid-epoch, one step after the checkpoint at step 2


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("killresume")
    make_prepared(root)  # 16 train images of 32x32, with saliency maps and labels
    make_evaluator(root / "evaluator.pt")
    return root


def _run(root: Path, trainer: str, workers: int, *runs: str):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE)]),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    args = [sys.executable, str(HERE / "_resume_driver.py"), trainer, str(root), str(workers),
            *runs]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.cost(25)
@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("trainer", ["unet", "fg", "bg", "fusion", "global", "scgan"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(root, trainer, workers):
    tag = f"{trainer}-w{workers}"
    # an uninterrupted run, then (same process) one that is SIGKILLed at step KILL_AT
    killed = _run(root, trainer, workers, f"{tag}-ref", f"{tag}-run:{KILL_AT}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (root / f"{tag}-ref" / "model.pt").is_file()
    assert not (root / f"{tag}-run" / "model.pt").exists()
    resumed = _run(root, trainer, workers, f"{tag}-run")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "from step 2" in resumed.stderr
    a = read_checkpoint(root / f"{tag}-ref" / "model.pt")
    b = read_checkpoint(root / f"{tag}-run" / "model.pt")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    assert a["meta"] == b["meta"]
    # identical tensors and meta -> byte-identical files (what DVC's md5 sees)
    assert (root / f"{tag}-ref" / "model.pt").read_bytes() == (
        root / f"{tag}-run" / "model.pt"
    ).read_bytes()
    ref_m = root / f"{tag}-ref" / "logs"
    run_m = root / f"{tag}-run" / "logs"
    for tsv in sorted(ref_m.rglob("*.tsv")):
        assert (run_m / tsv.relative_to(ref_m)).read_text() == tsv.read_text(), tsv.name
