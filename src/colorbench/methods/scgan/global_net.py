"""SCGAN's global-feature network: VGG-16 layout on a 1-channel gray input in which every
max-pool is replaced by a stride-2 convolution (the paper's "VGG-16-Gray").

`GlobalNet.features` is the part the generator embeds: after the five stride-2 convolutions
it yields 512·width/64 channels at H/32 (8x8 at 256 px). `GlobalNet.classifier` is only used
to pretrain it as a classifier on gray images (stage `train_global`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from colorbench.errors import ColorbenchError

# VGG-16 configuration "D"; "S" marks a former max-pool, now a stride-2 conv.
VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "S", 128, 128, "S", 256, 256, 256, "S", 512, 512, 512, "S", 512, 512, 512, "S",
)  # fmt: skip
DOWNSAMPLE = 32  # five stride-2 convolutions


def scaled(channels: int, width: int) -> int:
    """Channel count of the paper's `channels` at width `width` (the paper is width 64)."""
    return max(1, round(channels * width / 64))


def conv_block(
    c_in: int, c_out: int, kernel: int = 3, stride: int = 1, norm: bool = True
) -> nn.Sequential:
    """Reflection-padded conv (+ BatchNorm) + LeakyReLU 0.2, the SCGAN building block."""
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(kernel // 2),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, bias=not norm),
    ]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def gaussian_init(module: nn.Module, std: float = 0.02) -> None:
    """The paper's initialisation: conv/linear weights N(0, 0.02), BN weights N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


class GlobalFeatures(nn.Sequential):
    """The convolutional part: gray B×1×H×W (L/50-1) -> B×(512·w/64)×H/32×W/32."""

    def __init__(self, width: int = 64) -> None:
        layers: list[nn.Module] = []
        c_in = 1
        for i, item in enumerate(VGG16_LAYOUT):
            if item == "S":
                layers.append(conv_block(c_in, c_in, 3, stride=2))
            else:
                c_out = scaled(int(item), width)
                # No BatchNorm on the input layer, as everywhere in SCGAN.
                layers.append(conv_block(c_in, c_out, 3, stride=1, norm=i > 0))
                c_in = c_out
        super().__init__(*layers)
        self.out_channels = c_in


class GlobalNet(nn.Module):
    """VGG-16-Gray classifier: `features` + a small global-average-pooled head."""

    def __init__(self, num_classes: int, width: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        if num_classes < 2:
            raise ColorbenchError(
                f"the global-feature network needs at least 2 classes, got {num_classes}; "
                "check the manifest's `label` column"
            )
        self.width = width
        self.num_classes = num_classes
        self.features = GlobalFeatures(width)
        c = self.features.out_channels
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c, c),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Dropout(dropout),
            nn.Linear(c, num_classes),
        )

    @property
    def config(self) -> dict[str, Any]:
        return {"width": self.width, "num_classes": self.num_classes}

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(gray))


FEATURES_PREFIX = "features."


def features_state_dict(global_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The `features.*` entries of a GlobalNet state dict, prefix removed."""
    return {
        k[len(FEATURES_PREFIX) :]: v
        for k, v in global_state.items()
        if k.startswith(FEATURES_PREFIX)
    }


def load_features_strict(
    target: GlobalFeatures, global_state: Mapping[str, torch.Tensor], source: str = "global.pt"
) -> None:
    """Load a GlobalNet's feature weights into `target`, every key or a ColorbenchError.

    torch's strict loading raises a RuntimeError with a traceback-heavy message; the user
    needs to know which keys differ and what to do, so compare key sets and shapes first.
    """
    state = features_state_dict(global_state)
    expected = target.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ColorbenchError(
            f"{source} does not match the generator's global-feature network: "
            f"missing keys {missing[:8]}{' ...' if len(missing) > 8 else ''}, "
            f"unexpected keys {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}; "
            "retrain it with `dvc repro train_global` (same width as train_scgan.width)"
        )
    bad = [k for k, v in expected.items() if tuple(v.shape) != tuple(state[k].shape)]
    if bad:
        k = bad[0]
        raise ColorbenchError(
            f"{source}: shape mismatch for {len(bad)} keys, e.g. {k}: "
            f"{tuple(state[k].shape)} in the file vs {tuple(expected[k].shape)} in the "
            "generator; train_global.width must equal train_scgan.width"
        )
    target.load_state_dict(state, strict=True)


def build_global_net(config: Mapping[str, Any]) -> GlobalNet:
    """Rebuild from `GlobalNet.config` (as stored in models/global.pt, kind "global_net")."""
    return GlobalNet(num_classes=int(config["num_classes"]), width=int(config["width"]))
