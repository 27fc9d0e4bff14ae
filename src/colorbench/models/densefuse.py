"""DenseFuse (Li & Wu 2019) as ParaColorizer's fusion network, on colour images.

Encoder: conv3x3 -> w, then a dense block of three conv3x3 -> w, each fed the concatenation
of everything before it, whose output is that concatenation (4w = 64 channels at the paper's
w = 16). Decoder: conv3x3 4w -> 4w -> 2w -> w -> 3, ReLU after all but the last (the image
is a linear read-out). Reflection padding everywhere, no pooling: fully convolutional, so it
runs at any image size. Trained as an autoencoder; at test time the encoder features of two
images are fused (`fuse`) and decoded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRATEGIES = ("addition", "l1norm")


def _conv(in_ch: int, out_ch: int, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(in_ch, out_ch, 3)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DenseFuse(nn.Module):
    size_multiple = 1

    def __init__(self, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, width)
        self.dense = nn.ModuleList([_conv(width * (i + 1), width) for i in range(3)])
        feat = 4 * width
        self.feature_channels = feat
        self.decoder = nn.Sequential(
            _conv(feat, feat),
            _conv(feat, 2 * width),
            _conv(2 * width, width),
            _conv(width, in_channels, relu=False),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for conv in self.dense:
            x = torch.cat([x, conv(x)], dim=1)
        return x

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def fuse_images(
        self, a: torch.Tensor, b: torch.Tensor, strategy: str = "l1norm"
    ) -> torch.Tensor:
        """Encode both images, fuse their features, decode the fused image."""
        return self.decode(fuse(self.encode(a), self.encode(b), strategy))


def fuse(f1: torch.Tensor, f2: torch.Tensor, strategy: str = "addition") -> torch.Tensor:
    """DenseFuse's feature fusion of two B×C×H×W maps.

    `addition`: f1 + f2. `l1norm`: activity C_k = sum_c |f_k| at each pixel, averaged over
    the 3x3 block around it (at the border, over the part of the block inside the image),
    weights w_k = C_k / (C_1 + C_2) (0.5 each where both are 0), output w_1 f1 + w_2 f2.
    """
    if f1.shape != f2.shape:
        raise ValueError(f"fusion needs equal shapes, got {tuple(f1.shape)} and {tuple(f2.shape)}")
    if strategy == "addition":
        return f1 + f2
    if strategy == "l1norm":
        acts = [
            F.avg_pool2d(
                f.abs().sum(dim=1, keepdim=True), 3, stride=1, padding=1, count_include_pad=False
            )
            for f in (f1, f2)
        ]
        total = acts[0] + acts[1]
        w1 = torch.where(total > 0, acts[0] / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)
        return w1 * f1 + (1.0 - w1) * f2
    raise ValueError(f"unknown fusion strategy {strategy!r}; use one of {STRATEGIES}")
