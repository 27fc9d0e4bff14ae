"""pix2pix U-Net generator (Isola et al. 2017), ParaColorizer's V1 baseline.

L (B×1×H×W) -> ab (B×2×H×W, tanh). `depth` 4x4 stride-2 convs down to H/2**depth, and
transposed convs back up with skip connections. Encoder: LeakyReLU 0.2, BatchNorm except
on the outermost and innermost convs; decoder: ReLU, BatchNorm except outermost. As in
pix2pix, dropout 0.5 sits in the decoder blocks at 8·width channels below the innermost
(depth - 5 of them, so none at depth 5 and three at the paper's depth 8). Channels:
width·min(2**i, 8) at level i.
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL = 4


class UNetGenerator(nn.Module):
    def __init__(
        self, in_channels: int = 1, out_channels: int = 2, width: int = 64, depth: int = 8
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"U-Net depth must be >= 2, got {depth}")
        chans = [width * min(2**i, 8) for i in range(depth)]
        self.size_multiple = 2**depth

        self.down = nn.ModuleList()
        for i, out in enumerate(chans):
            inp = in_channels if i == 0 else chans[i - 1]
            # Not in place: the pre-activation map is also the skip to the decoder.
            block: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            block.append(nn.Conv2d(inp, out, KERNEL, stride=2, padding=1, bias=False))
            if 0 < i < depth - 1:
                block.append(nn.BatchNorm2d(out))
            self.down.append(nn.Sequential(*block))

        # up[i] maps level i+1 (or the innermost) back to the resolution of level i-1.
        self.up = nn.ModuleList()
        n_dropout = max(0, depth - 5)
        for i in reversed(range(depth)):
            inp = chans[i] if i == depth - 1 else 2 * chans[i]
            out = out_channels if i == 0 else chans[i - 1]
            block = [
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(inp, out, KERNEL, stride=2, padding=1, bias=i == 0),
            ]
            if i == 0:
                block.append(nn.Tanh())
            else:
                block.append(nn.BatchNorm2d(out))
                if depth - 1 - n_dropout <= i < depth - 1:
                    block.append(nn.Dropout(0.5))
            self.up.append(nn.Sequential(*block))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()  # the innermost feature map is the decoder's input, not a skip
        for block in self.up:
            x = block(x)
            if skips:
                x = torch.cat([x, skips.pop()], dim=1)
        return x
