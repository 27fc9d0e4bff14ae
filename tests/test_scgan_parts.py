"""SCGAN training pieces: settings, ablation switches, critic/generator steps."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.methods.scgan.global_net import GlobalNet
from colorbench.methods.scgan.parts import (
    Nets,
    SCGANSettings,
    SCGANSystem,
    critics_loss,
    generator_loss,
)

SIZE = 32


def toy_extractor() -> nn.Module:
    torch.manual_seed(123)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())


def make_system(**changes: object) -> SCGANSystem:
    torch.manual_seed(0)
    s = dataclasses.replace(SCGANSettings(width=4), **changes)
    s.validate()
    return SCGANSystem(s, SIZE, toy_extractor() if s.use_perceptual else None, "toy")


def make_batch(b: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    rgb = torch.rand(b, 3, SIZE, SIZE, generator=g) * 2 - 1
    sal = (torch.rand(b, 1, SIZE, SIZE, generator=g) > 0.5).float()
    return {"gray": rgb.mean(1, keepdim=True), "rgb": rgb, "saliency": sal}


def test_settings_from_params_validates() -> None:
    s = SCGANSettings.from_params(
        {"seed": 0, "width": 16, "gan": "lsgan", "attention_loss": False, "lr_phase1": "2e-4"}
    )
    assert (s.width, s.gan, s.attention_loss, s.lr_phase1) == (16, "lsgan", False, 2e-4)
    with pytest.raises(ColorbenchError, match="train_scgan.gan"):
        SCGANSettings.from_params({"gan": "hinge"})
    with pytest.raises(ColorbenchError, match="train_scgan.global_net"):
        SCGANSettings.from_params({"global_net": "imagenet"})
    with pytest.raises(ColorbenchError, match="train_scgan.width"):
        SCGANSettings.from_params({"width": "wide"})
    with pytest.raises(ColorbenchError, match="nothing to train"):
        SCGANSettings.from_params({"phase1_epochs": 0, "phase2_epochs": 0})


def test_full_system_parts() -> None:
    system = make_system()
    assert set(system.critics) == {"color", "attention"}
    assert system.perceptual is not None and system.generator.global_features is not None


def test_ablation_no_gan_builds_no_critic() -> None:
    system = make_system(gan="none")
    assert system.critics is None
    _, terms, _, _ = generator_loss(system.settings, Nets.of(system), make_batch(), phase=2)
    assert not any(k.startswith("adv") for k in terms) and "perceptual" in terms
    with pytest.raises(ColorbenchError, match="no critics"):
        critics_loss(
            system.settings, system.critics, make_batch(), torch.zeros(2, 3, SIZE, SIZE), None
        )


def test_ablation_no_attention_drops_saliency_branch_and_critic() -> None:
    system = make_system(attention_loss=False)
    assert system.generator.saliency_heads is None and set(system.critics) == {"color"}
    _, terms, _, sal = generator_loss(system.settings, Nets.of(system), make_batch(), phase=2)
    assert sal is None and "attention" not in terms and "adv_attention" not in terms


def test_ablation_no_perceptual() -> None:
    system = make_system(perceptual=False)
    assert system.perceptual is None
    _, terms, _, _ = generator_loss(system.settings, Nets.of(system), make_batch(), phase=2)
    assert "perceptual" not in terms and "adv_color" in terms


def test_ablation_global_modes() -> None:
    none = make_system(global_net="none")
    assert none.generator.global_features is None
    rnd = make_system(global_net="random")
    with pytest.raises(ColorbenchError, match="nothing to load"):
        rnd.load_global(GlobalNet(3, 4).state_dict(), "x")
    full = make_system()
    net = GlobalNet(3, 4)
    full.load_global(net.state_dict(), "global.pt")
    torch.testing.assert_close(
        full.generator.global_features.state_dict(), net.features.state_dict()
    )


def test_ablation_pixel_loss_l2() -> None:
    batch = make_batch()
    l1 = make_system(pixel_loss="l1")
    l2 = make_system(pixel_loss="l2")
    with torch.no_grad():
        _, t1, fake1, _ = generator_loss(l1.settings, Nets.of(l1), batch, phase=1)
        _, t2, fake2, sal2 = generator_loss(l2.settings, Nets.of(l2), batch, phase=1)
    torch.testing.assert_close(fake1, fake2)  # same seed, same weights
    assert float(t1["pixel"]) == pytest.approx(float((fake1 - batch["rgb"]).abs().mean()))
    assert float(t2["pixel"]) == pytest.approx(float(((fake2 - batch["rgb"]) ** 2).mean()))
    diff = fake2 * sal2 - batch["rgb"] * batch["saliency"]
    assert float(t2["attention"]) == pytest.approx(float((diff**2).mean()))


def test_ablation_lsgan_has_no_gradient_penalty() -> None:
    batch = make_batch()
    for gan, has_gp in (("wgan_gp", True), ("lsgan", False)):
        system = make_system(gan=gan)
        _, _, fake, sal = generator_loss(system.settings, Nets.of(system), batch, phase=2)
        _, terms = critics_loss(system.settings, system.critics, batch, fake, sal)
        assert ("gp_color" in terms) is has_gp and ("gp_attention" in terms) is has_gp


def test_phase1_has_only_pixel_and_attention() -> None:
    system = make_system()
    total, terms, _, _ = generator_loss(system.settings, Nets.of(system), make_batch(), phase=1)
    assert set(terms) == {"pixel", "attention", "total"}
    s = system.settings
    expected = s.lambda_l1 * terms["pixel"] + s.lambda_attention * terms["attention"]
    assert float(total.detach()) == pytest.approx(float(expected.detach()))


def test_phase2_total_combines_terms() -> None:
    system = make_system()
    total, t, _, _ = generator_loss(system.settings, Nets.of(system), make_batch(), phase=2)
    s = system.settings
    expected = (
        s.lambda_l1 * t["pixel"]
        + s.lambda_attention * t["attention"]
        + s.lambda_gan * (t["adv_color"] + t["adv_attention"])
        + s.lambda_perceptual * t["perceptual"]
    )
    assert float(total.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)


def test_phase2_step_trains_both_critics_and_not_from_generator_step() -> None:
    system = make_system()
    batch = make_batch()
    total, _, fake, sal = generator_loss(system.settings, Nets.of(system), batch, phase=2)
    total.backward()
    # The generator step leaves the critics without gradients ...
    assert all(p.grad is None for p in system.critics.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in system.generator.parameters())
    system.generator.zero_grad()
    # ... and the critic step reaches both critics but not the generator.
    d_total, _ = critics_loss(system.settings, system.critics, batch, fake, sal)
    d_total.backward()
    for name in ("color", "attention"):
        grads = [p.grad for p in system.critics[name].parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0, name
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in system.generator.parameters())


@pytest.mark.parametrize("phase", [1, 2])
def test_optimisation_step_lowers_loss_on_fixed_batch(phase: int) -> None:
    system = make_system()
    system.train()
    batch = make_batch(4)
    opt = torch.optim.Adam(
        [p for p in system.generator.parameters() if p.requires_grad], lr=2e-3, betas=(0.5, 0.999)
    )

    # Training-mode scoring: BatchNorm uses this batch's statistics, the same in both calls.
    def score() -> float:
        with torch.no_grad():
            return float(generator_loss(system.settings, Nets.of(system), batch, phase)[0])

    before = score()
    for _ in range(5):
        opt.zero_grad()
        generator_loss(system.settings, Nets.of(system), batch, phase)[0].backward()
        opt.step()
    assert score() < before
