"""Colour naturalness index (CNI), Huang, Wu, Chen & Lin (2006), "Natural color image
enhancement and evaluation algorithm based on human visual system", CVIU 103(1); the
colour-naturalness measure SCGAN's evaluation refers to.

Definition (as published):
1. Convert the image to CIELUV (D65; skimage.color.rgb2luv). Per pixel, hue
   h = atan2(v*, u*) in degrees [0, 360) and saturation S = C*_uv / L* (= 13·|(u', v') − (u'_n, v'_n)|).
2. Keep pixels with 20 < L* < 80 and S > 0.1.
3. Classify the kept pixels by hue: skin 25°–70°, grass 95°–135°, sky 185°–260°.
4. For each class c, the mean saturation S_c and the pixel count n_c.
5. Per-class naturalness  N_c = exp(−0.5·((S_c − μ_c)/σ_c)²)  with
   (μ, σ) = skin (0.76, 0.52), grass (0.81, 0.53), sky (0.43, 0.22).
6. CNI = Σ n_c·N_c / Σ n_c  ∈ [0, 1], 1 = natural.

An image with no pixel in any class (e.g. an achromatic one) has no defined CNI: NaN, and
the summaries count such images apart instead of inventing a value.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2luv

L_RANGE = (20.0, 80.0)
S_MIN = 0.1
# class: (hue lo, hue hi, mean saturation of natural images, spread)
CLASSES: dict[str, tuple[float, float, float, float]] = {
    "skin": (25.0, 70.0, 0.76, 0.52),
    "grass": (95.0, 135.0, 0.81, 0.53),
    "sky": (185.0, 260.0, 0.43, 0.22),
}


def cni(rgb: np.ndarray) -> float:
    """CNI of one HxWx3 uint8 RGB image (NaN when no pixel falls in skin/grass/sky)."""
    luv = rgb2luv(np.asarray(rgb, dtype=np.uint8)).reshape(-1, 3).astype(np.float64)
    lum, u, v = luv[:, 0], luv[:, 1], luv[:, 2]
    keep = (lum > L_RANGE[0]) & (lum < L_RANGE[1])
    lum, u, v = lum[keep], u[keep], v[keep]
    sat = np.hypot(u, v) / lum
    hue = np.degrees(np.arctan2(v, u)) % 360.0
    keep = sat > S_MIN
    sat, hue = sat[keep], hue[keep]
    total, weighted = 0, 0.0
    for lo, hi, mu, sigma in CLASSES.values():
        in_class = (hue >= lo) & (hue <= hi)
        n = int(in_class.sum())
        if n:
            s_mean = float(sat[in_class].mean())
            weighted += n * float(np.exp(-0.5 * ((s_mean - mu) / sigma) ** 2))
            total += n
    return weighted / total if total else float("nan")


def cni_batch(images: np.ndarray) -> np.ndarray:
    """BxHxWx3 uint8 -> B CNI values."""
    return np.array([cni(im) for im in images], dtype=np.float64)
