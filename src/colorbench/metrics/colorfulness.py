"""Colourfulness M (Hasler & Süsstrunk 2003), SCGAN's CCI ratio and ParaColorizer's ΔColorful.

M = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²) on float RGB in 0..255 with
rg = R − G and yb = (R + G)/2 − B (signed), σ the population std (ddof 0).
`colorfulness_abs` is the variant some colorization code uses: rg = |R − G|, yb = |(R+G)/2 − B|.
CCI (SCGAN) is M; the CCI ratio is the share of images with 16 ≤ M ≤ 20.
ΔColorful = |mean M(pred) − mean M(gt)| over a set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the numpy kernels never need torch; only the tensor wrapper does
    import torch

CCI_RANGE = (16.0, 20.0)


# Integer sums stay exact in int64 while n²·510² < 2^63 (about 5.9 Mpx per image).
_EXACT_MAX_PX = 5_000_000


def colorfulness_np(x: np.ndarray, with_abs: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """BxHxWx3 uint8 -> (M signed, M abs-variant or None), float64 per image.

    rg = R − G and 2·yb = R + G − 2B are integers, so their sums and sums of squares are exact
    in int64 and σ² = (nΣv² − (Σv)²)/n² is computed without cancellation error; the abs
    variant shares Σv² and only needs Σ|v|.
    """
    if x.ndim != 4 or x.shape[3] != 3 or x.dtype != np.uint8:
        raise ValueError(f"expected BxHxWx3 uint8 images, got {x.shape} {x.dtype}")
    n = x.shape[1] * x.shape[2]
    if n > _EXACT_MAX_PX:
        return _colorfulness_float(x, with_abs)
    px = x.reshape(len(x), n, 3)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    rg = np.subtract(r, g, dtype=np.int32)
    yb2 = np.add(r, g, dtype=np.int32)
    yb2 -= b
    yb2 -= b

    def sums(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # v² ≤ 510² fits int32; the per-image sums go to int64
        return v.sum(1, dtype=np.int64), (v * v).sum(1, dtype=np.int64)

    (s_rg, q_rg), (s_yb, q_yb) = sums(rg), sums(yb2)
    nn = float(n) * n

    def var(s: np.ndarray, q: np.ndarray, scale: float) -> np.ndarray:
        return (n * q - s * s).astype(np.float64) / (nn * scale)

    m = _m(var(s_rg, q_rg, 1.0), var(s_yb, q_yb, 4.0), s_rg / n, s_yb / (2 * n))
    if not with_abs:
        return m, None
    a_rg = np.abs(rg).sum(1, dtype=np.int64)
    a_yb = np.abs(yb2).sum(1, dtype=np.int64)
    m_abs = _m(var(a_rg, q_rg, 1.0), var(a_yb, q_yb, 4.0), a_rg / n, a_yb / (2 * n))
    return m, m_abs


def colorfulness_batch(
    x: torch.Tensor, with_abs: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Bx3xHxW uint8 (or float in 0..255) -> (M signed, M abs-variant or None), float64 per
    image; `colorfulness_np` on the same pixels."""
    import torch

    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected Bx3xHxW images, got shape {tuple(x.shape)}")
    hwc = x.detach().cpu().permute(0, 2, 3, 1).numpy()
    if x.dtype == torch.uint8:
        m, m_abs = colorfulness_np(hwc, with_abs)
    else:
        m, m_abs = _colorfulness_float(hwc, with_abs)
    return torch.from_numpy(m), (torch.from_numpy(m_abs) if m_abs is not None else None)


def _m(var_rg: np.ndarray, var_yb: np.ndarray, mu_rg: np.ndarray, mu_yb: np.ndarray):
    return np.sqrt(var_rg + var_yb) + 0.3 * np.sqrt(np.square(mu_rg) + np.square(mu_yb))


def _colorfulness_float(x: np.ndarray, with_abs: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Two-pass float64 moments of BxHxWx3 (huge images or float input in 0..255)."""
    px = x.reshape(len(x), -1, 3)
    r, g, b = (px[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b

    def m(a: np.ndarray, c: np.ndarray) -> np.ndarray:
        mu_a, mu_c = a.mean(1), c.mean(1)
        var_a = np.square(a - mu_a[:, None]).mean(1)
        var_c = np.square(c - mu_c[:, None]).mean(1)
        return _m(var_a, var_c, mu_a, mu_c)

    return m(rg, yb), (m(np.abs(rg), np.abs(yb)) if with_abs else None)


def cci_in_range(m: np.ndarray) -> np.ndarray:
    """1.0 where 16 ≤ M ≤ 20 (SCGAN's optimum CCI range), else 0.0."""
    m = np.asarray(m, dtype=np.float64)
    return ((m >= CCI_RANGE[0]) & (m <= CCI_RANGE[1])).astype(np.float64)


def cci_ratio(m: np.ndarray) -> float:
    return float(cci_in_range(m).mean())


def delta_colorful(m_pred: np.ndarray, m_gt: np.ndarray) -> float:
    return float(abs(np.mean(m_pred) - np.mean(m_gt)))
