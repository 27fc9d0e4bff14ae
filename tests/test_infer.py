"""Any-size inference: same size out, L kept, ab upsampled, batching, input formats,
never overwriting inputs; overlay and fusion of two colorized sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor
from torch import nn

from colorbench import color
from colorbench.colorize.engine import colorize_images
from colorbench.errors import ColorbenchError
from colorbench.infer import load_rgb
from colorbench.methods.overlay import overlay_images
from colorbench.methods.paracolorizer.fused import fuse_images
from colorbench.models.registry import build_fusion, build_generator

# Rounding the output to uint8 RGB moves L by at most ~0.27: half a code value in every
# channel, times the steepest dL/dRGB of sRGB + CIE L (near RGB ~ 25/255, where the sRGB
# curve is still steep and L = 116 Y^(1/3) - 16 steeper still). Measured here: 0.21.
L_TOL = 0.5


class Scaled(nn.Module):
    """A real generator whose ab is scaled into the sRGB gamut, so Lab -> RGB never clips
    (clipping an out-of-gamut colour changes L in any Lab pipeline)."""

    def __init__(self, g: nn.Module, scale: float = 0.1) -> None:
        super().__init__()
        self.g, self.scale = g, scale
        self.size_multiple = g.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.g(x)


class ConstantAB(nn.Module):
    size_multiple = 1

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.ab = torch.tensor([a, b]) / color.AB_SCALE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ab.view(1, 2, 1, 1).expand(x.shape[0], 2, *x.shape[-2:]).clone()


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], axis=-1) * 180 + 40
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def _generator(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return Scaled(build_generator({"arch": "resunet_attn", "width": 4}).eval())


def test_non_square_image_same_size_and_l_kept(tmp_path) -> None:
    src = _image(61, 97)
    Image.fromarray(src).save(tmp_path / "in.png")
    (out,) = colorize_images(_generator(), [tmp_path / "in.png"], tmp_path / "out", 64, 4)
    got = np.asarray(Image.open(out))
    assert got.shape == src.shape and out.name == "in.png"
    l_diff = np.abs(color.rgb_to_lab(got)[..., 0] - color.rgb_to_lab(src)[..., 0])
    assert l_diff.max() <= L_TOL
    ab = color.rgb_to_lab(got)[..., 1:]
    assert ab.std() > 0.1  # it did colorize (not a constant output)


def test_ab_is_the_model_prediction_upsampled(tmp_path) -> None:
    src = _image(45, 70, seed=1)
    Image.fromarray(src).save(tmp_path / "x.png")
    (out,) = colorize_images(ConstantAB(12.0, -20.0), [tmp_path / "x.png"], tmp_path / "o", 32)
    lab = color.rgb_to_lab(np.asarray(Image.open(out)))
    # Independent reference: skimage's unrounded RGB for (L, 12, -20) tells which pixels
    # are inside the sRGB gamut (outside, clipping changes the colour in any pipeline).
    expected = color.rgb_to_lab(src)
    expected[..., 1:] = [12.0, -20.0]
    rgb = skcolor.lab2rgb(expected.astype(np.float64))
    inside = ((rgb > 0) & (rgb < 1)).all(axis=-1)
    assert inside.mean() > 0.9
    dev = np.abs(lab[..., 1:] - [12.0, -20.0]).max(axis=-1)[inside]
    assert np.percentile(dev, 99) < 1.0 and dev.max() < 3.0  # uint8 rounding of RGB only


def test_batching_and_padding_do_not_change_results(tmp_path) -> None:
    paths = []
    for i, (h, w) in enumerate([(40, 50), (64, 64), (33, 80)]):
        Image.fromarray(_image(h, w, seed=i)).save(tmp_path / f"im{i}.png")
        paths.append(tmp_path / f"im{i}.png")
    g = _generator(2)
    one = colorize_images(g, paths, tmp_path / "b1", 48, batch_size=1)  # 48: padded to 64
    three = colorize_images(g, paths, tmp_path / "b3", 48, batch_size=3, workers=1)
    for a, b in zip(one, three, strict=True):
        diff = np.abs(np.asarray(Image.open(a), int) - np.asarray(Image.open(b), int))
        assert diff.max() <= 1  # float summation order only


def test_input_formats_and_exif(tmp_path) -> None:
    rgb = _image(30, 50)
    Image.fromarray(rgb).convert("L").save(tmp_path / "gray.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.gif")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    Image.fromarray(rgb).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert load_rgb(tmp_path / "deep.png")[..., 0].tolist() == rgb[..., 0].tolist()
    names = ["gray.png", "rgba.png", "pal.gif", "deep.png", "rot.jpg"]
    outs = colorize_images(_generator(), [tmp_path / n for n in names], tmp_path / "o", 32)
    shapes = [np.asarray(Image.open(o)).shape for o in outs]
    assert shapes == [(30, 50, 3)] * 4 + [(50, 30, 3)]
    with pytest.raises(ColorbenchError, match="broken.png"):
        colorize_images(_generator(), [tmp_path / "broken.png"], tmp_path / "o2", 32)


def test_refuses_to_overwrite_inputs(tmp_path) -> None:
    Image.fromarray(_image(20, 20)).save(tmp_path / "a.png")
    before = (tmp_path / "a.png").read_bytes()
    with pytest.raises(ColorbenchError, match="never overwritten"):
        colorize_images(_generator(), [tmp_path / "a.png"], tmp_path, 32)
    (tmp_path / "link").symlink_to(tmp_path)  # the input folder under another name
    with pytest.raises(ColorbenchError, match="never overwritten"):
        colorize_images(_generator(), [tmp_path / "a.png"], tmp_path / "link", 32)
    (tmp_path / "sub").mkdir()
    Image.fromarray(_image(20, 20)).save(tmp_path / "sub" / "a.jpg")
    both = [tmp_path / "a.png", tmp_path / "sub" / "a.jpg"]
    with pytest.raises(ColorbenchError, match="both be written"):
        colorize_images(_generator(), both, tmp_path / "o", 32)
    with pytest.raises(ColorbenchError, match="plain file name"):
        colorize_images(_generator(), [tmp_path / "a.png"], tmp_path / "o", 32, names=["../a"])
    assert (tmp_path / "a.png").read_bytes() == before
    assert not (tmp_path / "o").exists()


def _pair(tmp_path, h: int = 24, w: int = 40):
    (tmp_path / "fg").mkdir()
    (tmp_path / "bg").mkdir()
    a, b = _image(h, w, seed=3), _image(h, w, seed=4)[::-1].copy()
    Image.fromarray(a).save(tmp_path / "fg" / "x.png")
    Image.fromarray(b).save(tmp_path / "bg" / "x.png")
    return a, b


def test_overlay(tmp_path) -> None:
    a, b = _pair(tmp_path)
    fg, bg = [tmp_path / "fg" / "x.png"], [tmp_path / "bg" / "x.png"]
    for alpha in (0.0, 0.25, 1.0):
        (out,) = overlay_images(fg, bg, tmp_path / f"o{alpha}", alpha)
        expected = np.clip(np.rint(alpha * a + (1 - alpha) * b.astype(float)), 0, 255)
        np.testing.assert_array_equal(np.asarray(Image.open(out)), expected.astype(np.uint8))
    with pytest.raises(ColorbenchError, match="alpha"):
        overlay_images(fg, bg, tmp_path / "bad", 1.5)


@pytest.mark.parametrize("strategy", ["addition", "l1norm"])
def test_fusion_of_two_images(tmp_path, strategy: str) -> None:
    a, b = _pair(tmp_path)
    torch.manual_seed(5)
    f = build_fusion({"width": 4}).eval()
    (out,) = fuse_images(
        f, [tmp_path / "fg" / "x.png"], [tmp_path / "bg" / "x.png"], tmp_path / "o", strategy
    )
    ta, tb = color.uint8_to_tensor(a)[None], color.uint8_to_tensor(b)[None]
    with torch.no_grad():
        from colorbench.models.densefuse import fuse

        ref = f.decode(fuse(f.encode(ta), f.encode(tb), strategy)).clamp(0, 1)[0]
    np.testing.assert_array_equal(np.asarray(Image.open(out)), color.tensor_to_uint8(ref))
