"""Saliency agreement (predicted vs ground-truth maps) in evaluate and in the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from PIL import Image

from colorbench.data.manifest import COLUMNS
from colorbench.metrics.saliency_agreement import map_agreement, saliency_agreement


def test_map_agreement_against_numpy_written_out() -> None:
    rng = np.random.default_rng(0)
    pred, gt = rng.random((9, 7)), (rng.random((9, 7)) > 0.6).astype(float)
    mae, iou = map_agreement(pred, gt)
    assert mae == np.mean(np.abs(pred - gt))
    inter = np.sum((pred >= 0.5) & (gt >= 0.5))
    union = np.sum((pred >= 0.5) | (gt >= 0.5))
    assert iou == inter / union
    assert map_agreement(np.zeros((3, 3)), np.zeros((3, 3))) == (0.0, 1.0)
    assert map_agreement(gt, gt) == (0.0, 1.0)


def _png(path, arr) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_evaluate_adds_saliency_metrics_and_report_shows_them(tmp_path) -> None:
    from colorbench.metrics.stage import evaluate_methods
    from colorbench.report import ReportConfig, build_report

    rng = np.random.default_rng(1)
    ids = [f"im{i}" for i in range(4)]
    rows = []
    for k, image_id in enumerate(ids):
        rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        _png(tmp_path / f"prepared/images/{image_id}.png", rgb)
        _png(tmp_path / f"outputs/gray/{image_id}.png", rgb // 2)
        _png(tmp_path / f"outputs/scgan/{image_id}.png", rgb)
        gt = np.zeros((16, 16), np.uint8)
        gt[4:12, 4:12] = 255
        pred = gt.copy() if k % 2 == 0 else np.zeros_like(gt)
        _png(tmp_path / f"saliency/{image_id}.png", gt)
        _png(tmp_path / f"outputs_saliency/scgan/{image_id}.png", pred[::2, ::2])  # resized
        rows.append([image_id, "s", "main", "test", False, "", image_id, 16, 16, 16, 16])
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "prepared/manifest.csv", index=False)

    direct = saliency_agreement(tmp_path / "outputs_saliency/scgan", tmp_path / "saliency", ids)
    assert direct["saliency_iou"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert direct["saliency_mae"].tolist()[1::2] == [0.25, 0.25]  # empty map vs 8x8 of 16x16
    assert 0 < direct["saliency_mae"][0] < 0.1  # upsampled from 8x8: only edges blur

    result = evaluate_methods(
        outputs_dir=tmp_path / "outputs",
        prepared_dir=tmp_path / "prepared",
        metrics_json=tmp_path / "reports/metrics.json",
        per_image_dir=tmp_path / "reports/per_image",
        metrics=["psnr"],
        bootstrap=50,
        num_workers=0,
        profile="test",
        saliency_pred_dir=tmp_path / "outputs_saliency",
        saliency_gt_dir=tmp_path / "saliency",
    )
    scgan = result["methods"]["scgan"]
    assert scgan["saliency_iou"]["mean"] == 0.5 and scgan["saliency_iou"]["n"] == 4
    assert np.isclose(scgan["saliency_mae"]["mean"], direct["saliency_mae"].mean())
    assert "saliency_mae" not in result["methods"]["gray"]
    per_image = pd.read_csv(tmp_path / "reports/per_image/scgan.csv")
    assert per_image["saliency_iou"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert json.loads((tmp_path / "reports/metrics.json").read_text())["methods"]["scgan"]

    build_report(
        ReportConfig(
            metrics=tmp_path / "reports/metrics_details.json",
            per_image=tmp_path / "reports/per_image",
            outputs=tmp_path / "outputs",
            prepared=tmp_path / "prepared",
            logs=tmp_path / "logs",
            out=tmp_path / "reports",
            **{k: tmp_path / "missing" for k in ("saliency_pred", "saliency_gt", "study", "crops")},
            grid_images=0,
        ),
        {},
    )
    table = (tmp_path / "reports/tables/saliency_agreement.md").read_text()
    assert "Saliency IoU@0.5" in table and "scgan" in table and "gray" not in table
    assert "saliency_agreement.md" in (tmp_path / "reports/README.md").read_text()
