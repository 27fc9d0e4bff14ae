"""Colourfulness M (Hasler & Süsstrunk 2003), SCGAN's CCI ratio and ParaColorizer's ΔColorful.

M = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²) on float RGB in 0..255 with
rg = R − G and yb = (R + G)/2 − B (signed), σ the population std (ddof 0).
`colorfulness_abs` is the variant some colorization code uses: rg = |R − G|, yb = |(R+G)/2 − B|.
CCI (SCGAN) is M; the CCI ratio is the share of images with 16 ≤ M ≤ 20.
ΔColorful = |mean M(pred) − mean M(gt)| over a set.
"""

from __future__ import annotations

import numpy as np
import torch

CCI_RANGE = (16.0, 20.0)


def _moments(rg: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    mu_rg, mu_yb = rg.mean(1), yb.mean(1)
    var_rg = (rg - mu_rg[:, None]).square().mean(1)
    var_yb = (yb - mu_yb[:, None]).square().mean(1)
    return torch.sqrt(var_rg + var_yb) + 0.3 * torch.sqrt(mu_rg.square() + mu_yb.square())


def colorfulness_batch(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bx3xHxW uint8 -> (M signed, M abs-variant), float64 per image."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected Bx3xHxW images, got shape {tuple(x.shape)}")
    r, g, b = x.flatten(2).to(torch.float64).unbind(1)
    rg = r - g
    yb = 0.5 * (r + g) - b
    return _moments(rg, yb), _moments(rg.abs(), yb.abs())


def cci_in_range(m: np.ndarray) -> np.ndarray:
    """1.0 where 16 ≤ M ≤ 20 (SCGAN's optimum CCI range), else 0.0."""
    m = np.asarray(m, dtype=np.float64)
    return ((m >= CCI_RANGE[0]) & (m <= CCI_RANGE[1])).astype(np.float64)


def cci_ratio(m: np.ndarray) -> float:
    return float(cci_in_range(m).mean())


def delta_colorful(m_pred: np.ndarray, m_gt: np.ndarray) -> float:
    return float(abs(np.mean(m_pred) - np.mean(m_gt)))
