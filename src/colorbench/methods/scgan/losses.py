"""SCGAN's losses (paper eqs. 1-6): pixel, attention, WGAN-GP / LSGAN, perceptual.

Images are RGB in [-1, 1] (the generator's tanh range); saliency maps are in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.errors import ColorbenchError

PIXEL_LOSSES = ("l1", "l2")
GAN_LOSSES = ("wgan_gp", "lsgan", "none")


def pixel_loss(pred: torch.Tensor, target: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Eq. 1 (L1); `l2` is Table II's "with L2 loss" ablation (mean squared error)."""
    if kind == "l1":
        return F.l1_loss(pred, target)
    if kind == "l2":
        return F.mse_loss(pred, target)
    raise ColorbenchError(f"train_scgan.pixel_loss must be one of {PIXEL_LOSSES}, got {kind!r}")


def weighted_image(rgb: torch.Tensor, saliency: torch.Tensor) -> torch.Tensor:
    """Colour image × saliency map (broadcast over channels): the attention critic's input."""
    return rgb * saliency


def attention_loss(
    pred_rgb: torch.Tensor,
    pred_sal: torch.Tensor,
    target_rgb: torch.Tensor,
    target_sal: torch.Tensor,
    kind: str = "l1",
) -> torch.Tensor:
    """Eq. 2: || Gc(x)·Gs(x) − c·s ||, which trains both the colour and the saliency branch."""
    return pixel_loss(
        weighted_image(pred_rgb, pred_sal), weighted_image(target_rgb, target_sal), kind
    )


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al.): weight · E[(||∇D(x̂)||₂ − 1)²] at x̂ = α·real + (1−α)·fake.

    α has one value per sample, shaped (B, 1, 1, ...) from `real` itself, so any batch size,
    channel count or resolution works. The graph is kept (create_graph) so the penalty
    trains the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ")
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    if alpha is None:
        alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    alpha = alpha.reshape(shape)
    mixed = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(
        outputs=scores.sum(), inputs=mixed, create_graph=True, retain_graph=True
    )
    norms = grad.flatten(1).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


# ---- adversarial terms (eqs. 3-4 for WGAN-GP; least squares for the LSGAN ablation) ----------


def critic_loss(kind: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's loss without the gradient penalty."""
    if kind == "wgan_gp":
        return fake_scores.mean() - real_scores.mean()
    if kind == "lsgan":
        return 0.5 * (((real_scores - 1.0) ** 2).mean() + (fake_scores**2).mean())
    raise ColorbenchError(f"train_scgan.gan must be one of {GAN_LOSSES}, got {kind!r}")


def generator_adv_loss(kind: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term for one critic."""
    if kind == "wgan_gp":
        return -fake_scores.mean()
    if kind == "lsgan":
        return 0.5 * ((fake_scores - 1.0) ** 2).mean()
    raise ColorbenchError(f"train_scgan.gan must be one of {GAN_LOSSES}, got {kind!r}")


class PerceptualLoss(nn.Module):
    """Eq. 5: L1 between frozen-network features of the prediction and of the target.

    `extractor` takes RGB in [0, 1] (B×3×H×W) and returns a feature map: VGG-16 conv3_3
    (ReLU) in the paper profile, the profile's evaluator on synthetic data. It is frozen
    and kept in eval mode; gradients still flow to the prediction.
    """

    def __init__(self, extractor: nn.Module, name: str) -> None:
        super().__init__()
        self.extractor = extractor.eval().requires_grad_(False)
        self.name = name

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.extractor.eval()
        return self

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        to01 = lambda t: (t + 1.0) * 0.5  # noqa: E731  ([-1, 1] -> [0, 1])
        with torch.no_grad():
            target_feat = self.extractor(to01(target))
        return F.l1_loss(self.extractor(to01(pred)), target_feat)


class VGG16Conv33(nn.Module):
    """torchvision VGG-16 up to the ReLU after conv3_3, with ImageNet input normalisation."""

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, vgg_features: nn.Sequential) -> None:
        super().__init__()
        self.body = vgg_features[:16]  # conv1_1 ... conv3_3, relu3_3
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1))

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        return self.body((rgb01 - self.mean) / self.std)
