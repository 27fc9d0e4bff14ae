"""SCGAN's perceptual networks: VGG-16 conv3_3 (paper) or the synthetic profile's evaluator."""

from __future__ import annotations

import os

import torch
from torch import nn

from colorbench.methods.scgan.parts import SCGANSettings


class EvaluatorFeatures(nn.Module):
    """The synthetic profile's evaluator as a perceptual network.

    Its `features()` are globally pooled vectors; a perceptual loss wants a spatial map, as
    VGG's conv3_3 (H/4) is. So we run `features()` (the evaluator's own input handling) and
    take the output of its second stride-2 block (H/4) with a forward hook; models without
    such a `body` fall back to the pooled features.
    """

    def __init__(self, evaluator: nn.Module) -> None:
        super().__init__()
        self.evaluator = evaluator
        body = getattr(evaluator, "body", None)
        self.tap = body[1] if isinstance(body, nn.Sequential) and len(body) > 1 else None

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        if self.tap is None:
            return self.evaluator.features(rgb01)
        captured: list[torch.Tensor] = []
        handle = self.tap.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            self.evaluator.features(rgb01)
        finally:
            handle.remove()
        return captured[0]


def perceptual_network(
    settings: SCGANSettings, evaluator_path: str | os.PathLike
) -> tuple[nn.Module | None, str]:
    """(frozen feature extractor on RGB in [0, 1], its description) or (None, "off")."""
    if not settings.use_perceptual:
        return None, "off"
    if settings.perceptual_net == "evaluator":
        from colorbench.metrics.evaluator_net import load_evaluator

        model, _ = load_evaluator(evaluator_path, "cpu")
        return EvaluatorFeatures(model), f"evaluator ({evaluator_path}, H/4 block)"
    from torchvision.models import vgg16

    from colorbench.methods.scgan.losses import VGG16Conv33
    from colorbench.weights import require

    net = vgg16(weights=None)
    net.load_state_dict(torch.load(require("vgg16"), map_location="cpu", weights_only=True))
    return VGG16Conv33(net.features), "vgg16 conv3_3 (ImageNet)"
