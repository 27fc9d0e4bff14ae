"""Model files: strict round trip, clear errors for missing/corrupt/incompatible files, and
kinds registered by other modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.models import registry
from colorbench.models.checkpoint import load_checkpoint, load_model, read_checkpoint, save_model
from colorbench.models.registry import build_fusion, build_generator

CFG = {"arch": "resunet_attn", "width": 4}


def test_round_trip_is_exact(tmp_path) -> None:
    torch.manual_seed(0)
    g = build_generator(CFG)
    with torch.no_grad():
        g.attention.gamma.fill_(0.3)  # a non-default parameter must survive
    g(torch.randn(2, 1, 32, 32))  # move BN running stats away from their init
    g.eval()
    path = save_model(tmp_path / "m" / "fg.pt", "generator", CFG, g, {"image_size": 32})
    model, cfg, meta = load_model(path, "cpu")
    assert cfg == CFG and meta == {"image_size": 32}
    assert not model.training
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), g(x), rtol=0, atol=0)
    assert [p.name for p in tmp_path.joinpath("m").iterdir()] == ["fg.pt"]  # no temp left


def test_fusion_round_trip(tmp_path) -> None:
    f = build_fusion({"width": 4})
    save_model(tmp_path / "fusion.pt", "fusion", {"width": 4}, f)
    loaded = load_checkpoint(tmp_path / "fusion.pt")
    assert loaded.kind == "fusion" and loaded.meta == {}
    x = torch.rand(1, 3, 20, 24)
    torch.testing.assert_close(loaded.model(x), f.eval()(x))


def test_load_is_strict(tmp_path) -> None:
    g = build_generator(CFG)
    save_model(tmp_path / "g.pt", "generator", {**CFG, "width": 8}, g)  # config lies
    with pytest.raises(ColorbenchError, match="do not fit"):
        load_model(tmp_path / "g.pt")
    payload = read_checkpoint(tmp_path / "g.pt")
    payload["config"] = CFG
    del payload["state_dict"]["head.bias"]
    torch.save(payload, tmp_path / "h.pt")
    with pytest.raises(ColorbenchError, match="head.bias"):
        load_model(tmp_path / "h.pt")


def test_missing_corrupt_and_foreign_files(tmp_path) -> None:
    with pytest.raises(ColorbenchError, match="not found"):
        load_model(tmp_path / "nope.pt")
    g = build_generator(CFG)
    good = save_model(tmp_path / "g.pt", "generator", CFG, g)
    data = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint" * 10)
    for name in ("trunc.pt", "junk.pt"):
        with pytest.raises(ColorbenchError, match="corrupt"):
            load_model(tmp_path / name)
    torch.save(g.state_dict(), tmp_path / "bare.pt")  # a bare state dict, not our format
    with pytest.raises(ColorbenchError, match="not a colorbench model file"):
        load_model(tmp_path / "bare.pt")
    torch.save({"kind": "nonsense", "config": {}, "state_dict": {}}, tmp_path / "kind.pt")
    with pytest.raises(ColorbenchError, match="unknown model kind"):
        load_model(tmp_path / "kind.pt")


def test_registered_kind_loads_and_predicts(tmp_path, monkeypatch) -> None:
    class Toy(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 1)
            self.n = n

        def forward(self, x):
            return torch.tanh(self.conv(x))

    monkeypatch.setattr(registry, "KINDS", dict(registry.KINDS))
    monkeypatch.setattr(registry, "PREDICTORS", dict(registry.PREDICTORS))
    registry.register_kind("toy", lambda cfg: Toy(cfg["n"]), lambda m, x: m(x)[:, 1:])
    save_model(tmp_path / "toy.pt", "toy", {"n": 2}, Toy(2))
    loaded = load_checkpoint(tmp_path / "toy.pt")
    assert loaded.kind == "toy" and loaded.model.n == 2
    ab = registry.predictor("toy")(loaded.model, torch.zeros(1, 1, 8, 8))
    assert ab.shape == (1, 2, 8, 8)
    with pytest.raises(ColorbenchError, match="cannot colorize"):
        registry.predictor("fusion")


def test_pretrained_checkpoint_loads_without_weights_file(tmp_path, monkeypatch) -> None:
    """The state dict replaces ImageNet weights, so loading never needs the weights file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_hub"))
    cfg = {"arch": "resunet", "width": 4, "pretrained": True}
    with registry.from_checkpoint():  # stand-in for a model trained from ImageNet weights
        g = build_generator(cfg)
    assert g.encoder.channels[-1] == 512  # pretrained keeps the full encoder
    save_model(tmp_path / "bg.pt", "generator", cfg, g)
    model, _, _ = load_model(tmp_path / "bg.pt")
    torch.testing.assert_close(model.encoder.conv1.weight, g.encoder.conv1.weight, rtol=0, atol=0)
