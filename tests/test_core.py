"""Unit tests for the shared core: colour conversions, atomic outputs, params, CLI errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage import color as skcolor

from colorbench import color
from colorbench.atomic import atomic_dir, atomic_file, atomic_path
from colorbench.params import section


def _rgb(h: int = 8, w: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_lab_matches_skimage_and_round_trips() -> None:
    rgb = _rgb()
    lab = color.rgb_to_lab(rgb)
    np.testing.assert_allclose(lab, skcolor.rgb2lab(rgb / 255.0), atol=1e-4)
    assert np.abs(color.lab_to_rgb(lab).astype(int) - rgb).max() <= 1


def test_torch_lab_agrees_with_skimage() -> None:
    rgb = _rgb(6, 7, 1)
    t = color.uint8_to_tensor(rgb)[None]
    lab_t = color.rgb_tensor_to_lab(t)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(lab_t, skcolor.rgb2lab(rgb / 255.0), atol=2e-2)


def test_net_normalisation_round_trip_and_ranges() -> None:
    t = color.uint8_to_tensor(_rgb(16, 16, 2))[None]
    l_norm, ab_norm = color.rgb_to_net(t)
    assert l_norm.min() >= -1 - 1e-5 and l_norm.max() <= 1 + 1e-5
    assert ab_norm.abs().max() <= 1.2
    back = color.net_to_rgb(l_norm, ab_norm)
    assert torch.allclose(back, t, atol=2e-3)
    assert np.array_equal(color.tensor_to_uint8(t[0]), _rgb(16, 16, 2))


def test_gray_rgb_has_no_chroma_and_keeps_lightness() -> None:
    rgb = _rgb(10, 10, 3)
    gray = color.gray_rgb(rgb)
    assert np.abs(gray[..., 0].astype(int) - gray[..., 2]).max() <= 1
    lab_in, lab_out = color.rgb_to_lab(rgb), color.rgb_to_lab(gray)
    assert np.abs(lab_in[..., 0] - lab_out[..., 0]).max() < 0.6


def test_atomic_dir_replaces_only_on_success(tmp_path) -> None:
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("partial")
        raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no leftovers


def test_atomic_file_and_path(tmp_path) -> None:
    with atomic_file(tmp_path / "x.json") as fh:
        fh.write("{}")
    with pytest.raises(ValueError), atomic_file(tmp_path / "x.json") as fh:
        fh.write("partial")
        raise ValueError
    assert (tmp_path / "x.json").read_text() == "{}"
    with atomic_path(tmp_path / "m.pt") as p:
        torch.save({"a": 1}, p)
    assert torch.load(tmp_path / "m.pt")["a"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "x.json"]


def test_section_merges_global_keys(tmp_path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("seed: 3\ndevice: cpu\nprepare:\n  size: 64\n")
    # data_seed: the global seed, kept for data choices inside trainers (train_seed aside)
    assert section("prepare", path) == {"seed": 3, "device": "cpu", "size": 64, "data_seed": 3}


def test_cli_help_lists_commands() -> None:
    from colorbench.cli import main

    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0 and "profile" in out.output
