"""SCGAN networks and losses: shapes, strict global-net loading, gradient penalty, critics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.methods.scgan.critics import PatchCritic, build_critics
from colorbench.methods.scgan.global_net import GlobalNet, load_features_strict
from colorbench.methods.scgan.losses import (
    PerceptualLoss,
    VGG16Conv33,
    attention_loss,
    critic_loss,
    generator_adv_loss,
    gradient_penalty,
    pixel_loss,
)
from colorbench.methods.scgan.nets import SCGANGenerator, build_generator, level_sizes


@pytest.mark.parametrize(("size", "n_levels"), [(64, 7), (128, 8)])
def test_generator_shapes_and_depth(size: int, n_levels: int) -> None:
    torch.manual_seed(0)
    g = SCGANGenerator(size=size, width=4)
    # Encoder goes down to 1x1: log2(size) + 1 levels, derived from the size.
    assert level_sizes(size)[-1] == 1 and len(g.encoder) == n_levels
    assert level_sizes(size)[5] == size // 32  # where the global features join
    with torch.no_grad():
        rgb, sal = g(torch.randn(2, 1, size, size))
    assert rgb.shape == (2, 3, size, size) and sal is not None and sal.shape == (2, 1, size, size)
    assert rgb.abs().max() <= 1.0 and float(sal.min()) >= 0.0 and float(sal.max()) <= 1.0


def test_paper_size_layout() -> None:
    # 256 px: H/32 = 8 at the global level, three more stride-2 convs reach 1x1.
    assert level_sizes(256) == [256, 128, 64, 32, 16, 8, 4, 2, 1]


def test_generator_rejects_wrong_size() -> None:
    g = SCGANGenerator(size=64, width=4)
    with pytest.raises(ColorbenchError, match="64x64"):
        g(torch.randn(1, 1, 32, 32))
    with pytest.raises(ColorbenchError, match="at least 32"):
        SCGANGenerator(size=16, width=4)


def test_saliency_branch_uses_three_decoder_levels() -> None:
    """The saliency output depends on the H/8, H/4, H/2 decoder maps, not on the RGB head."""
    g = SCGANGenerator(size=64, width=4)
    assert len(g.saliency_heads) == 3
    g.eval()
    x = torch.randn(1, 1, 64, 64)
    _, sal = g(x)
    with torch.no_grad():
        g.to_rgb[1].weight.mul_(2.0)
    _, sal2 = g(x)
    torch.testing.assert_close(sal, sal2)


def test_global_net_output_matches_generator_level() -> None:
    net = GlobalNet(num_classes=5, width=8)
    feats = net.features(torch.randn(2, 1, 64, 64))
    assert feats.shape == (2, 512 * 8 // 64, 2, 2)
    assert net(torch.randn(2, 1, 64, 64)).shape == (2, 5)


def test_global_net_loads_strictly() -> None:
    torch.manual_seed(0)
    net = GlobalNet(num_classes=3, width=8)
    g = SCGANGenerator(size=64, width=8)
    load_features_strict(g.global_features, net.state_dict())
    for k, v in net.features.state_dict().items():
        assert torch.equal(g.global_features.state_dict()[k], v), k

    state = dict(net.state_dict())
    missing_key = "features.3.1.weight"
    del state[missing_key]
    with pytest.raises(ColorbenchError, match=r"missing keys \['3\.1\.weight'\]"):
        load_features_strict(g.global_features, state)

    state = dict(net.state_dict())
    state["features.99.weight"] = torch.zeros(1)
    with pytest.raises(ColorbenchError, match=r"unexpected keys \['99\.weight'\]"):
        load_features_strict(g.global_features, state)

    other = GlobalNet(num_classes=3, width=16)
    with pytest.raises(ColorbenchError, match="shape mismatch"):
        load_features_strict(g.global_features, other.state_dict())


def test_global_ablation_architectures() -> None:
    full = SCGANGenerator(size=64, width=8, global_net="pretrained")
    rand = SCGANGenerator(size=64, width=8, global_net="random")
    none = SCGANGenerator(size=64, width=8, global_net="none")
    # pretrained and random share the architecture exactly; none drops the net and concat.
    assert full.state_dict().keys() == rand.state_dict().keys()
    assert none.global_features is None
    assert not any(k.startswith("global_features") for k in none.state_dict())
    c5 = full.channels[5]
    assert full.fuse[1].in_channels == c5 + full.global_features.out_channels
    assert none.fuse[1].in_channels == c5
    assert none(torch.randn(2, 1, 64, 64))[0].shape == (2, 3, 64, 64)


def test_frozen_global_net_gets_no_gradient_and_keeps_bn_stats() -> None:
    g = SCGANGenerator(size=64, width=4)
    g.train()
    assert not g.global_features.training
    before = {k: v.clone() for k, v in g.global_features.state_dict().items()}
    rgb, sal = g(torch.randn(2, 1, 64, 64))
    (rgb.mean() + sal.mean()).backward()
    assert all(p.grad is None for p in g.global_features.parameters())
    for k, v in g.global_features.state_dict().items():
        assert torch.equal(v, before[k]), k
    trainable = SCGANGenerator(size=64, width=4, freeze_global=False).train()
    assert trainable.global_features.training
    assert all(p.requires_grad for p in trainable.global_features.parameters())


def test_random_global_net_is_trained_not_frozen() -> None:
    """Table II "w/o pre-weights": the Gaussian-initialised global net learns with the rest."""
    g = SCGANGenerator(size=64, width=4, global_net="random")  # freeze_global defaults on
    assert g.config["freeze_global"] is False
    g.train()
    assert g.global_features.training
    rgb, sal = g(torch.randn(2, 1, 64, 64))
    (rgb.mean() + sal.mean()).backward()
    assert all(p.grad is not None for p in g.global_features.parameters())


def test_no_saliency_generator() -> None:
    g = SCGANGenerator(size=64, width=4, saliency=False)
    rgb, sal = g(torch.randn(2, 1, 64, 64))
    assert sal is None and rgb.shape == (2, 3, 64, 64)
    assert not any("saliency" in k for k in g.state_dict())


def test_build_generator_roundtrip() -> None:
    g = SCGANGenerator(size=64, width=4, global_net="none", saliency=False)
    g2 = build_generator(g.config)
    g2.load_state_dict(g.state_dict(), strict=True)
    assert g2.config == g.config


# ---- critics -----------------------------------------------------------------------------


def test_critic_receptive_field_is_70() -> None:
    torch.manual_seed(0)
    critic = PatchCritic(3, width=4).eval()
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = critic(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    nz = x.grad.abs().sum(dim=(0, 1)).nonzero()
    extent = (nz.max(0).values - nz.min(0).values + 1).tolist()
    assert extent == [70, 70]


def test_critics_are_spectral_normalised_without_batchnorm() -> None:
    critics = build_critics(width=8, attention=True)
    assert set(critics) == {"color", "attention"}
    for critic in critics.values():
        assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
        convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)
    assert set(build_critics(width=8, attention=False)) == {"color"}


def test_spectral_norm_bounds_weight() -> None:
    torch.manual_seed(0)
    critic = PatchCritic(3, width=8)
    critic.train()
    for _ in range(30):  # power iterations converge in training mode
        critic(torch.randn(1, 3, 64, 64))
    conv = critic.net[2]
    w = conv.weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2) == pytest.approx(1.0, abs=0.05)


# ---- losses ------------------------------------------------------------------------------


class LinearCritic(nn.Module):
    """D(x) = sum(w·x) per sample: its input gradient is w everywhere, so ||∇|| = ||w||."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


@pytest.mark.parametrize("shape", [(3, 8, 8), (1, 5, 7), (3, 16, 16)])
@pytest.mark.parametrize("batch", [1, 4])
def test_gradient_penalty_linear_critic(shape: tuple[int, ...], batch: int) -> None:
    torch.manual_seed(1)
    critic = LinearCritic(shape)
    real, fake = torch.randn(batch, *shape), torch.randn(batch, *shape)
    gp = gradient_penalty(critic, real, fake, weight=10.0)
    w_norm = float(critic.w.detach().norm())
    assert float(gp.detach()) == pytest.approx(10.0 * (w_norm - 1.0) ** 2, rel=1e-5)
    gp.backward()  # the penalty trains the critic: d/dw = 20 (||w|| - 1) w / ||w||
    expected = 20.0 * (w_norm - 1.0) * critic.w.detach() / w_norm
    torch.testing.assert_close(critic.w.grad, expected, rtol=1e-4, atol=1e-5)


def test_gradient_penalty_uses_per_sample_alpha() -> None:
    """D(x) = ½||x||²: ∇ = x̂, so GP = λ·mean((||α·r + (1−α)·f|| − 1)²) for the given α."""
    torch.manual_seed(2)
    real, fake = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    alpha = torch.tensor([0.0, 0.3, 1.0])
    gp = gradient_penalty(lambda x: 0.5 * x.pow(2).flatten(1).sum(1), real, fake, 10.0, alpha)
    mixed = alpha.view(3, 1, 1, 1) * real + (1 - alpha.view(3, 1, 1, 1)) * fake
    expected = 10.0 * ((mixed.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
    assert float(gp.detach()) == pytest.approx(float(expected), rel=1e-6)


def test_pixel_and_attention_losses() -> None:
    a, b = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    assert float(pixel_loss(a, b, "l1")) == pytest.approx(float((a - b).abs().mean()))
    assert float(pixel_loss(a, b, "l2")) == pytest.approx(float(((a - b) ** 2).mean()))
    with pytest.raises(ColorbenchError):
        pixel_loss(a, b, "huber")
    sa, sb = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    expected = (a * sa - b * sb).abs().mean()
    assert float(attention_loss(a, sa, b, sb)) == pytest.approx(float(expected))
    # Zero saliency everywhere: the weighted images vanish, so does the loss.
    z = torch.zeros(2, 1, 4, 4)
    assert float(attention_loss(a, z, b, z)) == 0.0


def test_adversarial_terms() -> None:
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert float(critic_loss("wgan_gp", real, fake)) == pytest.approx(0.0 - 3.0)
    assert float(generator_adv_loss("wgan_gp", fake)) == pytest.approx(0.0)
    assert float(critic_loss("lsgan", real, fake)) == pytest.approx(0.5 * (5.0 + 1.0))
    assert float(generator_adv_loss("lsgan", fake)) == pytest.approx(0.5 * (0.0 + 4.0) / 2)
    with pytest.raises(ColorbenchError):
        critic_loss("hinge", real, fake)


def test_perceptual_loss_frozen_extractor_passes_gradient() -> None:
    torch.manual_seed(0)
    extractor = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    loss_fn = PerceptualLoss(extractor, "toy")
    loss_fn.train()
    assert not loss_fn.extractor.training
    pred = torch.rand(1, 3, 8, 8, requires_grad=True)
    target = torch.rand(1, 3, 8, 8)
    loss = loss_fn(pred * 2 - 1, target * 2 - 1)
    expected = F.l1_loss(extractor(pred), extractor(target))
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    loss.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


def test_vgg16_conv33_slice() -> None:
    from torchvision.models import vgg16

    feats = VGG16Conv33(vgg16(weights=None).features)
    convs = [m for m in feats.body if isinstance(m, nn.Conv2d)]
    assert len(convs) == 7 and convs[-1].out_channels == 256  # conv1_1 .. conv3_3
    assert isinstance(feats.body[-1], nn.ReLU)
    out = feats(torch.rand(1, 3, 32, 32))
    assert out.shape == (1, 256, 8, 8) and math.isfinite(float(out.detach().sum()))
