"""`colorbench colorize` and the colorize stage on a tiny prepared set with tiny models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from click.testing import CliRunner
from PIL import Image

from colorbench.cli import main
from colorbench.colorize.stage import run_stage
from colorbench.data.manifest import COLUMNS
from colorbench.errors import ColorbenchError
from colorbench.models.checkpoint import save_model
from colorbench.models.registry import build_fusion, build_generator

REPO = Path(__file__).resolve().parents[1]
SIZE = 32


def _models(models: Path) -> None:
    torch.manual_seed(0)
    for name, cfg in {
        "unet": {"arch": "unet", "width": 4, "depth": 5},
        "fg": {"arch": "resunet_attn", "width": 4},
        "bg": {"arch": "resunet", "width": 4},
    }.items():
        save_model(
            models / f"{name}.pt", "generator", cfg, build_generator(cfg), {"image_size": SIZE}
        )
    save_model(models / "fusion.pt", "fusion", {"width": 4}, build_fusion({"width": 4}))


def _prepared(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    for i, split in enumerate(["train", "test", "val", "test", "test"]):
        image_id = f"img{i}"
        img = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / "images" / f"{image_id}.png")
        rows.append(
            dict(id=image_id, source="synthetic", role="main", split=split, grayscale=False,
                 label="a", orig_path=f"{image_id}.png", orig_width=SIZE, orig_height=SIZE,
                 width=SIZE, height=SIZE)
        )  # fmt: skip
    pd.DataFrame(rows, columns=COLUMNS).to_csv(root / "manifest.csv", index=False)
    return [r["id"] for r in rows if r["split"] == "test"]


@pytest.fixture
def work(tmp_path: Path) -> tuple[Path, list[str]]:
    _models(tmp_path / "models")
    return tmp_path, _prepared(tmp_path / "data" / "prepared")


def test_stage_methods(work) -> None:
    root, test_ids = work
    dirs = {"prepared_dir": root / "data" / "prepared", "outputs_dir": root / "outputs"}
    models = root / "models"
    params = {"batch_size": 2, "device": "cpu", "num_workers": 1, "fusion_strategy": "l1norm"}
    for method in ("unet", "fg", "bg"):
        run_stage(method, params, checkpoints={"model": models / f"{method}.pt"}, **dirs)
    run_stage("overlay", params, alpha="0.5", **dirs)
    with pytest.raises(ColorbenchError, match="fused needs --checkpoint fusion=PATH"):
        run_stage("fused", params, **dirs)
    run_stage("fused", params, checkpoints={"fusion": models / "fusion.pt"}, **dirs)
    for method in ("unet", "fg", "bg", "overlay_a0.5", "fused"):
        out = root / "outputs" / method
        assert sorted(p.stem for p in out.iterdir()) == sorted(test_ids), method
        assert all(np.asarray(Image.open(p)).shape == (SIZE, SIZE, 3) for p in out.iterdir())
    assert not [p for p in (root / "outputs").iterdir() if p.name.startswith(".")]  # no temps
    swapped = root / "swapped"
    swapped.mkdir()
    (swapped / "fg.pt").symlink_to(root / "models" / "fusion.pt")
    with pytest.raises(ColorbenchError, match="needs a generator checkpoint"):
        run_stage("fg", params, checkpoints={"model": swapped / "fg.pt"}, **dirs)
    with pytest.raises(ColorbenchError, match="not declared"):
        run_stage("external", params, name="ddcolor", **dirs)


def test_stage_delegates_gray_and_external(work) -> None:
    root, test_ids = work
    dirs = {"prepared_dir": root / "data" / "prepared", "outputs_dir": root / "outputs"}
    ext = root / "ddcolor_out"
    ext.mkdir()
    for i in test_ids:
        Image.fromarray(np.full((SIZE, SIZE, 3), 90, np.uint8)).save(ext / f"{i}.png")
    params = {"device": "cpu", "num_workers": 0, "external": {"ddcolor": str(ext)}}
    run_stage("gray", params, **dirs)
    run_stage("external", params, name="ddcolor", **dirs)
    for method in ("gray", "ddcolor"):
        out = root / "outputs" / method
        assert sorted(p.stem for p in out.iterdir()) == sorted(test_ids), method


@pytest.mark.slow  # two fresh interpreters importing torch: ~20 s on a loaded 2-core box
def test_stage_command(work) -> None:
    root, test_ids = work
    (root / "params.yaml").write_text(
        yaml.safe_dump(
            {"seed": 0, "device": "cpu", "num_workers": 1, "colorize": {"batch_size": 4}}
        )
    )

    def stage(method: str, *args: str) -> subprocess.CompletedProcess:  # as dvc.yaml runs it
        argv = [sys.executable, "-m", "colorbench", "colorize-protocol", method, "--params",
                "params.yaml", "--prepared", "data/prepared", "--checkpoint",
                f"models/{method}.pt", "--outputs", "outputs", *args]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        return subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env)

    ok = stage("bg", "--out", "outputs/bg")
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.stem for p in (root / "outputs" / "bg").iterdir()) == sorted(test_ids)
    bad = stage("scgan", "--saliency-out", "outputs_saliency")
    assert bad.returncode == 1 and "scgan.pt not found" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cli(work) -> None:
    root, _ = work
    inp = root / "photos"
    inp.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(inp / "p1.jpg")
    Image.fromarray(rng.integers(0, 256, (41, 33), dtype=np.uint8)).save(inp / "p2.png")
    models = root / "models"
    runner = CliRunner()
    common = ["--input", str(inp), "--size", "32", "--batch-size", "2", "--device", "cpu"]

    res = runner.invoke(main, ["colorize", "-m", "fg", "--checkpoint", str(models / "fg.pt"),
                               "--out", str(root / "o1"), *common])  # fmt: skip
    assert res.exit_code == 0, res.output
    shapes = {p.name: np.asarray(Image.open(p)).shape for p in (root / "o1").iterdir()}
    assert shapes == {"p1.png": (50, 70, 3), "p2.png": (41, 33, 3)}

    res = runner.invoke(main, ["colorize", "-m", "fused", "--fg", str(models / "fg.pt"),
                               "--bg", str(models / "bg.pt"), "--fusion", str(models / "fusion.pt"),
                               "--strategy", "addition", "--out", str(root / "o2"), *common])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (root / "o2").iterdir()) == ["p1.png", "p2.png"]

    res = runner.invoke(main, ["colorize", "-m", "overlay", "--fg", str(models / "fg.pt"),
                               "--bg", str(models / "bg.pt"), "--alpha", "0.25",
                               "--out", str(root / "o3"), *common])  # fmt: skip
    assert res.exit_code == 0, res.output
    # overlay_a<alpha>, the DVC stage's method name, is the same overlay
    res = runner.invoke(main, ["colorize", "-m", "overlay_a0.25", "--fg", str(models / "fg.pt"),
                               "--bg", str(models / "bg.pt"), "--out", str(root / "o3b"), *common])  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("p1.png", "p2.png"):
        same = np.asarray(Image.open(root / "o3" / name)) == np.asarray(
            Image.open(root / "o3b" / name)
        )
        assert same.all(), name

    for args, msg in [
        (["-m", "fg", "--out", str(root / "o4")], "needs --checkpoint"),
        (["-m", "fg", "--checkpoint", str(models / "fg.pt"), "--out", str(inp)], "never overwritten"),
        (["-m", "fused", "--fg", str(models / "fg.pt"), "--out", str(root / "o5")], "--bg --fusion"),
        (["-m", "bg", "--checkpoint", str(models / "fusion.pt"), "--out", str(root / "o6")], "generator"),
        (["-m", "fg", "--checkpoint", str(models / "fg.pt"), "--out", str(root / "o7"),
          "--device", "cuda:x"], "bad device"),
        (["-m", "fgg", "--checkpoint", str(models / "fg.pt"), "--out", str(root / "o8")],
         "unknown --method 'fgg'"),
        (["-m", "scgan", "--checkpoint", str(models / "fg.pt"), "--out", str(root / "o9")],
         "needs a scgan checkpoint"),
        (["-m", "overlay_a1.5", "--fg", str(models / "fg.pt"), "--bg", str(models / "bg.pt"),
          "--out", str(root / "o10")], "alpha must be a number in [0, 1]"),
    ]:  # fmt: skip
        res = runner.invoke(main, ["colorize", *common, *args])
        assert res.exit_code == 1 and msg in res.output, (args, res.output)
        assert "Traceback" not in res.output
