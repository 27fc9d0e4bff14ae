"""CIE Lab (D65, 2°) of RGB images in numpy alone, for data-side code (prepare, gray,
saliency): no torch, kornia or scipy to import (skimage.color pulls in scipy, ~0.5 s).

`rgb_to_lab` follows skimage.color.rgb2lab operation for operation in float32 (what
`colorbench.color` used to call on uint8 / 255 input), so its values equal skimage's; for
uint8 input the sRGB -> linear step is a 256-entry table of the same float32 values.
The networks' differentiable path stays in `colorbench.color` (kornia).
"""

from __future__ import annotations

import numpy as np

# skimage.color.colorconv's constants
_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)


def _srgb_to_linear(arr: np.ndarray) -> np.ndarray:
    """In place on a float array in [0, 1] (skimage.color.rgb2xyz's companding)."""
    mask = arr > 0.04045
    arr[mask] = np.power((arr[mask] + 0.055) / 1.055, 2.4)
    arr[~mask] /= 12.92
    return arr


_LINEAR_U8 = _srgb_to_linear(np.arange(256, dtype=np.float32) / np.float32(255.0))


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 (or ...x3) uint8 RGB, or float RGB in [0, 1] -> float32 Lab."""
    if rgb.dtype == np.uint8:
        arr = _LINEAR_U8[rgb]
    else:
        arr = _srgb_to_linear(np.array(rgb, dtype=np.float32 if rgb.dtype == np.float32 else float))
    xyz = arr @ _XYZ_FROM_RGB.T.astype(arr.dtype)
    xyz /= np.asarray(_WHITE_D65, dtype=arr.dtype)
    mask = xyz > 0.008856
    xyz[mask] = np.cbrt(xyz[mask])
    xyz[~mask] = 7.787 * xyz[~mask] + 16.0 / 116.0
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    lab = np.empty_like(xyz)
    lab[..., 0] = 116.0 * y - 16.0
    lab[..., 1] = 500.0 * (x - y)
    lab[..., 2] = 200.0 * (y - z)
    return lab.astype(np.float32, copy=False)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float Lab HxWx3 -> uint8 RGB (clipped, rounded), skimage.color.lab2rgb in float64."""
    from skimage import color as skcolor  # imported on use: it pulls in scipy

    rgb = skcolor.lab2rgb(lab.astype(np.float64))
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    """The colourless version of an image: its L channel with a=b=0, as uint8 RGB.

    This is the `gray` method's output and what a colorizer receives.
    """
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return lab_to_rgb(lab)


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean Lab chroma sqrt(a² + b²) of a uint8 RGB image."""
    lab = rgb_to_lab(rgb)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())
