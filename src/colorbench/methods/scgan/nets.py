"""SCGAN generator (Zhao et al., "SCGAN: Saliency Map-guided Colorization with GAN").

Gray input (B×1×H×W, L/50-1) -> colour RGB (B×3×H×W, tanh, matched to a [-1, 1] target) and
a saliency map (B×1×H×W, sigmoid).

Encoder: 7x7 s1 -> 64, then 3x3 s2 convs to 128, 256, 512, 512, 512 (H/32). The global-feature
network's output (512 @ H/32) is concatenated there and fused by a 1x1 conv; stride-2 convs then
continue until the map is 1x1 (three more at 256 px, one at 64 px: derived from `size`).
The decoder upsamples back level by level with U-Net skip connections. The saliency branch
takes the decoder maps at H/8, H/4 and H/2, upsamples each to full size, concatenates them
and maps to one channel. Reflection padding, BatchNorm and LeakyReLU 0.2 everywhere except
the input and output layers. Channels are the paper's scaled by width/64.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.methods.scgan.global_net import (
    DOWNSAMPLE,
    GlobalFeatures,
    conv_block,
    gaussian_init,
    scaled,
)

ENCODER_CHANNELS = (64, 128, 256, 512, 512, 512)  # at strides 1, 2, 4, 8, 16, 32
GLOBAL_LEVEL = 5  # index of the H/32 level where the global features are concatenated
SALIENCY_LEVELS = (3, 2, 1)  # H/8, H/4, H/2 (32, 64, 128 px at 256)
SALIENCY_CHANNELS = 32  # per saliency head, at width 64
GLOBAL_MODES = ("pretrained", "random", "none")
MIN_SIZE = DOWNSAMPLE  # the H/32 level must be at least 1x1


def _down(size: int) -> int:
    """Spatial size after a reflection-padded 3x3 stride-2 conv."""
    return (size - 1) // 2 + 1


def level_sizes(size: int) -> list[int]:
    """Spatial size of every encoder level: full, H/2, ..., H/32, then down to 1."""
    sizes = [size]
    while len(sizes) <= GLOBAL_LEVEL or sizes[-1] > 1:
        sizes.append(_down(sizes[-1]))
    return sizes


class SCGANGenerator(nn.Module):
    def __init__(
        self,
        size: int = 256,
        width: int = 64,
        global_net: str = "pretrained",
        saliency: bool = True,
        freeze_global: bool = True,
    ) -> None:
        super().__init__()
        if size < MIN_SIZE:
            raise ColorbenchError(
                f"SCGAN needs images of at least {MIN_SIZE} px (five stride-2 levels), "
                f"got {size}; raise prepare.size"
            )
        if global_net not in GLOBAL_MODES:
            raise ColorbenchError(
                f"train_scgan.global_net must be one of {GLOBAL_MODES}, got {global_net!r}"
            )
        self.size, self.width, self.global_mode = size, width, global_net
        # Only pretrained weights are frozen: the `random` ablation ("w/o pre-weights",
        # Table II) trains its Gaussian-initialised global network with the rest.
        self.use_saliency = bool(saliency)
        self.freeze_global = bool(freeze_global) and global_net == "pretrained"
        self.sizes = level_sizes(size)
        n_levels = len(self.sizes)
        ch = [scaled(c, width) for c in ENCODER_CHANNELS]
        ch += [ch[-1]] * (n_levels - len(ch))
        self.channels = ch

        enc: list[nn.Module] = [conv_block(1, ch[0], 7, stride=1, norm=False)]  # input layer
        for i in range(1, n_levels):
            enc.append(conv_block(ch[i - 1], ch[i], 3, stride=2))
        self.encoder = nn.ModuleList(enc)

        self.global_features = GlobalFeatures(width) if global_net != "none" else None
        g_ch = self.global_features.out_channels if self.global_features is not None else 0
        # 1x1 fusion conv (as Iizuka et al.'s fusion layer): works down to a 1x1 map.
        self.fuse = conv_block(ch[GLOBAL_LEVEL] + g_ch, ch[GLOBAL_LEVEL], 1)

        # decoder[i] produces level i from level i+1 (upsampled) concatenated with skip i.
        self.decoder = nn.ModuleList(
            conv_block(ch[i + 1] + ch[i], ch[i], 3) for i in range(n_levels - 1)
        )
        self.to_rgb = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch[0], 3, 3), nn.Tanh())

        if self.use_saliency:
            cs = scaled(SALIENCY_CHANNELS, width)
            self.saliency_heads = nn.ModuleList(conv_block(ch[i], cs, 3) for i in SALIENCY_LEVELS)
            self.to_saliency = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(cs * len(SALIENCY_LEVELS), 1, 3), nn.Sigmoid()
            )
        else:
            self.saliency_heads = None
            self.to_saliency = None

        # Paper: N(0, 0.02) everywhere "except global feature network" (loaded later when
        # pretrained; the `random` ablation is Gaussian-initialised like the rest).
        gaussian_init(self)
        if self.global_features is not None and self.freeze_global:
            self.global_features.requires_grad_(False)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "width": self.width,
            "global_net": self.global_mode,
            "saliency": self.use_saliency,
            "freeze_global": self.freeze_global,
        }

    def train(self, mode: bool = True) -> SCGANGenerator:
        super().train(mode)
        # A frozen global network keeps its BatchNorm statistics from pretraining.
        if self.global_features is not None and self.freeze_global:
            self.global_features.eval()
        return self

    def forward(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if gray.shape[1] != 1 or tuple(gray.shape[-2:]) != (self.size, self.size):
            raise ColorbenchError(
                f"SCGAN generator built for 1x{self.size}x{self.size} input, got "
                f"{tuple(gray.shape[1:])}; resize to the model size first"
            )
        skips: list[torch.Tensor] = []
        x = gray
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == GLOBAL_LEVEL:
                if self.global_features is not None:
                    x = torch.cat([x, self.global_features(gray)], dim=1)
                x = self.fuse(x)
            skips.append(x)

        dec: list[torch.Tensor | None] = [None] * len(skips)
        y = skips[-1]
        for i in range(len(skips) - 2, -1, -1):
            up = F.interpolate(y, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            y = self.decoder[i](torch.cat([up, skips[i]], dim=1))
            dec[i] = y
        rgb = self.to_rgb(y)

        sal = None
        if self.saliency_heads is not None and self.to_saliency is not None:
            full = gray.shape[-2:]
            maps = [
                F.interpolate(head(dec[i]), size=full, mode="bilinear", align_corners=False)
                for head, i in zip(self.saliency_heads, SALIENCY_LEVELS, strict=True)
            ]
            sal = self.to_saliency(torch.cat(maps, dim=1))
        return rgb, sal


def build_generator(config: dict[str, Any]) -> SCGANGenerator:
    """Rebuild a generator from `SCGANGenerator.config` (as stored in models/scgan.pt)."""
    return SCGANGenerator(
        size=int(config["size"]),
        width=int(config["width"]),
        global_net=str(config.get("global_net", "pretrained")),
        saliency=bool(config.get("saliency", True)),
        freeze_global=bool(config.get("freeze_global", True)),
    )


def rgb_to_ab_norm(rgb_tanh: torch.Tensor) -> torch.Tensor:
    """The generator's RGB ([-1, 1]) -> normalised ab (B×2×H×W) through colour.py's Lab."""
    from colorbench.color import rgb_to_net

    _, ab = rgb_to_net(((rgb_tanh.float() + 1.0) * 0.5).clamp(0.0, 1.0))
    return ab


def predict_ab(model: nn.Module, l_norm: torch.Tensor) -> torch.Tensor:
    """`colorbench colorize` predictor: L_norm at the model size -> ab_norm of SCGAN's RGB.

    Only ab is kept; the caller recombines it with the input's full-resolution L, as for
    every other method."""
    rgb, _ = model(l_norm)
    return rgb_to_ab_norm(rgb)


def _register() -> None:
    from colorbench.methods.scgan.global_net import build_global_net
    from colorbench.models import registry

    registry.register_kind("scgan", build_generator, predict_ab)
    registry.register_kind("global_net", build_global_net)


_register()
