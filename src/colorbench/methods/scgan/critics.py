"""SCGAN's two critics: 70x70 PatchGANs with spectral normalisation on every layer.

One judges the colour image, the other the "weighted image" (colour × saliency). No
BatchNorm: a WGAN-GP critic must be a per-sample function, or the gradient penalty is
ill-defined; spectral norm gives the paper's 1-Lipschitz constraint instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from colorbench.methods.scgan.global_net import scaled

# 70x70 PatchGAN (pix2pix): C64-C128-C256-C512, 4x4 kernels, strides 2, 2, 2, 1, then 1 ch.
PATCH70 = ((64, 2), (128, 2), (256, 2), (512, 1))


def _sn_conv(c_in: int, c_out: int, stride: int) -> nn.Module:
    conv = nn.Conv2d(c_in, c_out, 4, stride=stride, padding=1)
    # Initialise before wrapping so spectral norm's power iteration starts from these weights.
    nn.init.normal_(conv.weight, 0.0, 0.02)
    nn.init.zeros_(conv.bias)
    return spectral_norm(conv)


class PatchCritic(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        self.in_channels, self.width = in_channels, width
        layers: list[nn.Module] = []
        c_in = in_channels
        for c, stride in PATCH70:
            c_out = scaled(c, width)
            layers += [_sn_conv(c_in, c_out, stride), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c_out
        layers.append(_sn_conv(c_in, 1, 1))
        self.net = nn.Sequential(*layers)

    @property
    def config(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "width": self.width}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B×C×H×W -> B×1×h×w patch scores (unbounded: WGAN critic or LSGAN logits)."""
        return self.net(x)


def build_critics(width: int, attention: bool) -> nn.ModuleDict:
    """`color` always; `attention` (on colour × saliency) when the saliency branch exists."""
    critics = nn.ModuleDict({"color": PatchCritic(3, width)})
    if attention:
        critics["attention"] = PatchCritic(3, width)
    return critics
