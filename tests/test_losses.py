"""LSGAN, L1, the differentiable edge loss and DenseFuse's MSE + SSIM loss."""

from __future__ import annotations

import numpy as np
import piq
import pytest
import torch
from skimage.metrics import structural_similarity

from colorbench.losses import (
    densefuse_loss,
    edge_loss,
    l1_loss,
    lsgan_d_loss,
    lsgan_g_loss,
    ssim,
)


def test_lsgan_targets() -> None:
    ones, zeros = torch.ones(2, 1, 5, 5), torch.zeros(2, 1, 5, 5)
    assert float(lsgan_d_loss(ones, zeros)) == 0.0
    assert float(lsgan_g_loss(ones)) == 0.0
    d_real, d_fake = torch.full((1, 1, 3, 3), 0.2), torch.full((1, 1, 3, 3), 0.7)
    assert float(lsgan_d_loss(d_real, d_fake)) == pytest.approx(0.5 * (0.8**2 + 0.7**2))
    assert float(lsgan_g_loss(d_fake)) == pytest.approx(0.3**2)
    assert float(l1_loss(d_real, d_fake)) == pytest.approx(0.5)


def _scene(n: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Mid-gray L with a sharp vertical chroma edge (red-ish left, blue-ish right)."""
    l_norm = torch.zeros(1, 1, n, n)
    ab = torch.zeros(1, 2, n, n)
    ab[:, 0, :, : n // 2] = 0.3
    ab[:, 1, :, n // 2 :] = -0.3
    return l_norm, ab


def test_edge_loss_zero_when_equal_and_has_gradient() -> None:
    l_norm, ab = _scene()
    assert float(edge_loss(l_norm, ab, ab)) == 0.0
    pred = torch.zeros_like(ab, requires_grad=True)  # no colour: the chroma edge is missing
    loss = edge_loss(l_norm, pred, ab)
    loss.backward()
    assert float(loss.detach()) > 0
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    # The gradient concentrates where the missing edge is.
    col_grad = pred.grad.abs().sum(dim=(0, 1, 2))
    assert int(col_grad.argmax()) in range(13, 19)


def test_edge_loss_penalises_bleeding_more_than_a_uniform_shift() -> None:
    """Colour bleeding (a blurred chroma edge) changes edges; a global shift barely does."""
    l_norm, ab = _scene()
    blurred = torch.nn.functional.avg_pool2d(ab, 9, stride=1, padding=4, count_include_pad=False)
    shifted = ab + 0.05
    assert float(edge_loss(l_norm, blurred, ab)) > 5 * float(edge_loss(l_norm, shifted, ab))


def test_ssim_agrees_with_piq_and_skimage() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 40, 48)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    ours = float(ssim(x, y))
    ref_piq = float(piq.ssim(x, y, data_range=1.0, kernel_size=11, kernel_sigma=1.5))
    ref_sk = np.mean(
        [
            structural_similarity(
                a.permute(1, 2, 0).double().numpy(),
                b.permute(1, 2, 0).double().numpy(),
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=1.0,
                channel_axis=2,
            )
            for a, b in zip(x, y, strict=True)
        ]
    )
    assert ours == pytest.approx(ref_piq, abs=1e-4)
    assert ours == pytest.approx(ref_sk, abs=2e-3)  # skimage's window is truncated at 3.5 sigma


def test_densefuse_loss_values() -> None:
    torch.manual_seed(1)
    x = torch.rand(1, 3, 32, 32)
    assert float(densefuse_loss(x, x)) == pytest.approx(0.0, abs=1e-5)
    y = (x + 0.05).clamp(0, 1)
    mse = float(((x - y) ** 2).mean())
    expected = mse + 100.0 * (1.0 - float(ssim(y, x)))
    assert float(densefuse_loss(y, x, 100.0)) == pytest.approx(expected, rel=1e-5)
    assert float(densefuse_loss(torch.rand(1, 3, 6, 6), torch.rand(1, 3, 6, 6))) > 0  # tiny
