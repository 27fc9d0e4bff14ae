"""LPIPS (Zhang et al. 2018): the `lpips` package, AlexNet backbone, v0.1 linear layers.

The linear calibration layers ship inside the lpips package; the AlexNet backbone (ImageNet
weights) comes from the weights registry (`alexnet`, torchvision's file) rather than the
implicit download lpips would trigger. Inputs are RGB scaled to [-1, 1].
"""

from __future__ import annotations

import torch

from colorbench.metrics import _weights


def _load_alexnet_features(model: torch.nn.Module, state: dict) -> None:
    """Copy torchvision AlexNet `features.<i>.*` tensors into lpips' sliced backbone."""
    target = model.net
    own = target.state_dict()
    mapped = {}
    for key in own:  # e.g. "slice2.3.weight": index 3 of torchvision's alexnet.features
        _, index, param = key.split(".")
        src = f"features.{index}.{param}"
        if src not in state:
            raise ValueError(f"AlexNet weights lack {src}")
        mapped[key] = state[src]
    target.load_state_dict(mapped, strict=True)


def build_lpips(device: torch.device | str = "cpu") -> torch.nn.Module:
    state = _weights.load_state_dict("alexnet")  # first: a missing file fails fast
    import lpips

    # pnet_rand: lpips must not download the backbone; we load the registry's copy next.
    model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    _load_alexnet_features(model, state)
    return model.eval().to(device)


@torch.no_grad()
def lpips_batch(model: torch.nn.Module, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-image LPIPS of Bx3xHxW float RGB in [0, 1] (same size)."""
    return model(pred * 2.0 - 1.0, gt * 2.0 - 1.0).flatten()
