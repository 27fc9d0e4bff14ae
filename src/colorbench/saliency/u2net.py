"""U^2-Net-p (Qin et al., "U^2-Net: Going deeper with nested U-structure for salient object
detection", Pattern Recognition 2020): the 1.1 M-parameter variant.

Architecture: a 6-stage encoder / 5-stage decoder U-Net whose stages are themselves small
U-Nets (residual U-blocks, RSU-L: L-1 encoder convs with max-pools between them, a dilated
bottom conv, a decoder back up, plus a residual from the input conv). Stages 5, 6 and 5d
are RSU-4F (dilations 1, 2, 4, 8 instead of pooling). Every stage has 16 middle and 64
output channels. Six side outputs (3x3 conv -> 1 channel, upsampled to full size) are fused
by a 1x1 conv; all seven go through a sigmoid. Inference uses the fused map.

Module names follow the authors' code, so their released `u2netp.pth` state dict loads
strictly into this implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class REBNCONV(nn.Module):
    """3x3 conv (dilated) -> BatchNorm -> ReLU."""

    def __init__(self, in_ch: int, out_ch: int, dirate: int = 1) -> None:
        super().__init__()
        self.conv_s1 = nn.Conv2d(in_ch, out_ch, 3, padding=dirate, dilation=dirate)
        self.bn_s1 = nn.BatchNorm2d(out_ch)
        self.relu_s1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu_s1(self.bn_s1(self.conv_s1(x)))


def _upsample_like(src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
    return F.interpolate(src, size=tar.shape[2:], mode="bilinear", align_corners=False)


class RSU(nn.Module):
    """Residual U-block of height `depth` (RSU-7 ... RSU-4) with pooling between levels."""

    def __init__(self, depth: int, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.depth = depth
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        for i in range(1, depth):
            setattr(self, f"rebnconv{i}", REBNCONV(out_ch if i == 1 else mid_ch, mid_ch))
            if i < depth - 1:
                setattr(self, f"pool{i}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
        setattr(self, f"rebnconv{depth}", REBNCONV(mid_ch, mid_ch, dirate=2))
        for i in range(depth - 1, 0, -1):
            setattr(self, f"rebnconv{i}d", REBNCONV(mid_ch * 2, out_ch if i == 1 else mid_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        enc = []
        hx = hxin
        for i in range(1, self.depth):
            hx = getattr(self, f"rebnconv{i}")(hx)
            enc.append(hx)
            if i < self.depth - 1:
                hx = getattr(self, f"pool{i}")(hx)
        hx = getattr(self, f"rebnconv{self.depth}")(hx)
        for i in range(self.depth - 1, 0, -1):
            skip = enc[i - 1]
            if hx.shape[2:] != skip.shape[2:]:
                hx = _upsample_like(hx, skip)
            hx = getattr(self, f"rebnconv{i}d")(torch.cat((hx, skip), 1))
        return hx + hxin


class RSU4F(nn.Module):
    """RSU-4 with dilated convolutions instead of pooling (for low-resolution stages)."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch, dirate=1)
        self.rebnconv2 = REBNCONV(mid_ch, mid_ch, dirate=2)
        self.rebnconv3 = REBNCONV(mid_ch, mid_ch, dirate=4)
        self.rebnconv4 = REBNCONV(mid_ch, mid_ch, dirate=8)
        self.rebnconv3d = REBNCONV(mid_ch * 2, mid_ch, dirate=4)
        self.rebnconv2d = REBNCONV(mid_ch * 2, mid_ch, dirate=2)
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch, dirate=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(hx1)
        hx3 = self.rebnconv3(hx2)
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((hx3d, hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


class U2NETP(nn.Module):
    """U^2-Net-p: RGB (ImageNet-normalised) -> 7 sigmoid maps, the fused one first."""

    def __init__(self, in_ch: int = 3, out_ch: int = 1) -> None:
        super().__init__()
        self.stage1 = RSU(7, in_ch, 16, 64)
        self.pool12 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage2 = RSU(6, 64, 16, 64)
        self.pool23 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage3 = RSU(5, 64, 16, 64)
        self.pool34 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage4 = RSU(4, 64, 16, 64)
        self.pool45 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage5 = RSU4F(64, 16, 64)
        self.pool56 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.stage6 = RSU4F(64, 16, 64)
        self.stage5d = RSU4F(128, 16, 64)
        self.stage4d = RSU(4, 128, 16, 64)
        self.stage3d = RSU(5, 128, 16, 64)
        self.stage2d = RSU(6, 128, 16, 64)
        self.stage1d = RSU(7, 128, 16, 64)
        for i in range(1, 7):
            setattr(self, f"side{i}", nn.Conv2d(64, out_ch, 3, padding=1))
        self.outconv = nn.Conv2d(6 * out_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        hx1 = self.stage1(x)
        hx2 = self.stage2(self.pool12(hx1))
        hx3 = self.stage3(self.pool23(hx2))
        hx4 = self.stage4(self.pool34(hx3))
        hx5 = self.stage5(self.pool45(hx4))
        hx6 = self.stage6(self.pool56(hx5))
        hx5d = self.stage5d(torch.cat((_upsample_like(hx6, hx5), hx5), 1))
        hx4d = self.stage4d(torch.cat((_upsample_like(hx5d, hx4), hx4), 1))
        hx3d = self.stage3d(torch.cat((_upsample_like(hx4d, hx3), hx3), 1))
        hx2d = self.stage2d(torch.cat((_upsample_like(hx3d, hx2), hx2), 1))
        hx1d = self.stage1d(torch.cat((_upsample_like(hx2d, hx1), hx1), 1))
        d1 = self.side1(hx1d)
        sides = [d1] + [
            _upsample_like(getattr(self, f"side{i}")(h), d1)
            for i, h in zip(range(2, 7), (hx2d, hx3d, hx4d, hx5d, hx6), strict=True)
        ]
        d0 = self.outconv(torch.cat(sides, 1))
        return tuple(torch.sigmoid(d) for d in [d0, *sides])
