"""Training losses for ParaColorizer: LSGAN, L1, the edge loss, and DenseFuse's MSE + SSIM.

Edge loss — our differentiable stand-in for the paper's. The paper compares Canny edge maps
(Otsu thresholds) of the ground truth and of the colorized image; Canny's thresholding and
non-maximum suppression are piecewise constant in the input, so that term has zero gradient
almost everywhere and cannot train a generator. We keep its idea (penalise edges of the
colorized image that differ from the ground truth's: colour bleeding moves or blurs chroma
edges) with a differentiable edge map: the Sobel gradient magnitude of each RGB channel of
the colorized image (L + predicted ab through the differentiable Lab->RGB of colour.py),
compared by mean absolute difference with the same map of the ground truth. It is exactly 0
when the prediction equals the ground truth and its gradient reaches the predicted ab.
"""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F

from colorbench.color import net_to_rgb


def lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN discriminator loss: real patches to 1, fake patches to 0 (x 0.5 as
    pix2pix does, so D learns at half the generator's rate)."""
    real = F.mse_loss(d_real, torch.ones_like(d_real))
    fake = F.mse_loss(d_fake, torch.zeros_like(d_fake))
    return 0.5 * (real + fake)


def lsgan_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN generator loss: fake patches to 1."""
    return F.mse_loss(d_fake, torch.ones_like(d_fake))


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def edge_map(rgb: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude per channel (B×C×H×W, differentiable; kornia's eps keeps the
    gradient finite in flat regions)."""
    return kornia.filters.sobel(rgb, normalized=True, eps=1e-6)


def edge_loss(l_norm: torch.Tensor, ab_pred: torch.Tensor, ab_true: torch.Tensor) -> torch.Tensor:
    """Mean |edges(colorized) - edges(ground truth)| on RGB (see the module docstring)."""
    pred_rgb = net_to_rgb(l_norm, ab_pred)
    with torch.no_grad():
        true_edges = edge_map(net_to_rgb(l_norm, ab_true))
    return F.l1_loss(edge_map(pred_rgb), true_edges)


def ssim(pred: torch.Tensor, target: torch.Tensor, window: int = 11) -> torch.Tensor:
    """Mean SSIM of RGB images in [0, 1] (Gaussian 11x11 window, sigma 1.5, as DenseFuse),
    over the valid window positions as skimage and piq average it."""
    return kornia.metrics.ssim(pred, target, window, max_val=1.0, padding="valid").mean()


def ssim_window(height: int, width: int) -> int:
    """The SSIM window for an image: 11, shrunk (kept odd) so tiny test images still work."""
    window = min(11, height, width)
    return window - (1 - window % 2)


def densefuse_loss(
    pred: torch.Tensor, target: torch.Tensor, lambda_ssim: float = 100.0
) -> torch.Tensor:
    """DenseFuse's autoencoder loss: MSE + lambda * (1 - SSIM) (DenseFuse used lambda = 100)."""
    window = ssim_window(pred.shape[-2], pred.shape[-1])
    return F.mse_loss(pred, target) + lambda_ssim * (1.0 - ssim(pred, target, window))
