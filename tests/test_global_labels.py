"""SCGAN's global network on data without class labels: COCO image-level categories as a
multi-label target, the class-label source winning when present, and the `random | none`
switches leaving a whole DAG (train_global writes a record instead of failing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_scgan_train import GLOBAL, SCGAN, _run, make_evaluator, make_prepared

from colorbench.errors import ColorbenchError

# Per image index: the categories of its instances ('a' images: square, 'b': disc; every
# third also shows a person). Known independently of the code under test.
CATS = {1: "square", 2: "disc", 3: "person"}


def _cats_of(i: int) -> set[str]:
    return {"square" if i % 2 == 0 else "disc"} | ({"person"} if i % 3 == 0 else set())


@pytest.fixture
def coco(tmp_path: Path) -> dict[str, Path]:
    """make_prepared's images without labels, plus a COCO instances json for them."""
    prepared, saliency = make_prepared(tmp_path)
    df = pd.read_csv(prepared / "manifest.csv", dtype=str, keep_default_na=False)
    df["label"] = ""
    df.to_csv(prepared / "manifest.csv", index=False)
    images, anns = [], []
    for i, row in df.iterrows():
        img_id = 1000 + i
        images.append({"id": img_id, "file_name": f"{row['id']}.png", "width": 32, "height": 32})
        by_name = {v: k for k, v in CATS.items()}
        for c in sorted(_cats_of(i)):
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": by_name[c],
                         "bbox": [2, 2, 8, 8], "area": 64.0, "iscrowd": 0,
                         "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]]})  # fmt: skip
    ann = tmp_path / "instances_train2017.json"
    cats = [{"id": k, "name": v} for k, v in CATS.items()]
    ann.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    evaluator = tmp_path / "evaluator.pt"
    make_evaluator(evaluator)
    return {"root": tmp_path, "prepared": prepared, "saliency": saliency, "ann": ann,
            "evaluator": evaluator}  # fmt: skip


def test_coco_categories_become_multi_hot_targets(coco: dict[str, Path]) -> None:
    from colorbench.methods.scgan.global_labels import find_labels
    from colorbench.train.data import load_manifest

    df = load_manifest(coco["prepared"])
    assert find_labels(df, {}) is None  # no labels, no annotations
    labels = find_labels(df, {"toy": coco["ann"]})
    assert labels is not None and labels.kind == "multilabel"
    assert labels.classes == ["disc", "person", "square"]
    assert labels.train_ids == [f"img{i:03d}" for i in range(16)]
    for ident, target in zip(labels.train_ids, labels.train_targets, strict=True):
        expected = [float(c in _cats_of(int(ident[3:]))) for c in labels.classes]
        assert target == expected, ident
    assert labels.val_ids == [f"img{i:03d}" for i in range(16, 20)]
    assert labels.summary()["substitutes_imagenet"] is True
    # Another source name: its annotations do not apply to these images.
    assert find_labels(df, {"elsewhere": coco["ann"]}) is None


def test_class_labels_win_when_present(coco: dict[str, Path]) -> None:
    from colorbench.methods.scgan.global_labels import find_labels
    from colorbench.train.data import load_manifest

    df = load_manifest(coco["prepared"])
    df["label"] = ["ab"[i % 2] for i in range(len(df))]
    labels = find_labels(df, {"toy": coco["ann"]})
    assert labels.kind == "class" and labels.classes == ["a", "b"]
    assert labels.train_targets == [i % 2 for i in range(16)]


def test_multilabel_pretraining_feeds_scgan(coco: dict[str, Path]) -> None:
    from colorbench.methods.scgan.train import train_scgan
    from colorbench.methods.scgan.train_global import train_global
    from colorbench.models.checkpoint import load_model

    root = coco["root"]
    with pytest.raises(ColorbenchError, match="COCO instance annotations"):
        train_global(GLOBAL, _run(coco, root / "g.pt", "train_global"))
    metrics = train_global(GLOBAL, _run(coco, root / "g.pt", "train_global"),
                           annotations={"toy": coco["ann"]})  # fmt: skip
    assert 0.0 <= metrics["classify/val_top1"] <= 1.0
    net, cfg, meta = load_model(root / "g.pt")
    assert cfg["num_classes"] == 3 and meta["label_kind"] == "multilabel"
    assert meta["class_counts"] == [8, 6, 8]  # disc, person, square among the 16 train images
    info = json.loads((root / "logs/train_global/global_labels.json").read_text())
    assert info["trained"] and info["substitutes_imagenet"] and info["classes"] == 3
    out = train_scgan({**SCGAN, "gan": "none", "perceptual": False, "phase2_epochs": 0},
                      _run(coco, root / "s.pt", "train_scgan"), saliency_dir=coco["saliency"],
                      global_path=root / "g.pt", evaluator_path=coco["evaluator"])  # fmt: skip
    assert np.isfinite(out["phase1/val_psnr"])
    gen, _, _ = load_model(root / "s.pt")
    for k, v in net.features.state_dict().items():
        assert torch.equal(gen.global_features.state_dict()[k], v), k


@pytest.mark.parametrize("mode", ["random", "none"])
def test_unused_global_net_is_recorded_not_trained(coco: dict[str, Path], mode: str) -> None:
    from colorbench.methods.scgan.train import train_scgan
    from colorbench.methods.scgan.train_global import train_global

    root = coco["root"]
    # No labels at all, yet train_global succeeds: SCGAN will not use its output.
    assert train_global(GLOBAL, _run(coco, root / "g.pt", "train_global"), global_net=mode) == {}
    info = json.loads((root / "logs/train_global/global_labels.json").read_text())
    assert info["trained"] is False and mode in info["reason"]
    run = _run(coco, root / "s.pt", "train_scgan")
    kw = {"saliency_dir": coco["saliency"], "global_path": root / "g.pt",
          "evaluator_path": coco["evaluator"]}  # fmt: skip
    quick = {**SCGAN, "gan": "none", "perceptual": False, "phase2_epochs": 0}
    assert np.isfinite(train_scgan({**quick, "global_net": mode}, run, **kw)["phase1/val_psnr"])
    # Flipping back to `pretrained` without re-running train_global is refused clearly.
    with pytest.raises(ColorbenchError, match="global_net_unused"):
        train_scgan(quick, run, **kw)
