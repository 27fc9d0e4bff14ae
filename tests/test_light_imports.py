"""Pay only for what you use: data stages and pixel metrics run without torch, kornia or
pandas, on a numpy Lab path equal to skimage's (and to the networks' kornia path)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorbench import lab

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("torch", "kornia", "pandas")

_RUN = """
import json, sys
from colorbench.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


def _cli_modules(*args: str) -> list[str]:
    """Heavy modules loaded by one `colorbench ...` run in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", _RUN.format(heavy=HEAVY), *args],
                         capture_output=True, text=True, env=env, check=True)  # fmt: skip
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_prepare_and_pixel_evaluate_import_no_torch_kornia_pandas(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(6):
        img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
        Image.fromarray(img).save(raw / f"im{i}.jpg", quality=90)
    (raw / "notes.txt").write_text("not an image")  # a reject takes its path too
    prep = tmp_path / "prep"
    assert _cli_modules("prepare", "--input", str(raw), "--out", str(prep), "--size", "32",
                        "--workers", "2") == []  # fmt: skip
    images = prep / "images"
    assert len(list(images.glob("*.png"))) == 6
    out = tmp_path / "m.json"
    loaded = _cli_modules("evaluate", "--pred", str(images), "--gt", str(images), "--out",
                          str(out), "--per-image", str(tmp_path / "p.csv"),
                          "--metrics", "psnr,ssim")  # fmt: skip
    assert loaded == []
    assert json.loads(out.read_text())["ssim"]["mean"] == pytest.approx(1.0)


def test_numpy_lab_equals_skimage_bit_for_bit():
    from skimage.color import rgb2lab

    # every level in every channel, mixed: a 256-level ramp against random partners
    ramp = np.arange(256, dtype=np.uint8)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (256, 1024, 3), dtype=np.uint8)
    rgb[:, :256, 0], rgb[:, 256:512, 1], rgb[:, 512:768, 2] = ramp, ramp, ramp
    rgb[:, 768:] = ramp[:, None, None]  # greys
    ref = rgb2lab(rgb.astype(np.float32) / 255.0)
    got = lab.rgb_to_lab(rgb)
    assert got.dtype == np.float32
    assert np.array_equal(got, ref.astype(np.float32))  # operation for operation
    f = rgb[:64].astype(np.float64) / 255.0  # float input: skimage in float64
    assert np.abs(lab.rgb_to_lab(f) - rgb2lab(f)).max() < 1e-4


def test_numpy_lab_agrees_with_the_networks_kornia_path():
    import torch

    from colorbench.color import rgb_tensor_to_lab

    rgb = np.random.default_rng(1).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None].double() / 255.0
    ref = rgb_tensor_to_lab(t)[0].permute(1, 2, 0).numpy()
    assert np.abs(lab.rgb_to_lab(rgb) - ref).max() < 2e-3  # kornia's own constants differ


def test_mean_chroma_matches_skimage_definition():
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(2).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    ref = rgb2lab(rgb / 255.0)
    expected = np.hypot(ref[..., 1], ref[..., 2]).mean()
    assert lab.mean_chroma(rgb) == pytest.approx(expected, rel=1e-5)
    assert (
        lab.mean_chroma(np.full((4, 4, 3), 128, np.uint8)) < 1e-2
    )  # skimage's D65 white is not exactly sRGB's


def test_per_image_csv_is_byte_identical_to_pandas():

    from colorbench.metrics.evaluate import PerImage

    rng = np.random.default_rng(3)
    cols = {
        "psnr": np.r_[rng.normal(30, 5, 6), np.inf, 1e-7, 123456789.125],
        "ssim": np.r_[rng.uniform(0, 1, 6), np.nan, 0.0, 1.0],
    }
    names = ["a", "b,c", 'q"d', "00007", "1e5", "x y", "nan", "", "é"]
    table = PerImage(names, cols)
    ours = io.StringIO()
    table.write_csv(ours)
    ref = io.StringIO()
    table.to_frame().to_csv(ref, index=False)
    assert ours.getvalue() == ref.getvalue()
