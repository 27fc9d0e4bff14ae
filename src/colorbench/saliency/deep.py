"""The `deep` saliency backend: U^2-Net-p on the colour image, weights from the registry.

Pre/post-processing follows the authors' test script: resize to 320x320, divide by the
image maximum, ImageNet mean/std; the fused output is resized (bilinear) back to the image
size. By default the map keeps the network's sigmoid output in [0, 1] (x 255): the authors'
test script also min-max stretches each map (`stretch=True`), which turns an image with no
salient object (all outputs near 0) into a full-range map, so that is opt-in.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from colorbench.errors import ColorbenchError
from colorbench.saliency.u2net import U2NETP

WEIGHTS_NAME = "u2netp"
INPUT_SIZE = 320
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def load_u2netp(path: str | os.PathLike) -> U2NETP:
    """U^2-Net-p with the state dict in `path`, loaded strictly (every key, or an error)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise ColorbenchError(f"cannot read U^2-Net-p weights {path} ({exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ColorbenchError(f"{path} does not hold a state dict for U^2-Net-p")
    # Checkpoints saved from nn.DataParallel prefix every key with "module.".
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = U2NETP()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).splitlines()[:2])
        raise ColorbenchError(f"{path} does not match U^2-Net-p ({first})") from None
    return model.eval()


class DeepSaliency:
    """Callable: list of HxWx3 uint8 RGB images -> list of HxW uint8 saliency maps."""

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device | str = "cpu",
        size: int = INPUT_SIZE,
        stretch: bool = False,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.size = int(size)
        self.stretch = bool(stretch)
        self.mean = torch.tensor(_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(_STD, device=self.device).view(1, 3, 1, 1)

    @torch.inference_mode()
    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        if not images:
            return []
        batch = []
        for im in images:
            t = torch.from_numpy(np.array(im, dtype=np.uint8)).to(self.device)  # writable copy
            t = t.permute(2, 0, 1).unsqueeze(0).float()
            t = F.interpolate(t, size=(self.size, self.size), mode="bilinear", align_corners=False)
            batch.append(t / t.amax().clamp_min(1e-6))
        x = (torch.cat(batch) - self.mean) / self.std
        fused = self.model(x)[0].float()
        out = []
        for im, m in zip(images, fused, strict=True):
            h, w = im.shape[:2]
            m = F.interpolate(m[None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
            if self.stretch:  # the authors' test script: min-max per image
                lo, hi = m.min(), m.max()
                m = (m - lo) / (hi - lo) if float(hi - lo) > 1e-12 else torch.zeros_like(m)
            out.append((m.clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy())
        return out
