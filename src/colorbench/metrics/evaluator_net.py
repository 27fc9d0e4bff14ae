"""The synthetic profile's own classifier: Top-1 on colourised images and a Fréchet distance
on its penultimate features (`evaluator_fd`, clearly not FID), where `paper` uses ImageNet
networks. Input: Bx3xHxW RGB in [0, 1]."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.errors import ColorbenchError

ARCHS = ("small_cnn",)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Four stride-2 conv blocks (w, 2w, 4w, 4w) and global average pooling: cheap enough to
    train in seconds on CPU at 64 px, receptive field 31 px before pooling."""

    def __init__(self, n_classes: int, width: int = 32, size: int = 64) -> None:
        super().__init__()
        w = width
        self.size = size
        self.body = nn.Sequential(
            _block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w), _block(4 * w, 4 * w)
        )
        self.head = nn.Linear(4 * w, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B x 4w), what `evaluator_fd` compares."""
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)
        x = (x - 0.5) / 0.25
        return F.adaptive_avg_pool2d(self.body(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(arch: str, n_classes: int, width: int, size: int) -> nn.Module:
    if arch != "small_cnn":
        raise ColorbenchError(f"unknown evaluator arch {arch!r}; use one of {ARCHS}")
    return SmallCNN(n_classes, width=width, size=size)


def load_evaluator(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[nn.Module, list[str]]:
    """(model in eval mode on `device`, class names in logit order) from models/evaluator.pt."""
    try:
        ckpt: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ColorbenchError(
            f"evaluator checkpoint {path} not found; run `dvc repro train_evaluator`"
        ) from exc
    except Exception as exc:  # corrupt / not a checkpoint
        raise ColorbenchError(f"cannot read evaluator checkpoint {path}: {exc}") from exc
    for key in ("arch", "config", "state_dict", "classes"):
        if key not in ckpt:
            raise ColorbenchError(f"{path} is not an evaluator checkpoint (no '{key}')")
    cfg = ckpt["config"]
    model = build(ckpt["arch"], len(ckpt["classes"]), int(cfg["width"]), int(cfg["size"]))
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model.eval().to(device), list(ckpt["classes"])
