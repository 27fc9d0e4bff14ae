"""`colorbench colorize` skips bad inputs, records them in <out>/rejects.csv, colorizes the
rest, and fails only when nothing could be colorized."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from colorbench.cli import main
from colorbench.models.checkpoint import save_model
from colorbench.models.registry import build_fusion, build_generator


@pytest.fixture
def models(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    root = tmp_path / "models"
    for name, cfg in {"fg": {"arch": "resunet_attn", "width": 4},
                      "bg": {"arch": "resunet", "width": 4}}.items():  # fmt: skip
        save_model(root / f"{name}.pt", "generator", cfg, build_generator(cfg), {"image_size": 32})
    save_model(root / "fusion.pt", "fusion", {"width": 4}, build_fusion({"width": 4}))
    return root


def _inputs(folder: Path, good: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(good):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
            folder / f"g{i}.png"
        )
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "empty.jpg").write_bytes(b"")


def _rejects(out: Path) -> dict[str, str]:
    df = pd.read_csv(out / "rejects.csv")
    assert list(df.columns) == ["path", "reason"]
    return {Path(p).name: r for p, r in zip(df["path"], df["reason"], strict=True)}


@pytest.mark.parametrize("method", ["fg", "fused"])
def test_bad_inputs_are_skipped_and_recorded(tmp_path, models, method):
    _inputs(tmp_path / "in", good=2)
    out = tmp_path / "out"
    args = ["colorize", "--method", method, "--input", str(tmp_path / "in"), "--out", str(out),
            "--device", "cpu", "--batch-size", "4"]  # fmt: skip
    if method == "fg":
        args += ["--checkpoint", str(models / "fg.pt")]
    else:
        args += ["--fg", str(models / "fg.pt"), "--bg", str(models / "bg.pt"),
                 "--fusion", str(models / "fusion.pt")]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.glob("*.png")) == ["g0.png", "g1.png"]
    for p in out.glob("*.png"):
        assert Image.open(p).size == (48, 40)
    rejects = _rejects(out)
    assert sorted(rejects) == ["broken.png", "empty.jpg"]
    assert all(r for r in rejects.values())
    assert "2 input(s) rejected" in res.output and "Traceback" not in res.output


def test_nothing_colorizable_is_an_error(tmp_path, models):
    _inputs(tmp_path / "in", good=0)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "colorize", "--method", "fg", "--checkpoint", str(models / "fg.pt"),
        "--input", str(tmp_path / "in"), "--out", str(out), "--device", "cpu"])  # fmt: skip
    assert res.exit_code == 1
    assert "no input could be colorized" in res.output
    assert sorted(_rejects(out)) == ["broken.png", "empty.jpg"]
