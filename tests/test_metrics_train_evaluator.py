"""The synthetic profile's evaluator: trains to high accuracy on colour, logs with dvclive
without touching dvc.yaml, saves an atomic checkpoint that load_evaluator reads."""

from __future__ import annotations

import torch
from _metrics_data import write_prepared

from colorbench.metrics.evaluator_net import load_evaluator
from colorbench.metrics.train_evaluator import train_evaluator


def test_train_evaluator_learns_colour_classes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prepared, _ = write_prepared(tmp_path / "prepared", {"train": 48, "val": 12, "test": 4})
    out = tmp_path / "models" / "evaluator.pt"
    result = train_evaluator(prepared, out, tmp_path / "logs" / "train_evaluator", width=8,
                             epochs=4, batch_size=16, lr=0.01, num_workers=0, device="cpu",
                             progress=False)  # fmt: skip
    assert result["classes"] == ["cool", "warm"] and result["n_train"] == 48
    assert result["val_acc"] >= 0.9
    ckpt = torch.load(out, weights_only=True)
    assert set(ckpt) == {"arch", "config", "state_dict", "classes", "val_acc"}
    assert ckpt["config"]["size"] == 32
    model, classes = load_evaluator(out)
    assert classes == ["cool", "warm"]
    assert model.features(torch.rand(2, 3, 32, 32)).shape == (2, 32)
    assert model.features(torch.rand(1, 3, 48, 48)).shape == (1, 32)  # other sizes are resized
    logs = tmp_path / "logs" / "train_evaluator"
    assert (logs / "metrics.json").is_file()
    tsv = (logs / "plots" / "metrics" / "val" / "acc.tsv").read_text().splitlines()
    assert len(tsv) == 1 + 4  # header + one row per epoch
    assert not (tmp_path / "dvc.yaml").exists()
    assert not list((tmp_path / "models").glob(".*"))  # no temp files left


def test_arch_none_writes_a_marker_for_profiles_without_an_evaluator(tmp_path) -> None:
    import torch

    from colorbench.metrics.train_evaluator import train_evaluator

    out = tmp_path / "models/evaluator.pt"
    result = train_evaluator(tmp_path / "missing", out, tmp_path / "logs", arch="none")
    assert result["classes"] == [] and torch.load(out)["arch"] == "none"
    assert (tmp_path / "logs/README.txt").is_file()
