"""Spectral residual saliency (Hou & Zhang, CVPR 2007): no weights, no training.

On the luminance (L channel): downsample to 64 px, take the log amplitude spectrum, subtract
its 3x3 local mean (the "spectral residual"), transform back with the original phase,
square, smooth with a Gaussian (sigma 2.5 px at 64 px, as in the authors' reference code;
edges replicated rather than zero-padded),
resize back to the image size and min-max normalise.
"""

from __future__ import annotations

import numpy as np

WORK_SIZE = 64
SIGMA = 2.5


def spectral_residual(gray: np.ndarray, work_size: int = WORK_SIZE) -> np.ndarray:
    """HxW float gray image -> HxW float saliency in [0, 1]."""
    from PIL import Image
    from scipy import ndimage

    gray = np.ascontiguousarray(gray, dtype=np.float32)
    h, w = gray.shape
    small = np.asarray(
        Image.fromarray(gray).resize((work_size, work_size), Image.BILINEAR),
        dtype=np.float64,
    )
    if float(small.max() - small.min()) < 1e-6:
        # Flat image: only the DC bin is non-zero and the "residual" would be float noise.
        return np.zeros((h, w), dtype=np.float32)
    spectrum = np.fft.fft2(small)
    log_amp = np.log(np.abs(spectrum) + 1e-12)
    phase = np.angle(spectrum)
    residual = log_amp - ndimage.uniform_filter(log_amp, size=3, mode="nearest")
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    # Edge-replicating padding: zero padding would darken the border (a fake centre bias).
    sal = ndimage.gaussian_filter(sal, sigma=SIGMA, truncate=2.0, mode="nearest")
    big = np.asarray(
        Image.fromarray(sal.astype(np.float32)).resize((w, h), Image.BILINEAR), dtype=np.float64
    )
    # Normalise after resizing so every map spans 0..1 at its own size.
    lo, hi = float(big.min()), float(big.max())
    if hi - lo <= 1e-6 * max(abs(hi), 1e-30):  # numerically flat: nothing salient
        return np.zeros((h, w), dtype=np.float32)
    return np.clip((big - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def spectral_saliency(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxW uint8 saliency 0..255 (computed on the L channel)."""
    from colorbench.lab import rgb_to_lab

    lightness = rgb_to_lab(rgb)[..., 0] / 100.0
    return np.rint(spectral_residual(lightness) * 255.0).astype(np.uint8)
