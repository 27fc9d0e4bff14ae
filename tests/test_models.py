"""ParaColorizer networks: shapes, ranges, registry, training signal, PatchGAN receptive field,
ResNet-18 layout and conv1 summing, SAGAN block, DenseFuse fusion against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.losses import densefuse_loss, l1_loss, lsgan_d_loss
from colorbench.models.densefuse import DenseFuse, fuse
from colorbench.models.patchgan import PatchGAN, receptive_field
from colorbench.models.registry import (
    MODELS,
    build_discriminator,
    build_fusion,
    build_generator,
)
from colorbench.models.resunet import ResNet18Encoder, ResUNet, SelfAttention
from colorbench.models.unet import UNetGenerator

TINY = {
    "unet": {"arch": "unet", "width": 4, "depth": 4},
    "resunet": {"arch": "resunet", "width": 4},
    "resunet_attn": {"arch": "resunet_attn", "width": 4},
}


@pytest.mark.parametrize("arch", sorted(TINY))
@pytest.mark.parametrize("size", [(64, 64), (96, 128)])
def test_generator_shape_and_range(arch: str, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    g = build_generator(TINY[arch]).eval()
    x = torch.rand(2, 1, *size) * 2 - 1
    with torch.no_grad():
        y = g(x)
    assert y.shape == (2, 2, *size)
    assert torch.isfinite(y).all() and y.abs().max() <= 1.0
    assert y.std() > 0  # not a constant output


@pytest.mark.parametrize("size", [64, 96])
def test_patchgan_shape(size: int) -> None:
    d = build_discriminator({"arch": "patchgan", "width": 4, "n_layers": 3}).eval()
    out = d(torch.randn(2, 3, size, size))
    # 3 stride-2 4x4 convs (pad 1) halve the side, the two stride-1 4x4 convs remove 1 each.
    assert out.shape == (2, 1, size // 8 - 2, size // 8 - 2)


@pytest.mark.parametrize("hw", [(37, 53), (64, 64)])
def test_densefuse_any_size(hw: tuple[int, int]) -> None:
    f = build_fusion({"width": 4}).eval()
    x = torch.rand(1, 3, *hw)
    with torch.no_grad():
        feats = f.encode(x)
        y = f(x)
    assert feats.shape == (1, 16, *hw)  # dense block output: 4 x width
    assert y.shape == x.shape


def test_densefuse_layout() -> None:
    f = DenseFuse(width=16)
    convs = [m for m in f.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 16), (16, 16), (32, 16), (48, 16),  # encoder + dense block
        (64, 64), (64, 32), (32, 16), (16, 3),  # decoder
    ]  # fmt: skip
    assert all(c.padding == (0, 0) for c in convs)  # padding is the ReflectionPad2d layers
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in f.modules()) == 8
    assert not any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d) for m in f.modules())
    assert not isinstance(list(f.decoder[-1].children())[-1], nn.ReLU)  # linear read-out


def test_registry_picks_variant() -> None:
    assert {"unet", "resunet", "resunet_attn", "patchgan", "densefuse"} <= set(MODELS)
    assert isinstance(build_generator(TINY["unet"]), UNetGenerator)
    plain = build_generator(TINY["resunet"])
    attn = build_generator(TINY["resunet_attn"])
    assert isinstance(plain, ResUNet) and plain.attention is None
    assert isinstance(attn.attention, SelfAttention)
    assert isinstance(build_discriminator({"width": 4}), PatchGAN)
    assert isinstance(build_fusion({"width": 4}), DenseFuse)
    with pytest.raises(ColorbenchError, match="unknown generator arch"):
        build_generator({"arch": "vgg"})
    with pytest.raises(ColorbenchError, match="widht"):
        build_generator({"arch": "unet", "widht": 4})


def test_unet_layout_follows_pix2pix() -> None:
    g = UNetGenerator(width=4, depth=8)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3  # depth - 5 blocks
    assert sum(isinstance(m, nn.Dropout) for m in UNetGenerator(width=4, depth=5).modules()) == 0
    downs = [b[-1] if isinstance(b[-1], nn.Conv2d) else b[-2] for b in g.down]
    assert [c.out_channels for c in downs] == [4, 8, 16, 32, 32, 32, 32, 32]
    assert g.size_multiple == 256


def _train_step_lowers(model: nn.Module, loss_fn, lr: float = 1e-3) -> tuple[float, float]:
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    before = loss_fn()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss_fn()
    return float(before.detach()), float(after)


@pytest.mark.parametrize("arch", sorted(TINY))
def test_generator_l1_step_lowers_loss(arch: str) -> None:
    torch.manual_seed(1)
    g = build_generator(TINY[arch])
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    target = torch.rand(4, 2, 32, 32) * 0.6 - 0.3
    before, after = _train_step_lowers(g, lambda: l1_loss(g(x), target))
    assert after < before


def test_patchgan_lsgan_step_lowers_loss() -> None:
    torch.manual_seed(2)
    d = build_discriminator({"width": 4, "n_layers": 2})
    real, fake = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    before, after = _train_step_lowers(d, lambda: lsgan_d_loss(d(real), d(fake)))
    assert after < before


def test_densefuse_step_lowers_loss() -> None:
    torch.manual_seed(3)
    f = build_fusion({"width": 4})
    x = torch.rand(2, 3, 32, 32)
    before, after = _train_step_lowers(f, lambda: densefuse_loss(f(x), x, 100.0))
    assert after < before


@pytest.mark.parametrize("n_layers,expected", [(3, 70), (2, 34), (1, 16)])
def test_patchgan_receptive_field_from_layers(n_layers: int, expected: int) -> None:
    assert receptive_field(PatchGAN(3, 4, n_layers)) == expected


def test_patchgan_receptive_field_by_gradient() -> None:
    """One output pixel's gradient w.r.t. the input is nonzero on exactly a 70x70 square."""
    torch.manual_seed(4)
    d = PatchGAN(3, 4, 3).eval()  # eval: batch statistics would couple every pixel
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = d(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    nz = x.grad.abs().sum(dim=(0, 1)) > 0
    rows, cols = nz.any(dim=1).nonzero(), nz.any(dim=0).nonzero()
    assert int(rows.max() - rows.min() + 1) == 70
    assert int(cols.max() - cols.min() + 1) == 70
    # Its corner: output i maps back through the paddings to input row 8i - 23.
    assert int(rows.min()) == 8 * i - 23 and int(cols.min()) == 8 * j - 23


def test_resnet18_encoder_matches_torchvision_layout() -> None:
    ours = ResNet18Encoder(in_channels=3, width_mult=1.0).state_dict()
    ref = torchvision.models.resnet18(weights=None).state_dict()
    ref = {k: v for k, v in ref.items() if not k.startswith("fc.")}
    assert list(ours) == list(ref)
    assert all(ours[k].shape == ref[k].shape for k in ref)
    small = ResNet18Encoder(1, 0.25)
    assert small.channels == (16, 16, 32, 64, 128)
    assert set(small.state_dict()) == set(ref)  # same layout, scaled channels


def test_resunet_width_scales_encoder_by_default() -> None:
    assert ResUNet(width=16).encoder.channels[-1] == 128
    assert ResUNet(width=16, encoder_width=1.0).encoder.channels[-1] == 512
    with pytest.raises(ColorbenchError, match="full ResNet-18"):
        ResUNet(width=16, encoder_width=0.5, pretrained=True, load_pretrained=False)


def test_pretrained_conv1_is_sum_over_rgb(tmp_path, monkeypatch) -> None:
    """Random 'ImageNet' weights installed where the weights registry looks for them."""
    from colorbench import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(5)
    sd = torchvision.models.resnet18(weights=None).state_dict()
    sd = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in sd.items()}
    path = weights.cache_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(sd, path)
    monkeypatch.setitem(
        weights.REGISTRY,
        "resnet18",
        weights.override("resnet18", sha256=weights.sha256_file(path), size=path.stat().st_size),
    )
    g = build_generator({"arch": "resunet", "width": 4, "pretrained": True})
    enc = g.encoder.state_dict()
    assert enc["conv1.weight"].shape == (64, 1, 7, 7)
    torch.testing.assert_close(enc["conv1.weight"], sd["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(enc["layer3.1.conv2.weight"], sd["layer3.1.conv2.weight"])
    torch.testing.assert_close(enc["bn1.running_var"], sd["bn1.running_var"])


def test_pretrained_without_weights_is_a_clear_error(tmp_path, monkeypatch) -> None:
    from colorbench.errors import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="weights fetch"):
        build_generator({"arch": "resunet", "width": 4, "pretrained": True})


def test_self_attention_identity_at_init_and_reference() -> None:
    torch.manual_seed(6)
    att = SelfAttention(16)
    x = torch.randn(2, 16, 5, 7)
    torch.testing.assert_close(att(x), x)  # gamma = 0
    with torch.no_grad():
        att.gamma.fill_(0.7)
    q = att.query(x).flatten(2)  # B x C' x N
    k = att.key(x).flatten(2)
    v = att.value(x).flatten(2)
    energy = torch.einsum("bci,bcj->bij", q, k)
    weights = torch.softmax(energy, dim=-1)  # each position attends over all positions
    ref = torch.einsum("bij,bcj->bci", weights, v).view_as(x)
    torch.testing.assert_close(att(x), 0.7 * ref + x)


def _l1norm_reference(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """DenseFuse's l1-norm strategy written out with loops (one image, C x H x W)."""
    c, h, w = f1.shape
    acts = []
    for f in (f1, f2):
        norm = np.abs(f).sum(axis=0)
        avg = np.zeros((h, w))
        for y in range(h):
            for x in range(w):
                block = norm[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
                avg[y, x] = block.mean()
        acts.append(avg)
    total = acts[0] + acts[1]
    w1 = np.where(total > 0, acts[0] / np.where(total > 0, total, 1), 0.5)
    return w1 * f1 + (1 - w1) * f2


def test_l1norm_fusion_matches_numpy_reference() -> None:
    rng = np.random.default_rng(7)
    f1 = rng.normal(size=(2, 6, 9, 11))
    f2 = rng.normal(size=(2, 6, 9, 11)) * 3
    f1[1, :, :4, :5] = 0  # a region where only one input is active
    f2[1, :, :4, :5] = 0  # ...and one where neither is (weights 0.5)
    got = fuse(torch.from_numpy(f1), torch.from_numpy(f2), "l1norm").numpy()
    for b in range(2):
        np.testing.assert_allclose(got[b], _l1norm_reference(f1[b], f2[b]), rtol=1e-12)
    add = fuse(torch.from_numpy(f1), torch.from_numpy(f2), "addition").numpy()
    np.testing.assert_allclose(add, f1 + f2)
    with pytest.raises(ValueError, match="strategy"):
        fuse(torch.from_numpy(f1), torch.from_numpy(f2), "max")


def test_unet_accepts_pretrained_false_for_the_v1_ablation() -> None:
    import pytest

    from colorbench.errors import ColorbenchError
    from colorbench.models.registry import build_generator

    build_generator({"arch": "unet", "width": 4, "depth": 5, "pretrained": False})
    with pytest.raises(ColorbenchError, match="no pretrained encoder"):
        build_generator({"arch": "unet", "width": 4, "depth": 5, "pretrained": True})
