"""Faithfulness to the papers (issue 14): edge-loss balance, generator versions, the
unbalanced-pretraining data, and the profiles' paper settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from test_train_data import make_prepared

from colorbench import losses
from colorbench.errors import ColorbenchError
from colorbench.methods.paracolorizer.train_colorizer import (
    ColorizerSteps,
    apply_version,
    train_colorizer,
)
from colorbench.models.checkpoint import load_model
from colorbench.train.data import colorizer_dataset, stack
from colorbench.train.loop import LoopConfig, Position, StepContext, TrainLoop


def _pretrain(tmp: Path, batch: dict, lambda_edge: float, steps: int = 8) -> tuple:
    """`steps` generator updates (L1 + edge) from one fixed initialisation."""
    from colorbench.models.registry import build_generator

    torch.manual_seed(0)
    loop = TrainLoop(LoopConfig("t", tmp, tmp, device="cpu"))
    loop.add_module("G", build_generator({"arch": "resunet_attn", "width": 8}))
    loop.add_optimizer("g_pre", torch.optim.Adam(loop.parameters("G"), lr=2e-3))
    s = ColorizerSteps(100.0, lambda_edge, None, pretrain_edge=True)
    first = s.pretrain(batch, StepContext(loop, "pretrain", Position()))
    for _ in range(steps - 1):
        s.pretrain(batch, StepContext(loop, "pretrain", Position()))
    with torch.no_grad():
        ab = loop.unwrap("G").eval()(batch["L"])
    return ab, first


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    prep = make_prepared(tmp_path_factory.mktemp("fid"))
    return stack(colorizer_dataset(prep, flip=False), range(6))


def test_gradient_norms_match_the_closed_form_and_edge_is_balanced(batch: dict) -> None:
    ab_pred = (batch["ab"] + 0.05 * torch.randn_like(batch["ab"])).requires_grad_()
    _, out = ColorizerSteps(100.0, 1.0, None)._pixel_terms(batch["L"], ab_pred, batch["ab"])
    # d(100 * mean|x - y|)/dx = 100 sign(x - y) / N: its norm is 100 sqrt(N) / N.
    n = ab_pred.numel()
    assert float(out["grad_l1"]) == pytest.approx(100.0 / n**0.5, rel=1e-5)
    # The edge scale puts λ_edge = 1 on the same footing as 100·L1 (it was ~1/200).
    ratio = float(out["grad_edge"] / out["grad_l1"])
    assert 0.25 < ratio < 4.0, ratio
    _, half = ColorizerSteps(100.0, 0.5, None)._pixel_terms(batch["L"], ab_pred, batch["ab"])
    assert float(half["grad_edge"]) == pytest.approx(0.5 * float(out["grad_edge"]), rel=1e-5)


def test_lambda_edge_changes_the_outputs_measurably(tmp_path: Path, batch: dict) -> None:
    ab0, _ = _pretrain(tmp_path, batch, 0.0)
    ab1, first = _pretrain(tmp_path, batch, 1.0)
    assert "grad_edge" in first
    again, _ = _pretrain(tmp_path, batch, 0.0)
    assert torch.equal(ab0, again)  # deterministic: any difference is λ's
    # Mean |Δab| in Lab units (ab/110 in the network); with the unscaled edge term it was 0.6.
    assert float((ab1 - ab0).abs().mean()) * 110 > 1.5
    edge0 = losses.edge_loss(batch["L"], ab0, batch["ab"])
    edge1 = losses.edge_loss(batch["L"], ab1, batch["ab"])
    assert edge1 < edge0  # the edge term does what it is for


def test_versions() -> None:
    fg = {"generator": {"arch": "resunet_attn", "width": 8}, "lambda_edge": 1.0}
    v2 = apply_version("fg", {**fg, "version": "v2"})
    assert v2["generator"] == {"arch": "resunet", "width": 8} and v2["lambda_edge"] == 0.0
    assert apply_version("fg", fg) == fg and fg["generator"]["arch"] == "resunet_attn"
    with pytest.raises(ColorbenchError, match="version must be one of v2, v3"):
        apply_version("fg", {**fg, "version": "v1"})
    with pytest.raises(ColorbenchError, match="only train_fg"):
        apply_version("bg", {**fg, "version": "v2"})


@pytest.mark.parametrize("profile", ["paper", "synthetic"])
def test_profiles_follow_the_papers(repo_root: Path, profile: str) -> None:
    p = yaml.safe_load((repo_root / "profiles" / f"{profile}.yaml").read_text())
    unet = p["train_unet"]  # V1: pix2pix, no L1-only pretraining, fg's data with crops, L1
    assert unet["generator"]["arch"] == "unet" and unet["pretrain_epochs"] == 0
    assert unet["use_crops"] is True and unet.get("lambda_edge", 0.0) == 0.0
    for name in ("unet", "fg", "bg"):  # pretraining on COCO train with L1 only
        sec = p[f"train_{name}"]
        assert sec.get("pretrain_data", "main") == "main" and not sec.get("pretrain_edge")
    assert p["train_fg"].get("version", "v3") == "v3"
    assert p["train_fusion"].get("use_background", False) is False  # COCO only
    if profile == "paper":
        assert unet["gan_epochs"] == 15 and unet["lr_gan"] == 0.0002
        assert p["train_fg"]["pretrain_epochs"] == 15 and p["train_fg"]["lr_pretrain"] == 1e-4
        assert p["train_scgan"]["freeze_global"] is True


def test_pretrain_data_param(tmp_path: Path) -> None:
    from test_train_data import make_crops
    from test_train_trainers import FG

    from colorbench.train.common import TrainRun

    prep = make_prepared(tmp_path)
    crops = make_crops(tmp_path, prep, materialize=False)
    run = TrainRun(prep, tmp_path / "same.pt", tmp_path / "c", tmp_path / "l", progress=False)
    params = {**FG, "gan_epochs": 0, "pretrain_data": "same"}
    train_colorizer("fg", params, run, crops_dir=crops)
    assert load_model(tmp_path / "same.pt")[2]["pretrain_samples"] == 12  # images + crops
    with pytest.raises(ColorbenchError, match="pretrain_data must be one of main, same"):
        train_colorizer("fg", {**params, "pretrain_data": "crops"}, run, crops_dir=crops)


def _fidelity_section(readme: str) -> str:
    start = readme.index("## Fidelity to the papers")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_readme_fidelity_table_matches_the_paper_profile(repo_root: Path) -> None:
    """Every `section.key: value` the fidelity table cites is what profiles/paper.yaml says,
    and every row says faithful, substitute or switchable."""
    import re

    section = _fidelity_section((repo_root / "README.md").read_text())
    paper = yaml.safe_load((repo_root / "profiles" / "paper.yaml").read_text())
    cited = re.findall(r"`([a-z_0-9]+(?:\.[a-z_0-9]+)+): ([^`]+)`", section)
    assert len(cited) >= 40, len(cited)
    for dotted, text in cited:
        value = paper
        for part in dotted.split("."):
            assert isinstance(value, dict) and part in value, f"{dotted} not in paper.yaml"
            value = value[part]
        assert value == yaml.safe_load(text), f"README says {dotted}: {text}, paper.yaml {value}"
    rows = [r for r in section.splitlines() if r.startswith("| ") and not r.startswith("| paper")]
    assert len(rows) >= 40
    for row in rows:
        status = row.rstrip(" |").rsplit("|", 1)[-1]
        assert re.search(r"faithful|substitute|switchable", status), row


def test_report_states_the_gradient_balance_of_the_current_run(tmp_path: Path) -> None:
    from colorbench.report.ablation_paracolorizer import edge_table, gradient_balance
    from colorbench.report.content import Context

    root = tmp_path / "logs" / "train_fg" / "plots" / "metrics" / "gan"
    root.mkdir(parents=True)
    (root / "grad_edge.tsv").write_text("step\tgrad_edge\n10\t0.2\n20\t0.3\n30\t0.9\n")
    (root / "grad_l1.tsv").write_text("step\tgrad_l1\n10\t0.4\n20\t0.3\n")  # step 30 missing
    note = gradient_balance(tmp_path / "logs")
    assert note is not None and f"{(0.5 + 1.0) / 2:.2f}×" in note and "2 logged" in note
    assert gradient_balance(tmp_path / "none") is None
    table = edge_table([], Context(None, None, "synthetic"), False, tmp_path / "logs")
    assert note in table.notes
