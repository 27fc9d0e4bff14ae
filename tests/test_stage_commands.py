"""The crops/saliency stage commands, run as dvc.yaml runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from coco_fixture import SOURCE, make_dataset

REPO = Path(__file__).resolve().parents[1]


def _run_stage(stage: str, root: Path) -> subprocess.CompletedProcess:
    """The dvc.yaml stage's command, as `python -m colorbench ...`."""
    argv = [
        stage,
        "--params",
        "params.yaml",
        "--prepared",
        "data/prepared",
        "--out",
        f"data/{stage}",
    ]
    return subprocess.run(
        [sys.executable, "-m", "colorbench", *argv], cwd=root, capture_output=True, text=True
    )


@pytest.mark.slow
def test_crops_and_saliency_stage_scripts(tmp_path: Path) -> None:
    """`colorbench crops|saliency --params` read their sections and prepare.sources."""
    ds = make_dataset(tmp_path / "proj" / "data", n=2)
    root = tmp_path / "proj"
    params = {
        "seed": 0,
        "num_workers": 0,
        "prepare": {"sources": [{"name": SOURCE, "path": "x", "annotations": str(ds.annotations)}]},
        "crops": {"min_box": 1, "top_k": 2, "materialize": False},
        "saliency": {"backend": "masks"},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("crops", "saliency"):
        proc = _run_stage(stage, root)
        assert proc.returncode == 0, proc.stderr
    boxes = pd.read_csv(root / "data" / "crops" / "boxes.csv")
    assert len(boxes) == 4 and boxes["crop_path"].isna().all()  # top_k=2 per image, no PNGs
    assert not (root / "data" / "crops" / "crops").exists()
    assert len(list((root / "data" / "saliency").glob("*.png"))) == 3
    (root / "params.yaml").write_text(yaml.safe_dump({**params, "crops": {"backend": "yolo"}}))
    proc = _run_stage("crops", root)
    assert proc.returncode == 1
    assert "error: params.yaml: crops.backend: 'yolo' is not one of annotations, maskrcnn" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr
