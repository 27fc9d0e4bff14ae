"""SAGAN self-attention (Zhang et al. 2019), used in ParaColorizer's foreground decoder to
carry colour consistency across long distances."""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    """y = gamma * softmax(q^T k) v + x, with 1x1 convs for q, k (C/8) and v (C).

    gamma starts at 0, so the block is the identity at initialisation and the network
    learns how much non-local evidence to mix in (as SAGAN does).
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        inner = max(1, channels // reduction)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # B x N x C'
        k = self.key(x).flatten(2)  # B x C' x N
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # B x N x N, rows sum to 1
        v = self.value(x).flatten(2)  # B x C x N
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x
