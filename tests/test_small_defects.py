"""The smaller defects of issue 15: a training last.pt given to colorize, a generator of
another method, an undecodable file named by its path (not a BytesIO repr)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from colorbench.cli import main
from colorbench.models.checkpoint import save_model
from colorbench.models.registry import build_generator
from colorbench.train.checkpointing import rng_state, save_checkpoint


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(folder / "a.png")
    return folder


def _colorize(tmp_path: Path, photos: Path, method: str, ckpt: Path):
    return CliRunner().invoke(main, [
        "colorize", "--method", method, "--checkpoint", str(ckpt), "--input", str(photos),
        "--out", str(tmp_path / "out"), "--device", "cpu"])  # fmt: skip


def test_training_checkpoint_given_to_colorize_is_recognised(tmp_path, photos):
    net = build_generator({"arch": "unet", "width": 4, "depth": 5})
    last = tmp_path / "checkpoints" / "train_unet" / "last.pt"
    opt = torch.optim.Adam(net.parameters())
    save_checkpoint(last, {"config_hash": "abc", "position": {"step": 3},
                           "modules": {"G": net.state_dict()},
                           "optimizers": {"g": opt.state_dict()}, "rng": rng_state()})  # fmt: skip
    res = _colorize(tmp_path, photos, "unet", last)
    assert res.exit_code == 1
    assert "is a training checkpoint" in res.output and "models/<name>.pt" in res.output
    assert "corrupt" not in res.output and "Traceback" not in res.output


def test_method_must_match_the_generator_it_was_trained_as(tmp_path, photos):
    cfg = {"arch": "unet", "width": 4, "depth": 5}
    ckpt = save_model(tmp_path / "unet.pt", "generator", cfg, build_generator(cfg),
                      {"name": "unet", "image_size": 32})  # fmt: skip
    res = _colorize(tmp_path, photos, "fg", ckpt)
    assert res.exit_code == 1
    assert "is the 'unet' generator" in res.output and "--method unet" in res.output
    assert not (tmp_path / "out" / "a.png").exists()
    res = _colorize(tmp_path, photos, "unet", ckpt)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "a.png").is_file()


def test_undecodable_file_is_named_by_its_path(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(gt / "a.png")
    (pred / "a.png").write_bytes(b"definitely not an image" * 4)
    res = CliRunner().invoke(main, [
        "evaluate", "--pred", str(pred), "--gt", str(gt), "--out", str(tmp_path / "m.json"),
        "--metrics", "psnr", "--workers", "0"])  # fmt: skip
    assert res.exit_code == 1
    assert "BytesIO" not in res.output
    assert f"cannot identify image file '{pred / 'a.png'}'" in res.output
