"""ParaColorizer's trainers (unet/fg/bg GANs, DenseFuse) on tiny models and toy data."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from test_train_data import make_crops, make_prepared

from colorbench.errors import ColorbenchError
from colorbench.methods.paracolorizer.train_colorizer import ColorizerSteps, train_colorizer
from colorbench.methods.paracolorizer.train_fusion import FusionSteps, train_fusion
from colorbench.models.checkpoint import load_model
from colorbench.train.common import TrainRun
from colorbench.train.data import colorizer_dataset, stack
from colorbench.train.loop import LoopConfig, Position, StepContext, TrainLoop

TINY = {
    "seed": 0,
    "device": "cpu",
    "num_workers": 0,
    "pretrain_epochs": 1,
    "gan_epochs": 1,
    "batch_size": 4,
    "lr_pretrain": 0.002,
    "lr_gan": 0.0002,
    "lambda_l1": 100.0,
    "checkpoint_every": 2,
    "discriminator": {"arch": "patchgan", "width": 4, "n_layers": 2},
}
FG = {**TINY, "generator": {"arch": "resunet_attn", "width": 8}, "lambda_edge": 0.5,
      "use_crops": True}  # fmt: skip
BG = {**TINY, "generator": {"arch": "resunet", "width": 8}, "use_background": True}
UNET = {**TINY, "generator": {"arch": "unet", "width": 4, "depth": 5}}


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    prep = make_prepared(tmp_path)
    return prep, make_crops(tmp_path, prep, materialize=False)


def _loop(tmp: Path, params: dict) -> TrainLoop:
    from colorbench.models.registry import build_discriminator, build_generator

    loop = TrainLoop(LoopConfig("t", tmp, tmp, device="cpu"))
    loop.add_module("G", build_generator(params["generator"]))
    loop.add_module("D", build_discriminator({"in_channels": 3, **params["discriminator"]}))
    loop.add_optimizer("g_pre", torch.optim.Adam(loop.parameters("G"), lr=2e-3))
    loop.add_optimizer("g_gan", torch.optim.Adam(loop.parameters("G"), lr=2e-4))
    loop.add_optimizer("d", torch.optim.Adam(loop.parameters("D"), lr=2e-4))
    return loop


@pytest.mark.parametrize("params", [FG, UNET], ids=["fg", "unet"])
def test_colorizer_steps_lower_the_loss_on_a_fixed_batch(
    tmp_path: Path, data: tuple[Path, Path], params: dict
) -> None:
    prep, crops = data
    ds = colorizer_dataset(prep, crops_dir=crops, use_crops=True, flip=False)
    batch = stack(ds, range(8))
    loop = _loop(tmp_path, params)
    steps = ColorizerSteps(100.0, float(params.get("lambda_edge", 0.0)), None)
    ctx = lambda: StepContext(loop, "pretrain", Position())  # noqa: E731
    first = steps.pretrain(batch, ctx())
    for _ in range(3):
        last = steps.pretrain(batch, ctx())
    assert last["loss"] < first["loss"]
    assert "edge" not in last and last["grad_l1"] > 0  # pretraining: L1 only (paper)
    d_before = [p.clone() for p in loop.unwrap("D").parameters()]
    out = steps.gan(batch, ctx())
    assert {"d_loss", "g_adv", "g_loss", "l1", "grad_l1", "grad_adv"} <= set(out)
    if params.get("lambda_edge"):
        assert "edge" in out and out["grad_edge"] > 0
    assert all(torch.isfinite(torch.as_tensor(v)) for v in out.values())
    assert any(
        not torch.equal(a, b) for a, b in zip(d_before, loop.unwrap("D").parameters(), strict=True)
    )


def test_train_fg_end_to_end_writes_a_loadable_generator(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    prep, crops = data
    out = tmp_path / "models" / "fg.pt"
    run = TrainRun(prep, out, tmp_path / "ck", tmp_path / "logs" / "train_fg", progress=False)
    metrics = train_colorizer("fg", FG, run, crops_dir=crops)
    assert "gan/val_psnr" in metrics and "gan/val_psnr_gray" in metrics
    model, cfg, meta = load_model(out)
    assert cfg == FG["generator"] and meta["image_size"] == 32
    # pretraining on the 6 main train images (1 step), GAN on 6 images + 6 crops (3 steps)
    assert meta["train_samples"] == 12 and meta["pretrain_samples"] == 6 and meta["steps"] == 4
    with torch.no_grad():
        ab = model(torch.zeros(1, 1, 32, 32))
    assert ab.shape == (1, 2, 32, 32)
    logs = tmp_path / "logs" / "train_fg"
    assert (logs / "plots" / "metrics" / "pretrain" / "l1.tsv").is_file()
    assert (logs / "plots" / "metrics" / "gan" / "d_loss.tsv").is_file()
    assert list((logs / "plots" / "images" / "samples").glob("*.png"))


def test_train_bg_resumes_and_matches_uninterrupted(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    prep, _ = data
    logs, crops = tmp_path / "logs" / "train_bg", tmp_path / "crops"
    run_a = TrainRun(prep, tmp_path / "a.pt", tmp_path / "ca", logs, progress=False)
    run_b = TrainRun(prep, tmp_path / "b.pt", tmp_path / "cb", logs, progress=False)
    train_colorizer("bg", BG, run_a, crops_dir=crops)

    def stop(ctx):
        # pretraining: 1 step (6 main images); GAN: 2 steps (+ 4 background images)
        if ctx.global_step + 1 == 2:  # mid-way through the GAN phase
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_colorizer("bg", BG, replace(run_b, on_step_end=stop), crops_dir=crops)
    assert not (tmp_path / "b.pt").exists()
    train_colorizer("bg", BG, run_b, crops_dir=crops)
    a, _, _ = load_model(tmp_path / "a.pt")
    b, _, _ = load_model(tmp_path / "b.pt")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_fusion_step_and_training(tmp_path: Path, data: tuple[Path, Path]) -> None:
    from colorbench.models.registry import build_fusion

    prep, _ = data
    loop = TrainLoop(LoopConfig("f", tmp_path, tmp_path, device="cpu"))
    loop.add_module("F", build_fusion({"width": 4}))
    loop.add_optimizer("f", torch.optim.Adam(loop.parameters("F"), lr=1e-3))
    batch = stack(colorizer_dataset(prep, flip=False), range(6))
    steps = FusionSteps(100.0, None)
    first = steps.step(batch, StepContext(loop, "train", Position()))
    for _ in range(3):
        last = steps.step(batch, StepContext(loop, "train", Position()))
    assert last["loss"] < first["loss"]
    params = {"seed": 0, "device": "cpu", "num_workers": 0, "width": 4, "epochs": 1,
              "batch_size": 4, "lr": 0.001, "lambda_ssim": 100.0, "checkpoint_every": 0}  # fmt: skip
    out = tmp_path / "fusion.pt"
    metrics = train_fusion(
        params, TrainRun(prep, out, tmp_path / "c", tmp_path / "l", progress=False)
    )
    assert "train/val_psnr" in metrics
    model, cfg, meta = load_model(out)
    assert cfg["width"] == 4 and meta["train_samples"] == 6  # main train images only (paper)
    run = TrainRun(prep, out, tmp_path / "c2", tmp_path / "l2", progress=False)
    train_fusion({**params, "use_background": True}, run)
    assert load_model(out)[2]["train_samples"] == 10  # + the 4 background images
    with torch.no_grad():
        assert model(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_bad_params_are_clear_errors(tmp_path: Path, data: tuple[Path, Path]) -> None:
    prep, crops = data
    run = TrainRun(prep, tmp_path / "m.pt", tmp_path / "c", tmp_path / "l")
    with pytest.raises(ColorbenchError, match="unknown colorizer"):
        train_colorizer("xx", FG, run, crops_dir=crops)
    with pytest.raises(ColorbenchError, match="lacks"):
        train_colorizer("bg", {k: v for k, v in BG.items() if k != "lr_gan"}, run, crops_dir=crops)
    with pytest.raises(ColorbenchError, match="nothing to train"):
        train_colorizer("bg", {**BG, "pretrain_epochs": 0, "gan_epochs": 0}, run, crops_dir=crops)
    with pytest.raises(ColorbenchError, match="generator"):
        train_colorizer("bg", {**BG, "generator": {"arch": "nope"}}, run, crops_dir=crops)


def test_image_size_must_fit_the_generator(tmp_path: Path) -> None:
    prep = make_prepared(tmp_path, size=40)
    with pytest.raises(ColorbenchError, match="multiple of 32"):
        run = TrainRun(prep, tmp_path / "m.pt", tmp_path / "c", tmp_path / "l")
        train_colorizer("bg", BG, run, crops_dir=tmp_path / "crops")


def test_cli_train_colorizer_and_fusion(tmp_path: Path, data: tuple[Path, Path]) -> None:
    from colorbench.cli import main

    prep, crops = data
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"seed": 0, "device": "cpu", "num_workers": 0,
                                      "train_unet": UNET, "train_fusion": {
                                          "width": 4, "epochs": 1, "batch_size": 4,
                                          "lr": 0.001}}))  # fmt: skip
    common = ["--params", str(params), "--prepared", str(prep), "--checkpoints",
              str(tmp_path / "c"), "--logs", str(tmp_path / "l"), "--quiet"]  # fmt: skip
    r = CliRunner().invoke(
        main,
        ["train", "colorizer", "unet", *common, "--crops", str(crops),
         "--out", str(tmp_path / "u.pt"), "--set", "gan_epochs=0",
         "--set", "generator.width=8"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    _, cfg, meta = load_model(tmp_path / "u.pt")
    assert cfg["width"] == 8 and meta["steps"] == 1
    r = CliRunner().invoke(main, ["train", "fusion", *common, "--out", str(tmp_path / "f.pt")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "f.pt").is_file()
    r = CliRunner().invoke(main, ["train", "colorizer", "unet", *common[:2], "--prepared",
                                  str(tmp_path), *common[4:], "--crops", str(crops),
                                  "--out", str(tmp_path / "x.pt")])  # fmt: skip
    assert r.exit_code == 1 and "prepare stage" in r.output and "Traceback" not in r.output


def test_train_command_usage_error(repo_root: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "colorbench", "train", "colorizer", "nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # never the repo: a stage run there could write into it
        env={**os.environ, "PYTHONPATH": str(repo_root / "src")},
    )
    assert r.returncode == 2 and "Usage" in r.stderr and "Traceback" not in r.stderr
    assert "'nope' is not one of 'unet', 'fg', 'bg'" in r.stderr
