"""Batches sized by pixel budget: per device, bounded for huge inputs, outputs unchanged."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from PIL import Image

from colorbench import batching
from colorbench.batching import HOST_PX_BUDGET, net_batch, plan_batches
from colorbench.colorize.engine import colorize_images
from colorbench.methods.paracolorizer.fused import fuse_images
from colorbench.models.densefuse import DenseFuse
from colorbench.models.registry import build_generator


def test_net_batch_small_on_cpu_large_on_gpu_and_capped():
    assert net_batch(torch.device("cpu"), 256 * 256, 16) == 1
    assert net_batch("cpu", 64 * 64, 32) == 16
    assert net_batch("cpu", 64 * 64, 4) == 4  # the caller's batch size caps it
    assert net_batch("cuda:0", 256 * 256, 128) == 64
    assert net_batch("cpu", 4000 * 3000, 16) == 1  # never 0


def test_plan_keeps_a_huge_photo_alone_and_bounds_held_pixels():
    px = [64 * 64] * 3 + [4000 * 3000] + [64 * 64] * 5 + [3000 * 2000] * 2
    plan = plan_batches(px, per_batch=4)
    assert [i for b in plan for i in b] == list(range(len(px)))  # every item, in order
    assert [3] in plan  # the 12 Mpx photo shares its batch with nothing
    for b in plan:
        assert len(b) <= 4
        assert len(b) == 1 or sum(px[i] for i in b) <= HOST_PX_BUDGET
    assert plan_batches([], 4) == []


def _write_images(folder, sizes, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    paths = []
    for i, (h, w) in enumerate(sizes):
        p = folder / f"{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _digests(paths):
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_colorize_batches_by_budget_with_identical_outputs(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = build_generator({"arch": "resunet_attn", "width": 8}).eval()
    sizes = [(32, 32)] * 3 + [(96, 80)] + [(32, 40)] * 4
    paths = _write_images(tmp_path / "in", sizes)
    seen: list[int] = []

    def spy(m, x):
        seen.append(len(x))
        return m(x)

    # a budget of 3 model inputs and a host budget the 96x80 image fills on its own
    monkeypatch.setitem(batching.NET_PX_BUDGET, "cpu", 3 * 32 * 32)
    monkeypatch.setattr(batching, "HOST_PX_BUDGET", 96 * 80)
    outs = colorize_images(model, paths, tmp_path / "a", 32, 16, "cpu", predictor=spy,
                           progress=False)  # fmt: skip
    assert seen == [3, 1, 3, 1]
    seen.clear()
    monkeypatch.setitem(batching.NET_PX_BUDGET, "cpu", 10**9)
    monkeypatch.setattr(batching, "HOST_PX_BUDGET", 10**9)
    ref = colorize_images(model, paths, tmp_path / "b", 32, 16, "cpu", predictor=spy,
                          progress=False)  # fmt: skip
    assert seen == [8]  # one batch for all: the old behaviour
    assert _digests(outs) == _digests(ref)


def test_fusion_splits_same_size_groups_by_budget(tmp_path, monkeypatch):
    torch.manual_seed(0)
    fusion = DenseFuse(width=4).eval()
    fg = _write_images(tmp_path / "fg", [(24, 24)] * 5, seed=1)
    bg = _write_images(tmp_path / "bg", [(24, 24)] * 5, seed=2)
    calls: list[int] = []
    original = fusion.fuse_images

    def spy(a, b, strategy):
        calls.append(len(a))
        return original(a, b, strategy)

    monkeypatch.setattr(fusion, "fuse_images", spy)
    monkeypatch.setitem(batching.NET_PX_BUDGET, "cpu", 2 * 24 * 24)
    outs = fuse_images(fusion, fg, bg, tmp_path / "a", batch_size=16, progress=False)
    assert calls == [2, 2, 1]
    monkeypatch.setitem(batching.NET_PX_BUDGET, "cpu", 10**9)
    ref = fuse_images(fusion, fg, bg, tmp_path / "b", batch_size=16, progress=False)
    assert calls[3:] == [5]
    assert _digests(outs) == _digests(ref)
