"""The one place that knows colour spaces and network normalisation.

Lab is CIE Lab (D65) exactly as skimage defines it; the numpy side (uint8 images) lives in
`colorbench.lab`, which data-side code imports without torch. Networks see
L/50 - 1 in [-1, 1] and ab/110 in about [-1, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from kornia.color import lab_to_rgb as _k_lab_to_rgb
from kornia.color import rgb_to_lab as _k_rgb_to_lab

from colorbench.lab import gray_rgb, lab_to_rgb, rgb_to_lab  # noqa: F401  (numpy side)

L_SCALE = 50.0
AB_SCALE = 110.0


# ---- torch, Bx3xHxW float RGB in [0,1] <-> normalised L / ab --------------------------------


def rgb_tensor_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW RGB in [0,1] -> Bx3xHxW Lab (differentiable, kornia, D65)."""
    return _k_rgb_to_lab(rgb.clamp(0.0, 1.0))


def lab_tensor_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW Lab -> Bx3xHxW RGB in [0,1] (clipped)."""
    return _k_lab_to_rgb(lab, clip=True)


def normalize_l(l_channel: torch.Tensor) -> torch.Tensor:
    return l_channel / L_SCALE - 1.0


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    return (l_norm + 1.0) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    return ab_norm * AB_SCALE


def rgb_to_net(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bx3xHxW RGB in [0,1] -> (L_norm Bx1xHxW, ab_norm Bx2xHxW)."""
    lab = rgb_tensor_to_lab(rgb)
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:])


def net_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """(L_norm, ab_norm) -> Bx3xHxW RGB in [0,1]."""
    lab = torch.cat([denormalize_l(l_norm), denormalize_ab(ab_norm)], dim=1)
    return lab_tensor_to_rgb(lab)


def uint8_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255.0


def tensor_to_uint8(t: torch.Tensor) -> np.ndarray:
    """3xHxW float in [0,1] -> HxWx3 uint8."""
    arr = t.detach().clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(arr)
