"""Every PIL mode colorbench accepts decodes to the right 8-bit RGB, or is refused with a
reason, in every reader: evaluate/report (metrics.decode), prepare (data.decode), colorize
(infer.load_rgb). Expected pixels are computed here with numpy, independently."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from colorbench.cli import main
from colorbench.data.decode import Rejected, open_upright
from colorbench.errors import ColorbenchError
from colorbench.infer import load_rgb
from colorbench.metrics.decode import read_gray, read_rgb

G = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))  # 16x16 grey ramp
ALPHA = np.tile(np.linspace(0, 255, 16).round().astype(np.uint8)[:, None], (1, 16))


def _on_white(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.rint(c * (a / 255.0) + 255.0 * (1 - a / 255.0)).astype(np.uint8)


def _rgb(g: np.ndarray) -> np.ndarray:
    return np.repeat(g[..., None], 3, axis=2)


def _cases() -> dict[str, tuple[Image.Image, str, np.ndarray]]:
    rgb = Image.fromarray(_rgb(G))
    g16 = G.astype(np.uint16) * 257
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return {
        "1": (Image.fromarray(G > 127), "png", _rgb(np.where(G > 127, 255, 0).astype(np.uint8))),
        "L": (Image.fromarray(G), "png", _rgb(G)),
        "LA": (Image.merge("LA", [Image.fromarray(G), Image.fromarray(ALPHA)]), "png",
               _rgb(_on_white(G, ALPHA))),
        "P": (pal, "png", _rgb(G)),
        "RGB": (rgb, "png", _rgb(G)),
        "RGBA": (Image.fromarray(np.dstack([_rgb(G), ALPHA])), "png", _rgb(_on_white(G, ALPHA))),
        "CMYK": (rgb.convert("CMYK"), "tiff", _rgb(G)),
        "I;16": (Image.fromarray(g16), "png", _rgb(G)),
        "I;16-tiff": (Image.fromarray(g16), "tiff", _rgb(G)),
        "I;16B": (Image.fromarray(g16.astype(">u2")), "tiff", _rgb(G)),
        "I": (Image.fromarray(g16.astype(np.int32)), "tiff", _rgb(G)),
        "F": (Image.fromarray(G.astype(np.float32) / 255.0), "tiff", _rgb(G)),
    }  # fmt: skip


CASES = _cases()


@pytest.fixture(params=sorted(CASES))
def mode_file(request, tmp_path):
    im, fmt, expected = CASES[request.param]
    path = tmp_path / f"img.{fmt}"
    im.save(path)
    return path, expected


def test_every_reader_decodes_every_mode(mode_file):
    path, expected = mode_file
    np.testing.assert_array_equal(read_rgb(path), expected)  # evaluate, report
    np.testing.assert_array_equal(load_rgb(path), expected)  # colorize
    im, w, h = open_upright(path, max_pixels=10**6)  # prepare
    np.testing.assert_array_equal(np.asarray(im), expected)
    np.testing.assert_array_equal(read_gray(path), expected[..., 0])  # saliency maps


def test_pa_mode_in_memory_composites_alpha():
    from colorbench.data.decode import to_rgb

    pal = Image.fromarray(_rgb(G)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pa = pal.convert("PA")
    pa.putalpha(Image.fromarray(ALPHA))
    np.testing.assert_array_equal(np.asarray(to_rgb(pa)), _rgb(_on_white(G, ALPHA)))


def test_premultiplied_la_decodes():
    from colorbench.data.decode import to_rgb

    im = Image.new("La", (2, 1), (100, 128))  # premultiplied: colour 100/128*255 = 199
    expected = _on_white(np.full((1, 2), 199), np.full((1, 2), 128))
    np.testing.assert_array_equal(np.asarray(to_rgb(im)), _rgb(expected))


def test_unconvertible_mode_is_refused_with_reason(tmp_path, monkeypatch):
    """A mode Pillow cannot convert (simulated: YCbCr made unconvertible) is a Rejected with
    the mode named, in all three readers; never a raw ValueError or a wrong picture."""
    path = tmp_path / "ycc.tif"
    Image.fromarray(_rgb(G)).convert("YCbCr").save(path)
    real = Image.Image.convert

    def convert(self, mode=None, *a, **k):
        if self.mode == "YCbCr":
            raise ValueError(f"conversion from YCbCr to {mode} not supported")
        return real(self, mode, *a, **k)

    monkeypatch.setattr(Image.Image, "convert", convert)
    with pytest.raises(Rejected, match="unsupported mode: YCbCr"):
        open_upright(path, max_pixels=10**6)
    with pytest.raises(Rejected, match="unsupported mode: YCbCr"):
        read_rgb(path)
    with pytest.raises(ColorbenchError, match=r"ycc\.tif.*unsupported mode: YCbCr"):
        load_rgb(path)


def test_evaluate_16bit_prediction_scores_like_its_8bit_twin(tmp_path):
    """The bug: an I;16 prediction decoded as all-255 and exited 0 with a wrong PSNR."""
    rng = np.random.default_rng(0)
    gt_g = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    for d in ("gt", "p8", "p16"):
        (tmp_path / d).mkdir()
    Image.fromarray(_rgb(gt_g)).save(tmp_path / "gt" / "a.png")
    Image.fromarray(G).save(tmp_path / "p8" / "a.png")
    Image.fromarray(G.astype(np.uint16) * 257).save(tmp_path / "p16" / "a.png")
    psnr = {}
    for d in ("p8", "p16"):
        out = tmp_path / f"{d}.json"
        args = ["evaluate", "--pred", str(tmp_path / d), "--gt", str(tmp_path / "gt"),
                "--out", str(out), "--metrics", "psnr", "--bootstrap", "0", "--workers", "0"]  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        psnr[d] = json.loads(out.read_text())["psnr"]["mean"]
    assert psnr["p16"] == pytest.approx(psnr["p8"], abs=1e-9)


def test_jpeg_draft_decodes_at_reduced_scale_with_full_size_reported(tmp_path):
    """A JPEG at least twice the output size is decoded by the DCT-domain draft (here at
    1/2 scale: 1/4 would go below 128 px); the reported size stays the full one, and after
    the resize prepare does the pixels match a full decode within JPEG noise."""
    yy, xx = np.mgrid[0:384, 0:512]
    img = np.dstack([xx * 255 // 511, yy * 255 // 383, (xx + yy) * 255 // 894]).astype(np.uint8)
    path = tmp_path / "big.jpg"
    Image.fromarray(img).save(path, quality=95)
    im, w, h = open_upright(path, max_pixels=10**7, draft_size=128)
    assert (w, h) == (512, 384)
    assert im.size == (256, 192)  # decoded by the draft, not at full size
    full, _, _ = open_upright(path, max_pixels=10**7)
    assert full.size == (512, 384)
    small = np.asarray(im.resize((128, 128), Image.Resampling.BICUBIC), dtype=float)
    ref = np.asarray(full.resize((128, 128), Image.Resampling.BICUBIC), dtype=float)
    assert np.abs(small - ref).mean() < 2.0


def test_evaluate_reader_applies_png_exif_orientation(tmp_path) -> None:
    """An 8-bit RGB PNG with an EXIF orientation reads upright, as Pillow and prepare read it
    (the fast PNG path must not skip the eXIf chunk)."""
    from PIL import ImageOps

    from colorbench.metrics.decode import read_rgb

    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.png"
    Image.fromarray(rgb).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert expected.shape == (30, 20, 3)
    np.testing.assert_array_equal(read_rgb(path), expected)
