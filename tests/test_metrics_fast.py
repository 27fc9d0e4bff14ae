"""The fast paths of the evaluator against independent references: the PNG short path
against Image.open, the tiled integer SSIM/PSNR kernels against skimage, the threaded
batches against in-process ones, the joint bootstrap against separate draws."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorbench.metrics import fidelity, stats
from colorbench.metrics.colorfulness import _colorfulness_float, colorfulness_np
from colorbench.metrics.decode import _png_rgb8, read_rgb
from colorbench.metrics.evaluate import evaluate


def _pil_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.array(im.convert("RGB"))


@pytest.mark.parametrize("width", [1, 20, 85, 86, 130])  # both sides of the 258-byte row
@pytest.mark.parametrize("level", [0, 6, 9])
def test_png_short_path_equals_image_open(tmp_path, width, level):
    rng = np.random.default_rng(width + level)
    img = rng.integers(0, 256, (9, width, 3), dtype=np.uint8)
    img[:4] = img[:1]  # flat rows make the encoder pick several filter types
    path = tmp_path / "x.png"
    Image.fromarray(img).save(path, compress_level=level)
    assert _png_rgb8(path.read_bytes()) is not None  # took the short path
    out = read_rgb(path)
    assert out.shape == (9, width, 3) and out.dtype == np.uint8
    assert np.array_equal(out, img) and np.array_equal(out, _pil_rgb(path))


@pytest.mark.parametrize(
    "name, make",
    [
        ("rgba.png", lambda a: Image.fromarray(np.dstack([a, a[..., :1]]))),
        ("grey.png", lambda a: Image.fromarray(a[..., 0])),
        ("palette.png", lambda a: Image.fromarray(a).quantize(8)),
        ("deep.png", lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257)),
        ("x.bmp", Image.fromarray),
        ("x.jpg", Image.fromarray),
    ],
)
def test_other_files_fall_back_to_image_open(tmp_path, name, make):
    a = np.random.default_rng(1).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    path = tmp_path / name
    make(a).save(path)
    assert _png_rgb8(path.read_bytes()) is None
    if name == "rgba.png":  # alpha composited on white (as prepare does), not dropped
        alpha = a[..., :1] / 255.0
        expected = np.rint(a * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    elif name == "deep.png":  # 16-bit scaled to 8 bits (PIL's convert clips it to 255)
        expected = np.repeat(a[..., :1], 3, axis=2)
    else:
        expected = _pil_rgb(path)
    assert np.array_equal(read_rgb(path), expected)


def test_damaged_png_raises_like_image_open(tmp_path):
    a = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    data = buf.getvalue()
    path = tmp_path / "cut.png"
    for cut in (40, len(data) // 2, len(data) - 24):
        path.write_bytes(data[:cut])
        with pytest.raises(OSError):
            read_rgb(path)


def _pairs(rng, b, h, w):
    g = rng.integers(0, 256, (b, h, w, 3), dtype=np.uint8)
    p = np.clip(g.astype(int) + rng.integers(-60, 61, g.shape), 0, 255).astype(np.uint8)
    return p, g


@pytest.mark.parametrize("tile", [64, 500, 8192])  # row bands, small bands, whole images
def test_ssim_tiles_equal_skimage(monkeypatch, tile):
    monkeypatch.setattr(fidelity, "_SSIM_TILE_PX", tile)
    rng = np.random.default_rng(tile)
    p, g = _pairs(rng, 5, 23, 41)
    ours = fidelity.ssim_np(p, g)
    for i in range(len(p)):
        ref = structural_similarity(p[i], g[i], channel_axis=-1, data_range=255)
        assert abs(ours[i] - ref) < 1e-12


@pytest.mark.parametrize("win", [3, 11, 13])  # int32 and (win > 11) int64 planes
def test_ssim_other_windows_equal_skimage(win):
    p, g = _pairs(np.random.default_rng(win), 2, 30, 26)
    ours = fidelity.ssim_np(p, g, win)
    for i in range(2):
        ref = structural_similarity(p[i], g[i], win_size=win, channel_axis=-1, data_range=255)
        assert abs(ours[i] - ref) < 1e-12


def test_extreme_values_stay_exact():
    # all-255 vs all-0 and saturated noise: the largest window sums and products
    rng = np.random.default_rng(4)
    p = np.stack([np.full((9, 9, 3), 255, np.uint8), rng.choice([0, 255], (9, 9, 3))])
    g = np.stack([np.zeros((9, 9, 3), np.uint8), rng.choice([0, 255], (9, 9, 3))])
    p, g = p.astype(np.uint8), g.astype(np.uint8)
    s, q = fidelity.ssim_np(p, g), fidelity.psnr_np(p, g)
    for i in range(2):
        ref = structural_similarity(p[i], g[i], channel_axis=-1, data_range=255)
        assert abs(s[i] - ref) < 1e-12
        assert abs(q[i] - peak_signal_noise_ratio(g[i], p[i], data_range=255)) < 1e-9


def test_colorfulness_np_equals_float_definition():

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (4, 13, 17, 3), dtype=np.uint8)
    m, m_abs = colorfulness_np(x)
    ref, ref_abs = _colorfulness_float(x, True)
    assert np.allclose(m, ref, atol=1e-9) and np.allclose(m_abs, ref_abs, atol=1e-9)


def test_joint_bootstrap_equals_separate_draws():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=50), rng.normal(size=50)
    joint = stats.bootstrap_many(
        {"a": lambda i: a[i].mean(1), "b": lambda i: b[i].mean(1)}, 50, 250, 3
    )
    assert np.array_equal(joint["a"], stats._bootstrap_stats(50, lambda i: a[i].mean(1), 250, 3))
    assert np.array_equal(joint["b"], stats._bootstrap_stats(50, lambda i: b[i].mean(1), 250, 3))
    assert stats.summarize(a, 250, 3, boot=joint["a"]) == stats.summarize(a, 250, 3)


def test_threaded_batches_equal_in_process(tmp_path, monkeypatch):
    from colorbench.metrics import pixel_batches as engine

    monkeypatch.setattr(engine, "_idle_cores", lambda cores: 4)  # threads even when busy
    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    pools: list[int] = []
    threaded = engine._threaded
    monkeypatch.setattr(engine, "_threaded", lambda ds, s, w: pools.append(w) or threaded(ds, s, w))
    rng = np.random.default_rng(7)
    for d in ("pred", "gt"):
        (tmp_path / d).mkdir()
    for i in range(9):
        p, g = _pairs(rng, 1, 16 + i % 2, 16)  # two sizes: grouped by shape in a batch
        Image.fromarray(p[0]).save(tmp_path / "pred" / f"{i}.png")
        Image.fromarray(g[0]).save(tmp_path / "gt" / f"{i}.png")
    runs = [
        evaluate(
            tmp_path / "pred",
            tmp_path / "gt",
            ["psnr", "ssim", "colorfulness", "cci"],
            batch_size=2,
            num_workers=w,
            bootstrap=50,
            progress=False,
        )  # fmt: skip
        for w in (0, 3, -1)
    ]
    assert pools == [3, 4]  # workers 3, then -1 = every core; 0 ran in this thread
    for summary, df in runs[1:]:
        assert summary == runs[0][0]
        assert df.equals(runs[0][1])
    assert runs[0][1]["image"].tolist() == [str(i) for i in range(9)]


@pytest.mark.parametrize("n", [0, 1, 12352, 65535, 65536, 200_000])
def test_stored_zlib_stream_round_trips(n):
    import os
    import zlib

    from colorbench.metrics.decode import _stored_zlib

    raw = os.urandom(n)
    assert zlib.decompress(_stored_zlib(raw)) == raw


def test_network_batches_from_worker_processes_equal_in_process(tmp_path):
    import torch
    from _metrics_data import write_folders

    from colorbench.metrics.evaluator_net import SmallCNN

    torch.manual_seed(0)
    model = SmallCNN(2, width=8, size=32).eval()
    ckpt = tmp_path / "evaluator.pt"
    torch.save({"arch": "small_cnn", "config": {"width": 8, "size": 32},
                "state_dict": model.state_dict(), "classes": ["a", "b"], "val_acc": None},
               ckpt)  # fmt: skip
    pred, gt = write_folders(tmp_path / "imgs", 5)
    labels = {f"im{i:03d}": "ab"[i % 2] for i in range(5)}
    runs = [
        evaluate(
            pred,
            gt,
            ["psnr", "ssim", "top1", "evaluator_fd"],
            batch_size=2,
            num_workers=w,
            evaluator_path=ckpt,
            labels=labels,
            bootstrap=20,
            progress=False,
        )  # fmt: skip
        for w in (0, 2)  # in this process; DataLoader worker processes
    ]
    assert runs[0][1].equals(runs[1][1])
    assert runs[0][0]["evaluator_fd"]["mean"] == pytest.approx(runs[1][0]["evaluator_fd"]["mean"])
    assert runs[0][0]["top1"] == runs[1][0]["top1"]


def test_bad_header_checksum_is_left_to_image_open(tmp_path):
    a = np.zeros((8, 8, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[29] ^= 0xFF  # IHDR's CRC
    assert _png_rgb8(bytes(data)) is None
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(Exception):  # noqa: B017  (Pillow's own error, whatever its class)
        read_rgb(path)
