"""Every metric against an independent reference (skimage, numpy written out, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _metrics_data import noisy_pair
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorbench.metrics.cni import cni
from colorbench.metrics.colorfulness import (
    cci_in_range,
    cci_ratio,
    colorfulness_batch,
    delta_colorful,
)
from colorbench.metrics.fidelity import psnr_batch, ssim_batch
from colorbench.metrics.frechet import RunningStats, frechet_distance


def _bchw(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("shape", [(32, 32), (17, 40), (7, 7), (64, 48)])
def test_psnr_ssim_equal_skimage(shape):
    rng = np.random.default_rng(1)
    h, w = shape
    gts = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(3)]
    preds = [np.clip(g.astype(int) + rng.integers(-40, 41, g.shape), 0, 255).astype(np.uint8)
             for g in gts]  # fmt: skip
    preds.append(np.zeros((h, w, 3), np.uint8))  # constant vs noise
    gts.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    p, g = _bchw(preds), _bchw(gts)
    ours_psnr, ours_ssim = psnr_batch(p, g).numpy(), ssim_batch(p, g).numpy()
    for i in range(len(preds)):
        ref_p = peak_signal_noise_ratio(gts[i], preds[i], data_range=255)
        ref_s = structural_similarity(preds[i], gts[i], channel_axis=-1, data_range=255)
        assert abs(ours_psnr[i] - ref_p) < 1e-6
        assert abs(ours_ssim[i] - ref_s) < 1e-6


def test_psnr_identical_is_inf_and_ssim_one():
    rng = np.random.default_rng(2)
    x = _bchw([rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)])
    assert np.isinf(psnr_batch(x, x).item())
    assert ssim_batch(x, x).item() == pytest.approx(1.0, abs=1e-12)
    flat = torch.full((1, 3, 16, 16), 77, dtype=torch.uint8)
    ref = structural_similarity(flat[0].permute(1, 2, 0).numpy(), flat[0].permute(1, 2, 0).numpy(),
                                channel_axis=-1, data_range=255)  # fmt: skip
    assert ssim_batch(flat, flat).item() == pytest.approx(ref, abs=1e-12)


def test_ssim_rejects_tiny_images():
    x = torch.zeros((1, 3, 6, 6), dtype=torch.uint8)
    with pytest.raises(ValueError, match="7x7"):
        ssim_batch(x, x)


def _ref_colorfulness(img: np.ndarray, use_abs: bool = False) -> float:
    rgb = img.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    if use_abs:
        rg, yb = np.abs(rg), np.abs(yb)
    std = np.sqrt(np.std(rg) ** 2 + np.std(yb) ** 2)
    mean = np.sqrt(np.mean(rg) ** 2 + np.mean(yb) ** 2)
    return std + 0.3 * mean


def test_colorfulness_signed_and_abs_equal_numpy():
    rng = np.random.default_rng(3)
    imgs = [noisy_pair(rng)[0] for _ in range(4)] + [np.full((32, 32, 3), 128, np.uint8)]
    m, m_abs = colorfulness_batch(_bchw(imgs))
    for i, im in enumerate(imgs):
        assert m[i].item() == pytest.approx(_ref_colorfulness(im), abs=1e-9)
        assert m_abs[i].item() == pytest.approx(_ref_colorfulness(im, True), abs=1e-9)
    assert m[-1].item() == 0.0  # gray has no colour
    # signed and abs differ on a real image (abs folds negative opponents)
    assert not np.allclose(m[:-1].numpy(), m_abs[:-1].numpy())


def test_colorfulness_float_path_equals_exact_integer_path():
    from colorbench.metrics.colorfulness import _colorfulness_float

    rng = np.random.default_rng(8)
    x = _bchw([noisy_pair(rng)[0] for _ in range(3)])
    exact, exact_abs = colorfulness_batch(x)
    flt, flt_abs = _colorfulness_float(x.permute(0, 2, 3, 1).numpy(), True)
    assert np.allclose(exact.numpy(), flt, atol=1e-9)
    assert np.allclose(exact_abs.numpy(), flt_abs, atol=1e-9)
    assert colorfulness_batch(x, with_abs=False)[1] is None


def test_cci_ratio_and_delta_colorful():
    m = np.array([15.99, 16.0, 18.0, 20.0, 20.01, 40.0])
    assert cci_in_range(m).tolist() == [0, 1, 1, 1, 0, 0]
    assert cci_ratio(m) == pytest.approx(3 / 6)
    assert delta_colorful(np.array([10.0, 20.0]), np.array([30.0, 30.0])) == pytest.approx(15.0)


def _ref_cni(img: np.ndarray) -> float:
    """CNI written out from Huang et al. (2006) with its own sRGB -> CIELUV conversion."""
    c = img.reshape(-1, 3).astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.412453, 0.357580, 0.180423],
                  [0.212671, 0.715160, 0.072169],
                  [0.019334, 0.119193, 0.950227]])  # fmt: skip
    x, y, z = (lin @ m.T).T
    xn, yn, zn = 0.95047, 1.0, 1.08883
    big_l = np.where(y / yn > (6 / 29) ** 3, 116 * np.cbrt(y / yn) - 16, (29 / 3) ** 3 * y / yn)
    d = x + 15 * y + 3 * z
    with np.errstate(invalid="ignore", divide="ignore"):
        up = np.where(d > 0, 4 * x / d, 0.0)
        vp = np.where(d > 0, 9 * y / d, 0.0)
    dn = xn + 15 * yn + 3 * zn
    u = 13 * big_l * (up - 4 * xn / dn)
    v = 13 * big_l * (vp - 9 * yn / dn)
    num = den = 0.0
    for lo, hi, mu, sd in [(25, 70, 0.76, 0.52), (95, 135, 0.81, 0.53), (185, 260, 0.43, 0.22)]:
        sel = []
        for li, ui, vi in zip(big_l, u, v, strict=True):
            if not 20 < li < 80:
                continue
            s = np.hypot(ui, vi) / li
            h = np.degrees(np.arctan2(vi, ui)) % 360
            if s > 0.1 and lo <= h <= hi:
                sel.append(s)
        if sel:
            num += len(sel) * np.exp(-0.5 * ((np.mean(sel) - mu) / sd) ** 2)
            den += len(sel)
    return num / den if den else float("nan")


def test_cni_equals_written_out_definition():
    rng = np.random.default_rng(4)
    for _ in range(3):
        img = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        assert cni(img) == pytest.approx(_ref_cni(img), abs=1e-6)


def test_cni_classes_and_undefined():
    # a pure sky-blue patch: only the sky class, so CNI = N_sky(mean saturation)
    sky = np.zeros((8, 8, 3), np.uint8) + np.array([90, 150, 220], np.uint8)
    assert cni(sky) == pytest.approx(_ref_cni(sky), abs=1e-6)
    assert 0.0 < cni(sky) <= 1.0
    assert np.isnan(cni(np.full((8, 8, 3), 128, np.uint8)))  # achromatic: undefined


def test_running_stats_equal_numpy():
    rng = np.random.default_rng(5)
    x = rng.normal(50.0, 2.0, (300, 8))  # large mean: the shifted sums keep precision
    rs = RunningStats(8)
    for chunk in np.array_split(x, 7):
        rs.update(torch.from_numpy(chunk).float().double())
    assert np.allclose(rs.mean, x.mean(0), atol=1e-10)
    assert np.allclose(rs.cov, np.cov(x, rowvar=False), atol=1e-10)
    assert rs.n == 300


def test_frechet_matches_scipy_sqrtm_reference():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(6)
    a = rng.normal(0, 1, (400, 32))
    b = rng.normal(0.3, 1.2, (500, 32)) @ rng.normal(0, 0.4, (32, 32)) + a.mean(0)
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    ours = frechet_distance(mu1, s1, mu2, s2)
    ref = calculate_frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, abs=1e-3)
    assert ours > 1.0
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("n", [3, 12, 40])  # below and above D: both code paths
def test_frechet_from_stats_small_and_large_sets(n):
    from colorbench.metrics.frechet import frechet_from_stats

    rng = np.random.default_rng(n)
    a, b = rng.normal(0, 1, (n, 16)), rng.normal(0.2, 1.3, (n + 1, 16))
    sa, sb = RunningStats(16), RunningStats(16)
    for chunk in np.array_split(a, 2):
        sa.update(torch.from_numpy(chunk))
    sb.update(torch.from_numpy(b))
    expect = frechet_distance(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )
    assert frechet_from_stats(sa, sb) == pytest.approx(expect, rel=1e-7, abs=1e-9)
    assert frechet_from_stats(sa, sa) == pytest.approx(0.0, abs=1e-6)


def test_fid_piq_mode_equals_piq_compute_metric():
    import piq

    from colorbench.metrics.fid import fid_from_stats

    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.normal(0, 1, (300, 16)))
    y = torch.from_numpy(rng.normal(0.5, 1.1, (300, 16)))
    sx, sy = RunningStats(16), RunningStats(16)
    sx.update(x)
    sy.update(y)
    ref = float(piq.FID()(x, y))
    assert fid_from_stats(sx, sy, "piq") == pytest.approx(ref, rel=1e-6)
    # standard mode is the exact formula; piq's iterative sqrt only ever approximates it
    assert fid_from_stats(sx, sy, "standard") == pytest.approx(ref, rel=1e-3)
