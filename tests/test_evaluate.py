"""The streaming evaluator: CLI contract, pairing errors, per-image values, the DVC stage."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from _metrics_data import write_folders, write_prepared
from click.testing import CliRunner
from PIL import Image
from skimage.io import imread
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorbench.cli import main
from colorbench.metrics.evaluate import evaluate


def _colorfulness(img: np.ndarray) -> float:
    rgb = img.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())


def test_cli_end_to_end_matches_per_image_references(tmp_path):
    pred, gt = write_folders(tmp_path, 7)
    (gt / "only_gt.png").write_bytes((gt / "im000.png").read_bytes())
    out, csv = tmp_path / "m.json", tmp_path / "m.csv"
    res = CliRunner().invoke(main, [
        "evaluate", "--pred", str(pred), "--gt", str(gt), "--out", str(out),
        "--per-image", str(csv), "--metrics", "psnr,ssim,colorfulness,cci,cni,fid",
        "--batch-size", "3", "--workers", "2", "--bootstrap", "200", "--allow-missing",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "1 ground-truth image(s) had no prediction" in res.output
    summary = json.loads(out.read_text())
    assert summary.pop("missing") == {"n_missing": 1, "names": ["only_gt"]}
    assert set(summary) == {"psnr", "ssim", "colorfulness", "colorfulness_abs", "delta_colorful",
                            "cci_ratio", "cni", "fid"}  # fmt: skip
    assert all("mean" in v for v in summary.values())
    assert summary["fid"]["available"] is False  # no weights in the test cache
    df = pd.read_csv(csv, dtype={"image": str})
    assert list(df.columns) == ["image", "psnr", "ssim", "colorfulness", "colorfulness_abs", "cni"]
    assert df["image"].tolist() == [f"im{i:03d}" for i in range(7)]
    m_pred, m_gt = [], []
    for row in df.itertuples():
        p, g = imread(pred / f"{row.image}.png"), imread(gt / f"{row.image}.png")
        assert row.psnr == pytest.approx(peak_signal_noise_ratio(g, p, data_range=255), abs=1e-6)
        ref = structural_similarity(p, g, channel_axis=-1, data_range=255)
        assert row.ssim == pytest.approx(ref, abs=1e-6)
        assert row.colorfulness == pytest.approx(_colorfulness(p), abs=1e-6)
        m_pred.append(_colorfulness(p))
        m_gt.append(_colorfulness(g))
    assert summary["psnr"]["mean"] == pytest.approx(df["psnr"].mean())
    assert summary["psnr"]["n"] == 7
    lo, hi = summary["psnr"]["ci95"]
    assert lo <= summary["psnr"]["mean"] <= hi
    assert summary["delta_colorful"]["mean"] == pytest.approx(abs(np.mean(m_pred) - np.mean(m_gt)))
    inside = [16 <= m <= 20 for m in m_pred]
    assert summary["cci_ratio"]["mean"] == pytest.approx(np.mean(inside))


def test_pred_without_gt_is_an_error(tmp_path):
    pred, gt = write_folders(tmp_path, 3)
    (gt / "im001.png").unlink()
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt),
                                    "--out", str(tmp_path / "o.json"), "--workers", "0"])  # fmt: skip
    assert res.exit_code == 1
    assert "no ground truth" in res.output and "im001" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o.json").exists()


def test_size_mismatch_and_undecodable_are_clear_errors(tmp_path):
    pred, gt = write_folders(tmp_path, 3)
    Image.new("RGB", (20, 20)).save(pred / "im002.png")
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt),
                                    "--out", str(tmp_path / "o.json"), "--workers", "1"])  # fmt: skip
    assert res.exit_code == 1 and "im002" in res.output and "20x20" in res.output
    (pred / "im002.png").write_bytes(b"not a png")
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt),
                                    "--out", str(tmp_path / "o.json"), "--workers", "0"])  # fmt: skip
    assert res.exit_code == 1 and "cannot decode" in res.output
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt),
                                    "--out", str(tmp_path / "o.json"), "--metrics", "psnr,bogus"])  # fmt: skip
    assert res.exit_code == 1 and "unknown metric" in res.output


def test_pairs_by_stem_across_extensions_and_grayscale_files(tmp_path):
    pred, gt = write_folders(tmp_path, 2)
    img = np.asarray(Image.open(gt / "im000.png"))
    (gt / "im000.png").unlink()
    Image.fromarray(img).save(gt / "im000.bmp")
    Image.fromarray(img[..., 0]).save(pred / "im001.png")  # an L-mode prediction
    summary, df = evaluate(pred, gt, ["psnr"], num_workers=0, bootstrap=0, progress=False)
    assert df["image"].tolist() == ["im000", "im001"] and summary["psnr"]["ci95"] is None


def test_ids_restrict_and_require_every_prediction(tmp_path):
    pred, gt = write_folders(tmp_path, 4)
    _, df = evaluate(pred, gt, ["psnr"], ids=["im001", "im003"], num_workers=0, progress=False)
    assert df["image"].tolist() == ["im001", "im003"]
    assert df.attrs["pairing"]["pred_ignored"] == 2
    (pred / "im003.png").unlink()
    with pytest.raises(Exception, match="lacks 1 of the 2"):
        evaluate(pred, gt, ["psnr"], ids=["im001", "im003"], num_workers=0, progress=False)


def test_top1_reason_tells_missing_labels_from_unmatched_ones(tmp_path):
    pred, gt = write_folders(tmp_path, 2)
    kw = {"num_workers": 0, "bootstrap": 0, "progress": False}
    summary, _ = evaluate(pred, gt, ["top1"], **kw)
    assert summary["top1"]["available"] is False and "pass --labels" in summary["top1"]["reason"]
    summary, _ = evaluate(pred, gt, ["top1"], labels={"other": "cat", "im000": ""}, **kw)
    reason = summary["top1"]["reason"]
    assert summary["top1"]["available"] is False
    assert "none of the 2 images has a label among the 2 given" in reason, reason


def test_labels_file_and_evaluator_via_cli(tmp_path):
    import torch

    from colorbench.metrics.evaluator_net import SmallCNN

    pred, gt = write_folders(tmp_path, 4)
    ckpt = tmp_path / "evaluator.pt"
    model = SmallCNN(2, width=8, size=32)
    torch.save({"arch": "small_cnn", "config": {"width": 8, "size": 32},
                "state_dict": model.state_dict(), "classes": ["cool", "warm"],
                "val_acc": 1.0}, ckpt)  # fmt: skip
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"image": ["im000.png", "im001.png", "im002.png"],
                  "label": ["warm", "cool", ""]}).to_csv(labels, index=False)  # fmt: skip
    out, csv = tmp_path / "o.json", tmp_path / "o.csv"
    res = CliRunner().invoke(main, [
        "evaluate", "--pred", str(pred), "--gt", str(gt), "--out", str(out), "--per-image",
        str(csv), "--metrics", "top1,evaluator_fd", "--evaluator", str(ckpt),
        "--labels", str(labels), "--workers", "0",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    s = json.loads(out.read_text())
    assert s["top1"]["n"] == 2 and s["top1"]["n_undefined"] == 2
    assert s["top1"]["classifier"] == "evaluator"
    assert s["evaluator_fd"]["mean"] >= 0 and s["evaluator_fd"]["n"] == 4
    df = pd.read_csv(csv)
    assert set(df["top1"].dropna().unique()) <= {0.0, 1.0} and df["top1"].isna().sum() == 2


def test_read_labels_from_prepared_dir_and_csv(tmp_path):
    from colorbench.commands.evaluate import read_labels
    from colorbench.errors import ColorbenchError

    prepared, manifest = write_prepared(tmp_path / "prepared", {"test": 3})
    assert read_labels(str(prepared)) == dict(zip(manifest["id"], manifest["label"], strict=True))
    f = tmp_path / "l.csv"
    pd.DataFrame({"image": ["a.b.png", "c.d"], "label": ["x", "y"]}).to_csv(f, index=False)
    assert read_labels(str(f)) == {"a.b": "x", "c.d": "y"}
    pd.DataFrame({"name": ["a"], "label": ["x"]}).to_csv(f, index=False)
    with pytest.raises(ColorbenchError, match="needs columns"):
        read_labels(str(f))


def _stage_inputs(tmp_path):
    prepared, manifest = write_prepared(tmp_path / "prepared", {"train": 4, "test": 6})
    outputs = tmp_path / "outputs"
    test_ids = manifest[manifest["split"] == "test"]["id"].tolist()
    rng = np.random.default_rng(0)
    for method, noise in (("gray", None), ("good", 3), ("bad", 60)):
        (outputs / method).mkdir(parents=True)
        for i in test_ids:
            img = np.asarray(Image.open(prepared / "images" / f"{i}.png")).astype(int)
            if noise is None:
                img = np.repeat(img.mean(-1, keepdims=True), 3, -1)
            else:
                img = img + rng.integers(-noise, noise + 1, img.shape)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                outputs / method / f"{i}.png"
            )
    (outputs / ".good.tmp-123").mkdir()  # an interrupted atomic dir is not a method
    return prepared, outputs, test_ids


def test_stage_writes_combined_metrics_json(tmp_path):
    from colorbench.metrics.stage import evaluate_methods

    prepared, outputs, test_ids = _stage_inputs(tmp_path)
    ckpt = tmp_path / "evaluator.pt"
    import torch

    from colorbench.metrics.evaluator_net import SmallCNN

    torch.save({"arch": "small_cnn", "config": {"width": 8, "size": 32},
                "state_dict": SmallCNN(2, 8, 32).state_dict(), "classes": ["cool", "warm"],
                "val_acc": 1.0}, ckpt)  # fmt: skip
    result = evaluate_methods(
        outputs, prepared, tmp_path / "reports/metrics.json", tmp_path / "reports/per_image",
        metrics=["psnr", "ssim", "colorfulness", "cci", "cni", "top1", "evaluator_fd", "lpips", "fid"],
        bootstrap=100, batch_size=4, num_workers=0, profile="synthetic", evaluator_path=ckpt,
    )  # fmt: skip
    data = json.loads((tmp_path / "reports/metrics_details.json").read_text())
    assert data["methods"].keys() == result["methods"].keys()
    head = json.loads((tmp_path / "reports/metrics.json").read_text())
    assert set(head) == {"n_images", "methods"} and head["n_images"] == 6
    for method, summary in data["methods"].items():
        expect = {"psnr", "ssim", "lpips", "fid", "evaluator_fd", "delta_colorful", "cci_ratio",
                  "top1"}  # fmt: skip
        assert set(head["methods"][method]) == expect
        assert all(head["methods"][method][k] == summary[k]["mean"] for k in expect)
    assert set(data) == {"n_images", "fid_mode", "profile", "methods", "paired"}
    assert data["n_images"] == 6 and data["profile"] == "synthetic"
    assert set(data["methods"]) == {"gray", "good", "bad"}
    good = data["methods"]["good"]
    assert set(good["psnr"]) >= {"mean", "std", "ci95", "n"} and good["psnr"]["n"] == 6
    assert good["fid"] == {"mean": None, "available": False, "reason": good["fid"]["reason"]}
    assert good["lpips"]["available"] is False
    # with the synthetic profile every column but LPIPS and FID is available
    assert all(v["mean"] is not None for k, v in good.items() if k not in ("lpips", "fid"))
    assert data["methods"]["gray"]["colorfulness"]["mean"] < 1.0
    assert good["psnr"]["mean"] > data["methods"]["bad"]["psnr"]["mean"]
    assert set(data["paired"]) == {"good", "bad"}
    p = data["paired"]["good"]["psnr"]
    assert p["vs"] == "gray" and p["mean_diff"] > 0 and p["test"] in ("wilcoxon", "permutation")
    assert set(p) >= {"vs", "mean_diff", "ci95", "p_value", "test"}
    per = sorted(x.name for x in (tmp_path / "reports/per_image").iterdir())
    assert per == ["bad.csv", "good.csv", "gray.csv"]
    df = pd.read_csv(tmp_path / "reports/per_image/good.csv")
    assert df["image"].tolist() == test_ids and "top1" in df.columns


def test_stage_errors_when_a_method_misses_test_images(tmp_path):
    from colorbench.errors import ColorbenchError
    from colorbench.metrics.stage import evaluate_methods

    prepared, outputs, test_ids = _stage_inputs(tmp_path)
    (outputs / "bad" / f"{test_ids[0]}.png").unlink()
    shutil.rmtree(outputs / "gray")
    with pytest.raises(ColorbenchError, match="lacks 1 of the 6"):
        evaluate_methods(outputs, prepared, tmp_path / "m.json", tmp_path / "pi",
                         metrics=["psnr"], num_workers=0, profile="paper")  # fmt: skip
    assert not (tmp_path / "m.json").exists()


def test_missing_predictions_fail_unless_allowed_and_are_recorded(tmp_path):
    pred, gt = write_folders(tmp_path, 4)
    (pred / "im001.png").unlink()
    (pred / "im003.png").unlink()
    out = tmp_path / "o.json"
    base = ["evaluate", "--pred", str(pred), "--gt", str(gt), "--out", str(out), "--workers", "0",
            "--metrics", "psnr,ssim", "--bootstrap", "0"]  # fmt: skip
    res = CliRunner().invoke(main, base)
    assert res.exit_code == 1
    assert "lacks predictions for 2 of the 4" in res.output and "im001, im003" in res.output
    assert "--allow-missing" in res.output and "Traceback" not in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, [*base, "--allow-missing"])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["missing"] == {"n_missing": 2, "names": ["im001", "im003"]}
    assert data["psnr"]["n"] == 2 and data["psnr"]["n_missing"] == 2
    assert data["ssim"]["n_missing"] == 2
    # nothing missing: n_missing 0 on each metric, no `missing` entry
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(gt), "--gt", str(gt), "--out",
                                    str(out), "--workers", "0", "--metrics", "psnr"])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["psnr"]["n_missing"] == 0 and "missing" not in data


def test_cli_fid_mode_both_writes_fid_and_fid_piq(tmp_path):
    """`--fid-mode both` is accepted and yields both keys (here unavailable: no weights in this
    test's own TORCH_HOME, with the reason); the values are tested in test_metrics_nets.py."""
    pred, gt = write_folders(tmp_path, 3)
    out = tmp_path / "o.json"
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt), "--out",
                                    str(out), "--metrics", "psnr,fid", "--fid-mode", "both",
                                    "--workers", "0"])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    for key in ("fid", "fid_piq"):
        assert summary[key]["available"] is False
        assert "pretrained weights 'inception_fid' not found" in summary[key]["reason"]
    res = CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt), "--out",
                                    str(out), "--fid-mode", "exact"])  # fmt: skip
    assert res.exit_code == 2 and "'standard', 'piq', 'both'" in res.output
    from colorbench.metrics.pairing import FID_MODES
    from colorbench.params_schema import SECTIONS

    assert SECTIONS["evaluate"]["fid_mode"].options == FID_MODES  # params.yaml accepts the same


def test_params_schema_knows_every_network_arch_the_registry_builds() -> None:
    from colorbench.models.registry import MODELS
    from colorbench.params_schema import NET_ARCHS

    assert set(NET_ARCHS) == set(MODELS) - {"densefuse"}  # fusion has no `arch` key
