"""PSNR and SSIM, batched in torch, equal to skimage.metrics on RGB uint8 (data_range 255).

SSIM follows `skimage.metrics.structural_similarity(channel_axis=-1, data_range=255)` with its
defaults: 7x7 uniform window, sample covariance (N/(N-1)), K1=0.01, K2=0.03, the mean over
the window-valid region (skimage crops (7-1)//2 px at each border) averaged over channels.

Why integers: uint8 inputs make every windowed sum of x, y, x^2+y^2 and xy an exact integer,
so box sums run as int32 cumulative sums (cheap, exact) and only the final ratio is float64.
That is both faster than skimage's float filters and at least as exact (agrees to ~1e-15).
"""

from __future__ import annotations

import math

import torch

SSIM_WIN = 7
_K1, _K2 = 0.01, 0.03
DATA_RANGE = 255.0


def _as_bchw(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected Bx3xHxW uint8 images, got shape {tuple(x.shape)}")
    return x


def psnr_batch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of Bx3xHxW uint8 tensors; +inf where the images are identical
    (as skimage)."""
    pred, gt = _as_bchw(pred), _as_bchw(gt)
    diff = pred.to(torch.int32) - gt.to(torch.int32)
    # Squared differences summed in int64 are exact; only the division is float64.
    sse = (diff * diff).flatten(1).sum(1, dtype=torch.int64).to(torch.float64)
    mse = sse / diff[0].numel()
    out = 10.0 * torch.log10(DATA_RANGE**2 / mse)
    return torch.where(mse == 0, torch.full_like(out, math.inf), out)


def _box_sum(t: torch.Tensor, win: int, dtype: torch.dtype) -> torch.Tensor:
    """Sum over every win x win window fully inside the image ('valid'), exact for ints."""
    c = t.cumsum(-1, dtype=dtype)
    rows = c[..., win - 1 :].clone()
    rows[..., 1:] -= c[..., :-win]
    c = rows.cumsum(-2, dtype=dtype)
    out = c[..., win - 1 :, :].clone()
    out[..., 1:, :] -= c[..., :-win, :]
    return out


def ssim_batch(pred: torch.Tensor, gt: torch.Tensor, win: int = SSIM_WIN) -> torch.Tensor:
    """Per-image SSIM of Bx3xHxW uint8 tensors, as skimage's structural_similarity."""
    pred, gt = _as_bchw(pred), _as_bchw(gt)
    h, w = pred.shape[-2:]
    if min(h, w) < win:
        raise ValueError(f"SSIM needs images of at least {win}x{win} px, got {h}x{w}")
    # int32 holds the cumulative sums up to ~2300 px per side; beyond, int64 keeps them exact.
    dtype = torch.int32 if h * win * 2 * 255**2 < 2**31 and w * 2 * 255**2 < 2**31 else torch.int64
    x = pred.to(dtype)
    y = gt.to(dtype)
    stack = torch.stack([x, y, x * x + y * y, x * y])
    sx, sy, sq, sxy = _box_sum(stack, win, dtype)
    n = win * win
    # SSIM with all moments multiplied through by n^2 (means) or n(n-1) (sample variances):
    # integers stay exact, constants scale accordingly.
    c1 = (_K1 * DATA_RANGE) ** 2 * n * n
    c2 = (_K2 * DATA_RANGE) ** 2 * n * (n - 1)
    a = sx * sy
    b = sx * sx + sy * sy
    num = (2 * a).to(torch.float64).add_(c1).mul_((2 * (n * sxy - a)).to(torch.float64).add_(c2))
    den = b.to(torch.float64).add_(c1).mul_((n * sq - b).to(torch.float64).add_(c2))
    return num.div_(den).mean(dim=(1, 2, 3))
