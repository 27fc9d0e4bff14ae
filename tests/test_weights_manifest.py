"""User weights manifest (COLORBENCH_WEIGHTS_MANIFEST), the ledger of loaded files, stand-in
weights through the production loaders, and the report's provenance section and stamp."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from test_report import _config, make_project

from colorbench import weights, weights_manifest
from colorbench.cli import main
from colorbench.errors import ColorbenchError, MissingWeightsError


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(weights_manifest.ENV, raising=False)
    monkeypatch.setattr(weights_manifest, "_LOADED", {})


def _manifest(path: Path, entries: dict) -> Path:
    path.write_text(yaml.safe_dump(entries))
    return path


def test_manifest_overrides_the_pin_and_is_verified(tmp_path: Path, monkeypatch) -> None:
    blob = b"fine-tuned resnet bytes"
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "mine.pth").write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    m = _manifest(tmp_path / "m.yaml", {"resnet18": {"path": "w/mine.pth", "sha256": digest}})
    with pytest.raises(MissingWeightsError):  # no manifest: the built-in pin, not present
        weights.require("resnet18")
    monkeypatch.setenv(weights_manifest.ENV, str(m))
    assert weights.require("resnet18") == tmp_path / "w" / "mine.pth"
    assert weights.state("resnet18") == "present" and weights.state("vgg16") == "missing"
    (row,) = weights_manifest.loaded()
    assert row["sha256"] == digest and row["source"] == f"manifest {m}" and not row["stand_in"]
    status = CliRunner().invoke(main, ["weights", "status", "resnet18"])
    assert (
        status.exit_code == 0 and "manifest sha256" in status.output and "mine.pth" in status.output
    )

    (tmp_path / "w" / "mine.pth").write_bytes(blob + b"!")  # tampered: refused, one line
    with pytest.raises(MissingWeightsError) as err:
        weights.require("resnet18")
    assert "corrupt" in str(err.value) and str(m) in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "w" / "mine.pth").unlink()
    with pytest.raises(MissingWeightsError, match="not found at"):
        weights.require("resnet18")


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ({"resnet99": {"path": "x", "sha256": "0" * 64}}, "unknown name"),
        ({"resnet18": {"path": "x"}}, "needs `path` and `sha256`"),
        ({"resnet18": {"path": "x", "sha256": "abc"}}, "64 hex digits"),
        (["resnet18"], "must map names"),
    ],
)
def test_bad_manifests_fail_with_one_line(tmp_path: Path, monkeypatch, entries, match) -> None:
    monkeypatch.setenv(weights_manifest.ENV, str(_manifest(tmp_path / "m.yaml", entries)))
    with pytest.raises(ColorbenchError, match=match):
        weights.require("resnet18")
    monkeypatch.setenv(weights_manifest.ENV, str(tmp_path / "absent.yaml"))
    with pytest.raises(ColorbenchError, match="no such file"):
        weights.require("resnet18")


def test_stand_ins_load_through_the_production_loaders(tmp_path: Path, monkeypatch) -> None:
    from colorbench.metrics.fid import build_inception
    from colorbench.models.resunet import ResUNet
    from colorbench.saliency.deep import load_u2netp

    out = tmp_path / "si"
    names = ["u2netp", "resnet18", "inception_fid"]
    r = CliRunner().invoke(main, ["weights", "stand-ins", str(out), *names])
    assert r.exit_code == 0, r.output
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert sorted(manifest) == sorted(names)
    for name, spec in manifest.items():
        assert spec["stand_in"] is True and spec["path"] == weights.entry(name).file
        assert spec["sha256"] == hashlib.sha256((out / spec["path"]).read_bytes()).hexdigest()
    monkeypatch.setenv(weights_manifest.ENV, str(out / "manifest.yaml"))
    load_u2netp(weights.require("u2netp"))  # strict loads: every key and shape is the real one
    ResUNet(width=8, pretrained=True)
    x = torch.rand(2, 3, 64, 64)
    for mode in ("standard", "piq"):
        feats = build_inception(mode)(x)[0]
        assert feats.shape == (2, 2048, 1, 1) and torch.isfinite(feats).all()
        # calibrated BatchNorm: features do not vanish (else every FID would be 0)
        assert feats.flatten(1).std(0).mean() > 1e-3
    loaded = {row["name"]: row for row in weights_manifest.loaded()}
    assert set(loaded) == set(names) and all(r["stand_in"] for r in loaded.values())
    bad = CliRunner().invoke(main, ["weights", "stand-ins", str(out), "nope"])
    assert bad.exit_code == 1 and "unknown weights 'nope'" in bad.output


def test_report_lists_loaded_files_and_stamps_stand_ins(tmp_path: Path) -> None:
    from colorbench.report import build_report

    root = make_project(tmp_path / "p")
    real = {"name": "alexnet", "file": "/w/a.pth", "sha256": "a" * 64, "source": "built-in pin",
            "stand_in": False}  # fmt: skip
    ledger = root / "reports/per_image" / weights_manifest.LEDGER_FILE
    ledger.write_text(json.dumps([real]))
    (root / "logs/train_global").mkdir(parents=True)
    (root / "logs/train_global/global_labels.json").write_text(json.dumps(
        {"trained": True, "description": "COCO categories", "substitutes_imagenet": True}))  # fmt: skip
    build_report(_config(root))
    text = (root / "reports/README.md").read_text()
    assert text.startswith("# colorbench report") and "STAND-IN" not in text
    assert f"| alexnet | `{'a' * 64}` | built-in pin | evaluate |" in text
    assert "substitutes for the paper's ImageNet pretraining" in text

    fake = {**real, "name": "inception_fid", "source": "manifest m.yaml", "stand_in": True}
    ledger.write_text(json.dumps([real, fake]))
    build_report(_config(root))
    text = (root / "reports/README.md").read_text()
    assert text.splitlines()[0] == f"**{weights_manifest.STAND_IN_STAMP}**"
    assert "| inception_fid |" in text and "(**stand-in**)" in text
