"""pix2pix's PatchGAN discriminator on (L, ab): every output pixel judges one patch.

Layout (Isola et al. 2017, `NLayerDiscriminator`): 4x4 convs, stride 2 for the first
`n_layers`, then two stride-1 convs; BatchNorm on all but the first and last, LeakyReLU 0.2.
n_layers=3 gives the 70x70 receptive field; n_layers=2 gives 34x34.
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL = 4


class PatchGAN(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"PatchGAN needs n_layers >= 1, got {n_layers}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, KERNEL, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        ch = width
        for n in range(1, n_layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these keeps the resolution
            layers += [
                nn.Conv2d(ch, out, KERNEL, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch = out
        layers.append(nn.Conv2d(ch, 1, KERNEL, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def receptive_field(model: nn.Module) -> int:
    """Receptive field of one output pixel, from the conv layers' kernels and strides."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    rf = 1
    for conv in reversed(convs):
        rf = (rf - 1) * conv.stride[0] + (conv.kernel_size[0] - 1) * conv.dilation[0] + 1
    return rf
