"""Top-1 accuracy of a classifier on colourised images against the images' labels.

Two classifiers: the profile's evaluator (synthetic) and torchvision VGG-16 with ImageNet
weights (SCGAN's protocol), the latter only when the labels are ImageNet classes (an index
0..999 or torchvision's ImageNet category name).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from colorbench.metrics import _weights

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_classes() -> list[str]:
    from torchvision.models import VGG16_Weights

    return list(VGG16_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_index(labels: Iterable[str]) -> dict[str, int] | None:
    """label -> ImageNet class index when every label is one (index or name), else None."""
    names = {n: i for i, n in enumerate(imagenet_classes())}
    out: dict[str, int] = {}
    for label in set(labels):
        if label.isdigit() and int(label) < 1000:
            out[label] = int(label)
        elif label in names:
            out[label] = names[label]
        else:
            return None
    return out or None


class VGG16Classifier(torch.nn.Module):
    """VGG-16 (registry `vgg16`), input Bx3xHxW RGB in [0, 1], resized to 224."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import vgg16

        self.net = vgg16(weights=None)
        self.net.load_state_dict(_weights.load_state_dict("vgg16"), strict=True)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
        return self.net((x - self.mean) / self.std)


@torch.no_grad()
def top1_correct(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1.0 where argmax matches the target (target −1 = unlabelled -> NaN)."""
    hit = (logits.argmax(1) == targets).to(torch.float64)
    return torch.where(targets < 0, torch.full_like(hit, float("nan")), hit)
