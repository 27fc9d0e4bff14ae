"""PSNR and SSIM of uint8 RGB images, equal to skimage.metrics (data_range 255).

SSIM follows `skimage.metrics.structural_similarity(channel_axis=-1, data_range=255)` with its
defaults: 7x7 uniform window, sample covariance (N/(N-1)), K1=0.01, K2=0.03, the mean over
the window-valid region (skimage crops (7-1)//2 px at each border) averaged over channels.

Why integers: uint8 inputs make every window sum of x, y, x²+y² and xy an exact integer, and
for a 7x7 window so are the products the SSIM formula needs (all < 2^31), so everything up
to the last ratio runs in int32 numpy (SIMD-wide, exact); only that ratio is float64. It
agrees with skimage's float filters to ~1e-15 and is ~5x cheaper per image (~0.2 ms for
64x64: a window sum is 4 shifted adds over flat planes, in cache-sized tiles).

The kernels take BxHxWxC arrays, the layout PIL decodes to (no transpose); `psnr_batch` /
`ssim_batch` are the same for Bx3xHxW torch tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the numpy kernels never need torch; only the tensor wrappers do
    import torch

SSIM_WIN = 7
_K1, _K2 = 0.01, 0.03
DATA_RANGE = 255.0

# Pixels per SSIM tile: the int32/float64 work planes of 8k px stay in L2 cache (numpy
# passes here are memory-bound); 4k-16k px measured alike, whole 64-image batches 1.5-3x
# slower.
_SSIM_TILE_PX = 8192


def _check_hwc(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.ndim != 4 or pred.shape != gt.shape or pred.dtype != np.uint8 or gt.dtype != np.uint8:
        raise ValueError(
            f"expected two BxHxWxC uint8 arrays of one shape, got {pred.shape} {pred.dtype} "
            f"and {gt.shape} {gt.dtype}"
        )


def psnr_np(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-image PSNR (dB) of BxHxWxC uint8 arrays; +inf where identical (as skimage)."""
    _check_hwc(pred, gt)
    d = pred.astype(np.int32)
    d -= gt
    d *= d
    # Squared differences summed in int64 are exact; only the division is float64.
    sse = d.reshape(len(d), -1).sum(1, dtype=np.int64)
    mse = sse / d[0].size
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE**2 / mse)


def _window_sum(t: np.ndarray, step: int, win: int, out: np.ndarray) -> np.ndarray:
    """out[i] = sum(t[i + k*step] for k < win) over a flat array, by binary doubling:
    log2(win) + popcount(win) - 1 contiguous adds (4 for win = 7) instead of win - 1."""
    n = len(out)
    pieces = []  # slices of the power-of-two run sums that tile [i, i + win*step)
    cur, size, pos = t, 1, 0
    for bit in range(win.bit_length()):
        if bit:
            m = len(cur) - size * step
            cur = cur[:m] + cur[size * step : size * step + m]
            size *= 2
        if win >> bit & 1:
            pieces.append(cur[pos * step : pos * step + n])
            pos += size
    if len(pieces) == 1:
        np.copyto(out, pieces[0])
    else:
        np.add(pieces[0], pieces[1], out=out)
        for p in pieces[2:]:
            out += p
    return out


def _ssim_sums(p: np.ndarray, g: np.ndarray, win: int) -> np.ndarray:
    """Per-image sum of the SSIM map over the window-valid positions of bxhxwxc tiles."""
    b, h, w, c = p.shape
    n = win * win
    # int32 holds every quantity below while n²·2·255² < 2^31 (win ≤ 11); int64 beyond.
    dtype, shift = (np.int32, 16) if n * n * 2 * 255**2 < 2**31 else (np.int64, 32)
    x = p.astype(dtype).reshape(-1)
    y = g.astype(dtype).reshape(-1)
    planes = np.empty((3, x.size), dtype)
    xy_packed, q, xy = planes
    # x and y share one plane, y in the high bits: their window sums (≤ n·255) cannot carry
    # into each other, so one box sum yields both; 3 planes to filter instead of 4.
    np.left_shift(y, shift, out=xy_packed)
    xy_packed |= x
    np.multiply(x, x, out=q)
    np.multiply(y, y, out=xy)
    q += xy
    np.multiply(x, y, out=xy)
    del x, y
    # Window sums on the flat planes: along a row the step is c, down a column w*c. Sums
    # whose window runs off a row or image are garbage and never read: valid positions only
    # ever add elements of their own row, image and plane. The column sums overwrite the
    # planes (no longer needed), and buffers go as soon as they are done with: the live
    # set must stay in L2 cache.
    flat = planes.reshape(-1)
    rows = _window_sum(flat, c, win, np.empty(flat.size - (win - 1) * c, dtype))
    _window_sum(rows, w * c, win, flat[: rows.size - (win - 1) * w * c])
    del rows
    hv, wv = h - win + 1, w - win + 1
    valid = np.empty((3, b, hv, wv, c), dtype)
    np.copyto(valid, planes.reshape(3, b, h, w, c)[:, :, :hv, :wv])
    del planes, flat, xy_packed, q, xy
    s_packed, sq, sxy = valid.reshape(3, -1)
    sx = s_packed & ((1 << shift) - 1)
    sy = s_packed >> shift
    # SSIM with every moment multiplied through by n² (means) or n(n-1) (sample variances):
    # integers stay exact, the constants scale accordingly.
    c1 = (_K1 * DATA_RANGE) ** 2 * n * n
    c2 = (_K2 * DATA_RANGE) ** 2 * n * (n - 1)
    a = sx * sy
    bb = sx * sx
    sy *= sy
    bb += sy
    del sx, sy, s_packed
    cov = sxy * n
    cov -= a
    cov += cov
    var = sq * n
    var -= bb
    del valid, sq, sxy
    a += a
    # float64 from here (products reach ~10^17); plain casts then in-place ops are ~20%
    # cheaper than mixed-type ufuncs, which cast through buffers.
    num = a.astype(np.float64)
    num += c1
    tmp = cov.astype(np.float64)
    tmp += c2
    num *= tmp
    den = bb.astype(np.float64)
    den += c1
    np.copyto(tmp, var)
    tmp += c2
    den *= tmp
    num /= den
    return num.reshape(b, -1).sum(1)


def ssim_np(pred: np.ndarray, gt: np.ndarray, win: int = SSIM_WIN) -> np.ndarray:
    """Per-image SSIM of BxHxWxC uint8 arrays, as skimage's structural_similarity."""
    _check_hwc(pred, gt)
    bsz, h, w, c = pred.shape
    if min(h, w) < win:
        raise ValueError(f"SSIM needs images of at least {win}x{win} px, got {h}x{w}")
    total = np.zeros(bsz)
    if h * w <= _SSIM_TILE_PX:  # tiles of whole images
        step = _SSIM_TILE_PX // (h * w)
        for i in range(0, bsz, step):
            total[i : i + step] = _ssim_sums(pred[i : i + step], gt[i : i + step], win)
    else:  # tiles of row bands of one image, overlapping by win - 1 rows
        band = max(1, _SSIM_TILE_PX // w - win + 1)  # output rows per tile
        for i in range(bsz):
            for r in range(0, h - win + 1, band):
                rows = slice(r, min(h, r + band + win - 1))
                total[i] += _ssim_sums(pred[i : i + 1, rows], gt[i : i + 1, rows], win)[0]
    return total / ((h - win + 1) * (w - win + 1) * c)


def _as_hwc(x: torch.Tensor) -> np.ndarray:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected Bx3xHxW uint8 images, got shape {tuple(x.shape)}")
    return x.detach().cpu().permute(0, 2, 3, 1).numpy()


def psnr_batch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of Bx3xHxW uint8 tensors; +inf where the images are identical
    (as skimage)."""
    import torch

    return torch.from_numpy(psnr_np(_as_hwc(pred), _as_hwc(gt)))


def ssim_batch(pred: torch.Tensor, gt: torch.Tensor, win: int = SSIM_WIN) -> torch.Tensor:
    """Per-image SSIM of Bx3xHxW uint8 tensors, as skimage's structural_similarity."""
    import torch

    return torch.from_numpy(ssim_np(_as_hwc(pred), _as_hwc(gt), win))
