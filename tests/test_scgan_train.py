"""SCGAN end to end on tiny generated data: train_global -> train_scgan -> colorize_scgan."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from colorbench.data.manifest import COLUMNS
from colorbench.errors import ColorbenchError
from colorbench.models.checkpoint import load_model
from colorbench.train.common import TrainRun

SIZE = 32


def make_prepared(root: Path, n: int = 24) -> tuple[Path, Path]:
    """Two classes: a red square on blue ('a') or a green disc on sand ('b'); the object is
    the salient region. 16 train, 4 val, 4 test."""
    prepared, saliency = root / "prepared", root / "saliency"
    (prepared / "images").mkdir(parents=True)
    saliency.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    rows = []
    for i in range(n):
        label = "ab"[i % 2]
        cx, cy = (int(v) for v in rng.integers(10, 22, 2))
        r = int(rng.integers(5, 9))
        if label == "a":
            bg, fg = (40, 60, 200), (220, 30, 30)
            mask = (abs(xx - cx) <= r) & (abs(yy - cy) <= r)
        else:
            bg, fg = (200, 180, 120), (30, 180, 40)
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        img = np.empty((SIZE, SIZE, 3), np.uint8)
        img[:] = bg
        img[mask] = fg
        ident = f"img{i:03d}"
        Image.fromarray(img).save(prepared / "images" / f"{ident}.png")
        Image.fromarray((mask * 255).astype(np.uint8)).save(saliency / f"{ident}.png")
        split = "train" if i < 16 else ("val" if i < 20 else "test")
        rows.append(
            {
                "id": ident, "source": "toy", "role": "main", "split": split,
                "grayscale": False, "label": label, "orig_path": f"{ident}.png",
                "orig_width": SIZE, "orig_height": SIZE, "width": SIZE, "height": SIZE,
            }
        )  # fmt: skip
    pd.DataFrame(rows, columns=COLUMNS).to_csv(prepared / "manifest.csv", index=False)
    return prepared, saliency


def make_evaluator(path: Path) -> None:
    from colorbench.metrics.evaluator_net import SmallCNN

    net = SmallCNN(2, width=4, size=SIZE)
    torch.save(
        {
            "arch": "small_cnn",
            "config": {"width": 4, "size": SIZE},
            "state_dict": net.state_dict(),
            "classes": ["a", "b"],
        },
        path,
    )


GLOBAL = {"seed": 0, "device": "cpu", "width": 4, "epochs": 1, "batch_size": 4, "lr": 0.002}
SCGAN = {
    "seed": 0,
    "device": "cpu",
    "width": 4,
    "global_net": "pretrained",
    "phase1_epochs": 1,
    "phase2_epochs": 1,
    "batch_size": 4,
    "lr_phase1": 2e-4,
    "lr_phase2": 1e-4,
    "lr_halve_every": 10,
    "gan": "wgan_gp",
    "attention_loss": True,
    "perceptual": True,
    "perceptual_net": "evaluator",
    "checkpoint_every": 0,
}


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    prepared, saliency = make_prepared(tmp_path)
    evaluator = tmp_path / "evaluator.pt"
    make_evaluator(evaluator)
    return {"root": tmp_path, "prepared": prepared, "saliency": saliency, "evaluator": evaluator}


def _run(d: dict[str, Path], out: Path, name: str) -> TrainRun:
    """The folders `colorbench train` gives a trainer: the run's own checkpoints and logs."""
    root = d["root"]
    return TrainRun(d["prepared"], out, root / "ckpt" / name, root / "logs" / name, progress=False)


def test_train_global_then_scgan_then_colorize(data: dict[str, Path]) -> None:
    from colorbench.methods.scgan.colorize import colorize_scgan
    from colorbench.methods.scgan.train import train_scgan
    from colorbench.methods.scgan.train_global import train_global
    from colorbench.models.checkpoint import load_model

    root = data["root"]
    g_metrics = train_global(GLOBAL, _run(data, root / "global.pt", "train_global"))
    assert "classify/val_top1" in g_metrics
    gnet, gcfg, gmeta = load_model(root / "global.pt")
    assert gmeta["classes"] == ["a", "b"] and gcfg == {"width": 4, "num_classes": 2}

    metrics = train_scgan(
        SCGAN,
        _run(data, root / "scgan.pt", "train_scgan"),
        saliency_dir=data["saliency"],
        global_path=root / "global.pt",
        evaluator_path=data["evaluator"],
    )
    for key in (
        "phase2/val_psnr",
        "phase2/val_psnr_gray",
        "phase2/val_sal_mae",
        "phase2/val_sal_iou",
    ):
        assert np.isfinite(metrics[key]), key
    for key in ("phase2/epoch_gp_color", "phase2/epoch_gp_attention", "phase2/epoch_perceptual"):
        assert key in metrics, key
    gen, cfg, meta = load_model(root / "scgan.pt")
    assert cfg["size"] == SIZE and cfg["global_net"] == "pretrained"
    assert meta["perceptual_net"].startswith("evaluator")
    # The frozen, strictly loaded global network is still exactly global.pt's.
    for k, v in gnet.features.state_dict().items():
        assert torch.equal(gen.global_features.state_dict()[k], v), k

    out, sal_dir = root / "out", root / "sal_out"
    colorize_scgan(root / "scgan.pt", data["prepared"], out, sal_dir, batch_size=3, device="cpu",
                   progress=False)  # fmt: skip
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"img{i:03d}.png" for i in range(20, 24)]
    assert sorted(p.name for p in sal_dir.iterdir()) == names
    for name in names:
        sal = np.asarray(Image.open(sal_dir / name))
        assert sal.shape == (SIZE, SIZE) and sal.dtype == np.uint8
        rgb = np.asarray(Image.open(out / name))
        assert rgb.shape == (SIZE, SIZE, 3)
    _check_both_protocols(gen, data["prepared"], out, root / "out_l", names)


def _check_both_protocols(gen, prepared: Path, out: Path, out_l: Path, names: list[str]) -> None:
    """`scgan` is the generator's RGB as generated; `scgan_l` its ab on the input's L
    (checked with skimage's Lab, independently of colorbench.color)."""
    from skimage.color import rgb2lab

    assert sorted(p.name for p in out_l.iterdir()) == names
    gen.eval()
    for name in names:
        src = np.asarray(Image.open(prepared / "images" / name))
        lab_in = rgb2lab(src)
        with torch.no_grad():
            rgb, _ = gen(torch.from_numpy(lab_in[..., 0] / 50 - 1).float()[None, None])
        expected = np.round((rgb[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
        got = np.asarray(Image.open(out / name)).astype(float)
        assert np.abs(got - expected).max() <= 1
        lab_l = rgb2lab(np.asarray(Image.open(out_l / name)))
        assert np.abs(lab_l[..., 0] - lab_in[..., 0]).mean() < 0.5  # the input's L kept
        ab_gen = rgb2lab(expected.astype(np.uint8))[..., 1:]
        assert np.abs(lab_l[..., 1:] - ab_gen).mean() < 2.0  # the generated colour


def test_scgan_needs_global_checkpoint_unless_random(data: dict[str, Path]) -> None:
    from colorbench.methods.scgan.train import train_scgan

    root = data["root"]
    run = _run(data, root / "scgan.pt", "train_scgan")
    kw = {
        "saliency_dir": data["saliency"],
        "global_path": root / "missing.pt",
        "evaluator_path": data["evaluator"],
    }
    with pytest.raises(ColorbenchError, match="missing.pt"):
        train_scgan(SCGAN, run, **kw)
    # random skips models/global.pt; no GAN / perceptual keeps it quick.
    params = {**SCGAN, "global_net": "random", "gan": "none", "perceptual": False,
              "phase2_epochs": 0}  # fmt: skip
    first: dict[str, torch.Tensor] = {}

    def keep_first(ctx) -> None:  # the random global net after one step
        if not first:
            net = ctx.unwrap("G").global_features
            first.update({k: v.clone() for k, v in net.state_dict().items()})

    metrics = train_scgan(params, replace(run, on_step_end=keep_first), **kw)
    assert "phase1/val_psnr" in metrics and (root / "scgan.pt").is_file()
    model, cfg, meta = load_model(root / "scgan.pt")
    assert cfg["freeze_global"] is False and meta["steps"] > 1
    last = model.global_features.state_dict()
    assert any(not torch.equal(first[k], last[k]) for k in first if "weight" in k)
    # data_fraction: a seeded subset of the train split (the paper's 1/10 vs 1/5 ImageNet)
    from colorbench.methods.scgan.data import train_subset

    half = train_scgan({**params, "data_fraction": 0.5}, run, **kw)
    assert "phase1/val_psnr" in half
    n_half = load_model(root / "scgan.pt")[2]["train_samples"]
    assert n_half == round(meta["train_samples"] / 2)
    ids = [f"i{k}" for k in range(40)]
    assert set(train_subset(ids, 0.25, 0)) < set(train_subset(ids, 0.5, 0))
    with pytest.raises(ColorbenchError, match="data_fraction must be in"):
        train_scgan({**params, "data_fraction": 0}, run, **kw)


def test_scgan_missing_saliency_maps(data: dict[str, Path]) -> None:
    from colorbench.methods.scgan.train import train_scgan

    (data["saliency"] / "img000.png").unlink()
    with pytest.raises(ColorbenchError, match="saliency maps missing"):
        train_scgan(
            {**SCGAN, "global_net": "none"},
            _run(data, data["root"] / "scgan.pt", "train_scgan"),
            saliency_dir=data["saliency"],
            global_path=data["root"] / "unused.pt",
            evaluator_path=data["evaluator"],
        )


def test_global_net_needs_two_labelled_classes(data: dict[str, Path]) -> None:
    from colorbench.methods.scgan.train_global import train_global

    manifest = data["prepared"] / "manifest.csv"
    df = pd.read_csv(manifest)
    df["label"] = "a"
    df.to_csv(manifest, index=False)
    with pytest.raises(ColorbenchError, match="at least 2 classes"):
        train_global(GLOBAL, _run(data, data["root"] / "g.pt", "train_global"))


def test_batchnorm_recalibration_gives_exact_statistics(data: dict[str, Path]) -> None:
    from colorbench.methods.scgan.global_net import GlobalNet
    from colorbench.methods.scgan.train_global import LabelledGray, recalibrate_batchnorm

    ids = [f"img{i:03d}" for i in range(16)]
    ds = LabelledGray(data["prepared"], ids, [i % 2 for i in range(16)], size=SIZE, flip=False)
    torch.manual_seed(0)
    net = GlobalNet(2, width=4)
    recalibrate_batchnorm(net, ds, torch.device("cpu"))
    x = torch.stack([ds[i]["L"] for i in range(16)])
    with torch.no_grad():
        h = net.features[0](x)  # input layer (no BN), then the first BN's conv
        conv = net.features[1][1](net.features[1][0](h))
    bn = net.features[1][2]
    torch.testing.assert_close(bn.running_mean, conv.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert bn.momentum == 0.1 and net.training  # mode restored


def test_cli_train_global_and_scgan(data: dict[str, Path]) -> None:
    import yaml
    from click.testing import CliRunner

    from colorbench.cli import main

    root = data["root"]
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({"seed": 0, "device": "cpu", "num_workers": 0,
                                      "train_global": GLOBAL, "train_scgan": SCGAN}))  # fmt: skip
    common = ["--params", str(params), "--prepared", str(data["prepared"]), "--checkpoints",
              str(root / "c"), "--logs", str(root / "l"), "--quiet"]  # fmt: skip
    r = CliRunner().invoke(main, ["train", "global", *common, "--out", str(root / "g.pt")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main,
        ["train", "scgan", *common, "--saliency", str(data["saliency"]), "--global-net",
         str(root / "g.pt"), "--evaluator", str(data["evaluator"]), "--out", str(root / "s.pt"),
         "--set", "phase2_epochs=0"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (root / "s.pt").is_file()
