"""Saliency stage: masks (vs pycocotools), spectral residual, U^2-Net-p with random weights."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from coco_fixture import invoke_stage_cli, make_dataset, write_prepared
from PIL import Image

from colorbench.data.manifest import read_manifest
from colorbench.errors import ColorbenchError, MissingWeightsError
from colorbench.saliency import run_saliency
from colorbench.saliency.spectral import spectral_residual, spectral_saliency


def _maps_align(prepared: Path, out: Path) -> dict[str, np.ndarray]:
    """Every prepared image has exactly one map, uint8 gray, of its size."""
    df = read_manifest(prepared)
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(df["id"])
    maps = {}
    for row in df.itertuples():
        with Image.open(out / f"{row.id}.png") as im:
            assert im.mode == "L"
            arr = np.asarray(im)
        assert arr.shape == (row.height, row.width)
        maps[row.id] = arr
    return maps


def _coco_union(ds, image_id: str) -> np.ndarray:
    """Independent reference: pycocotools' own annToMask, OR-ed over every annotation."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ds.annotations))
    name = f"{image_id}.jpg"
    img_id = next(i for i, im in coco.imgs.items() if im["file_name"] == name)
    union = np.zeros((coco.imgs[img_id]["height"], coco.imgs[img_id]["width"]), dtype=bool)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img_id])):
        union |= coco.annToMask(ann).astype(bool)
    return union


@pytest.mark.parametrize("workers", [0, 2])
def test_masks_equal_union_of_instance_masks(tmp_path: Path, workers: int) -> None:
    ds = make_dataset(tmp_path, n=3)
    out = tmp_path / "sal"
    s = run_saliency(
        ds.prepared,
        out,
        backend="masks",
        annotations=ds.by_source,
        num_workers=workers,
        progress=False,
    )
    maps = _maps_align(ds.prepared, out)
    assert s.images == 4 and s.empty == 1
    for image_id in ds.ids:
        ref = _coco_union(ds, image_id)
        assert set(np.unique(maps[image_id])) == {0, 255}
        np.testing.assert_array_equal(maps[image_id] == 255, ref)
    assert not maps["scene000"].any()  # background: no annotations, all zero


def test_masks_are_resized_nearest_to_the_prepared_size(tmp_path: Path) -> None:
    from skimage.transform import resize

    ds = make_dataset(tmp_path, n=1, orig_size=(96, 48), size=32)
    out = tmp_path / "sal"
    run_saliency(ds.prepared, out, backend="masks", annotations=ds.by_source, progress=False)
    maps = _maps_align(ds.prepared, out)
    ref = resize(_coco_union(ds, ds.ids[0]), (32, 32), order=0, anti_aliasing=False)
    got = maps[ds.ids[0]] == 255
    iou = (got & ref).sum() / (got | ref).sum()
    assert set(np.unique(maps[ds.ids[0]])) <= {0, 255}
    assert iou > 0.85, iou


def test_spectral_residual_finds_the_odd_object() -> None:
    rng = np.random.default_rng(0)
    # Uniform texture with one bright square: the square must stand out.
    gray = 0.4 + 0.05 * rng.standard_normal((64, 64))
    gray[40:50, 12:22] = 0.95
    sal = spectral_residual(gray)
    assert sal.shape == (64, 64) and sal.min() >= 0 and sal.max() == pytest.approx(1.0)
    inside = sal[40:50, 12:22].mean()
    outside = np.delete(
        sal.reshape(-1), np.ravel_multi_index(np.mgrid[38:52, 10:24].reshape(2, -1), (64, 64))
    ).mean()
    assert inside > 2.5 * outside
    # A flat image has no salient region (and no NaN from the normalisation).
    assert not spectral_residual(np.full((40, 30), 0.5)).any()


def test_spectral_residual_matches_a_direct_numpy_transcription() -> None:
    """Hou & Zhang's reference steps written out with numpy/scipy on a 64x64 input."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    gray = rng.random((64, 64)).astype(np.float32)
    f = np.fft.fft2(gray.astype(np.float64))
    la = np.log(np.abs(f) + 1e-12)
    r = la - ndimage.uniform_filter(la, 3, mode="nearest")
    s = np.abs(np.fft.ifft2(np.exp(r + 1j * np.angle(f)))) ** 2
    s = ndimage.gaussian_filter(s, 2.5, truncate=2.0, mode="nearest")
    s = (s - s.min()) / (s.max() - s.min())
    np.testing.assert_allclose(spectral_residual(gray), s, atol=1e-5)


@pytest.mark.parametrize("workers", [0, 2])
def test_spectral_stage_maps_align(tmp_path: Path, workers: int) -> None:
    rng = np.random.default_rng(4)
    b = np.clip(110 + 12 * rng.standard_normal((48, 48, 1)), 0, 255).repeat(3, 2).astype(np.uint8)
    b[30:37, 10:17] = (250, 250, 250)  # a small bright object on a textured background
    imgs = {"a": rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), "b": b}
    prepared = write_prepared(tmp_path, imgs)
    out = tmp_path / "sal"
    run_saliency(prepared, out, backend="spectral", num_workers=workers, progress=False)
    maps = _maps_align(prepared, out)
    np.testing.assert_array_equal(maps["b"], spectral_saliency(imgs["b"]))
    assert maps["b"].max() == 255 and maps["b"].min() == 0
    assert maps["b"][30:37, 10:17].mean() > 2 * maps["b"].mean()


def test_u2netp_layout_matches_the_authors_state_dict_names() -> None:
    from colorbench.saliency.u2net import U2NETP

    keys = set(U2NETP().state_dict())
    for k in (
        "stage1.rebnconvin.conv_s1.weight",
        "stage1.rebnconv7.conv_s1.weight",
        "stage1.rebnconv1d.bn_s1.running_var",
        "stage4.rebnconv4.conv_s1.weight",
        "stage5.rebnconv4.conv_s1.weight",
        "stage5d.rebnconv3d.conv_s1.weight",
        "stage1d.rebnconv6d.conv_s1.weight",
        "side6.weight",
        "outconv.weight",
    ):
        assert k in keys, k
    assert not any("rebnconv8" in k or "stage7" in k for k in keys)
    assert U2NETP().stage1.rebnconv7.conv_s1.dilation == (2, 2)
    assert U2NETP().stage5.rebnconv4.conv_s1.dilation == (8, 8)


def _install_random_u2netp(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    from colorbench import weights
    from colorbench.saliency.u2net import U2NETP

    monkeypatch.setenv("TORCH_HOME", str(home))
    torch.manual_seed(0)
    path = weights.cache_path("u2netp")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Saved as nn.DataParallel would: the loader strips the "module." prefix.
    torch.save({f"module.{k}": v for k, v in U2NETP().state_dict().items()}, path)
    return path


def test_deep_backend_with_random_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _install_random_u2netp(monkeypatch, tmp_path / "torch")
    rng = np.random.default_rng(5)
    imgs = {
        "a": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
        "b": rng.integers(0, 255, (24, 24, 3), dtype=np.uint8),
        "c": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
    }
    prepared = write_prepared(tmp_path, imgs)
    out = tmp_path / "sal"
    run_saliency(
        prepared, out, backend="deep", batch_size=2, deep_size=32, device="cpu", progress=False
    )
    maps = _maps_align(prepared, out)
    for m in maps.values():  # the sigmoid output, not stretched to 0..255
        assert m.dtype == np.uint8 and not (m.min() == 0 and m.max() == 255)
    # Against a direct U^2-Net-p forward, one image at a time, preprocessing written out:
    # bilinear to 32x32, divided by its max, ImageNet mean/std; d0 back to size, x255.
    import torch.nn.functional as F

    from colorbench.saliency.u2net import U2NETP

    net = U2NETP().eval()
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict({k[len("module.") :]: v for k, v in state.items()})
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    for name, img in imgs.items():
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
        with torch.no_grad():
            d0 = net((x / x.max() - mean) / std)[0]
        d0 = F.interpolate(d0, size=img.shape[:2], mode="bilinear", align_corners=False)[0, 0]
        expect = (d0.clamp(0, 1) * 255).round().numpy()
        assert np.abs(maps[name].astype(int) - expect).max() <= 1, name
        assert maps[name].std() > 0  # not a constant map


def test_deep_backend_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    prepared = write_prepared(tmp_path, {"a": np.zeros((16, 16, 3), np.uint8)})
    with pytest.raises(MissingWeightsError, match="colorbench weights import DIR"):
        run_saliency(prepared, tmp_path / "sal", backend="deep", progress=False)
    from colorbench import weights

    path = weights.cache_path("u2netp")
    path.parent.mkdir(parents=True)
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(ColorbenchError, match="does not match U\\^2-Net-p"):
        run_saliency(prepared, tmp_path / "sal", backend="deep", progress=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ColorbenchError, match="cannot read"):
        run_saliency(prepared, tmp_path / "sal", backend="deep", progress=False)
    assert not (tmp_path / "sal").exists()


def test_masks_without_annotations_is_a_clear_error(tmp_path: Path) -> None:
    prepared = write_prepared(tmp_path, {"a": np.zeros((16, 16, 3), np.uint8)})
    with pytest.raises(ColorbenchError, match="needs COCO annotations"):
        run_saliency(prepared, tmp_path / "sal", backend="masks", progress=False)


def test_a_model_with_wrong_output_is_a_clear_error(tmp_path: Path) -> None:
    prepared = write_prepared(tmp_path, {i: np.zeros((16, 16, 3), np.uint8) for i in "ab"})
    out = tmp_path / "sal"
    with pytest.raises(ColorbenchError, match="saliency model returned 1 results for 2 images"):
        run_saliency(
            prepared,
            out,
            backend="deep",
            model=lambda images: [np.zeros((16, 16), np.uint8)],
            batch_size=2,
            progress=False,
        )
    with pytest.raises(ColorbenchError, match=r"returned \(8, 8\) for a of size \(16, 16\)"):
        run_saliency(
            prepared,
            out,
            backend="deep",
            model=lambda images: [np.zeros((8, 8), np.uint8) for _ in images],
            progress=False,
        )
    assert not out.exists()


def test_cli_saliency(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, n=1)
    out = tmp_path / "sal"
    res = invoke_stage_cli("saliency", ds.prepared, out, "--annotations", f"coco={ds.annotations}")
    assert res.exit_code == 0, res.output
    assert "2 saliency maps (masks), 1 all-zero" in res.output
    _maps_align(ds.prepared, out)


class _ConstantSigmoid(torch.nn.Module):
    """Stands in for U^2-Net-p: a fused sigmoid map that is `value` + a small ramp."""

    def __init__(self, value: float, ramp: float) -> None:
        super().__init__()
        self.value, self.ramp = value, ramp

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        w = x.shape[-1]
        ramp = torch.linspace(0, self.ramp, w).view(1, 1, 1, w).expand(x.shape[0], 1, -1, -1)
        return (self.value + ramp,)


def test_deep_maps_keep_the_sigmoid_range() -> None:
    """A weak detection stays weak (no min-max stretch): the map is round(255 * sigmoid)."""
    from colorbench.saliency.deep import DeepSaliency

    img = np.full((16, 16, 3), 128, np.uint8)
    flat = DeepSaliency(_ConstantSigmoid(0.1, 0.0), size=16)([img])[0]
    np.testing.assert_array_equal(flat, np.full((16, 16), round(25.5), np.uint8))
    weak = DeepSaliency(_ConstantSigmoid(0.05, 0.2), size=16)([img])[0]
    expected = np.round(255 * (0.05 + np.linspace(0, 0.2, 16))).astype(np.uint8)
    np.testing.assert_allclose(weak[0].astype(int), expected.astype(int), atol=1)
    stretched = DeepSaliency(_ConstantSigmoid(0.05, 0.2), size=16, stretch=True)([img])[0]
    assert stretched.min() == 0 and stretched.max() == 255  # the opt-in U^2-Net script mode
