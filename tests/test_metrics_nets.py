"""Network metrics (FID Inception, LPIPS, evaluator) on random weights placed in the weights
registry exactly where real ones go, so the production loading path is what is tested."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from _metrics_data import write_folders

from colorbench import weights


def _install(monkeypatch, name: str, src: Path, link: bool = False) -> None:
    """Put `src` at the registry's cache path (this test's TORCH_HOME) and pin its
    digest/size (random weights)."""
    dest = weights.cache_path(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if link:
        dest.symlink_to(src)
    else:
        shutil.copyfile(src, dest)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    monkeypatch.setitem(
        weights.REGISTRY, name, weights.override(name, sha256=digest, size=src.stat().st_size)
    )
    monkeypatch.setattr(
        weights, "file_digest", lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    )


@pytest.fixture(scope="module")
def inception_setup(tmp_path_factory):
    """Random TF-FID Inception weights (built by pytorch-fid itself) installed in the
    registry, plus a reference pytorch-fid InceptionV3 loaded with them directly."""
    from pytorch_fid import inception as lib

    built: list[torch.nn.Module] = []
    orig_builder = lib._inception_v3

    def capture(*args, **kwargs):
        built.append(orig_builder(*args, **kwargs))
        return built[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lib, "_inception_v3", capture)
        mp.setattr(lib, "load_state_dict_from_url", lambda *a, **k: built[-1].state_dict())
        torch.manual_seed(0)
        state = lib.fid_inception_v3().state_dict()
    path = tmp_path_factory.mktemp("w") / "inception.pth"
    torch.save(state, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lib, "load_state_dict_from_url", lambda *a, **k: state)
        reference = lib.InceptionV3([3], resize_input=True, normalize_input=True).eval()
    return reference, path


@pytest.fixture
def inception(inception_setup, monkeypatch):
    """The random Inception weights installed in this test's own TORCH_HOME."""
    reference, path = inception_setup
    _install(monkeypatch, "inception_fid", path, link=True)
    return reference


def test_missing_weights_reported_not_dropped(tmp_path):
    from colorbench.metrics.evaluate import evaluate

    pred, gt = write_folders(tmp_path, 3)
    summary, df = evaluate(pred, gt, ["fid", "lpips", "psnr"], num_workers=0, progress=False)
    for k, name in (("fid", "inception_fid"), ("lpips", "alexnet")):
        assert summary[k]["mean"] is None and summary[k]["available"] is False
        # the reason is this test's own empty cache, not some other failure
        where = f"({weights.entry(name).file}) in {weights.cache_path(name).parent}"
        assert f"pretrained weights '{name}' not found {where}" in summary[k]["reason"]
        assert "colorbench weights" in summary[k]["reason"]
    assert "lpips" not in df.columns and "psnr" in df.columns


def test_one_cache_builds_each_network_once_with_unchanged_values(tmp_path, inception):
    """evaluate-protocols keeps one cache across methods and protocols: the Inception file
    is read once, and every value equals an evaluation with a cache of its own."""
    from colorbench.metrics import _weights
    from colorbench.metrics.evaluate import evaluate

    loads: list[str] = []
    real = _weights.load_state_dict

    def counting(name: str) -> dict:
        loads.append(name)
        return real(name)

    pred, gt = write_folders(tmp_path / "a", 4, seed=1)
    other, _ = write_folders(tmp_path / "b", 4, seed=2)  # another method on the same gt
    run = dict(metrics=["fid", "lpips", "psnr"], num_workers=0, progress=False)
    alone = [evaluate(p, gt, **run)[0] for p in (pred, other)]
    cache: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_weights, "load_state_dict", counting)
        shared = [evaluate(p, gt, cache=cache, **run)[0] for p in (pred, other)]
    assert sorted(loads) == ["alexnet", "inception_fid"]  # each once (AlexNet: missing)
    for a, b in zip(alone, shared, strict=True):
        assert a["fid"]["mean"] == pytest.approx(b["fid"]["mean"], rel=1e-9)
        assert a["psnr"]["mean"] == b["psnr"]["mean"]
        # a missing file stays missing for every folder, with the same reason
        assert b["lpips"]["available"] is False and b["lpips"]["reason"] == a["lpips"]["reason"]


def test_fid_standard_plumbing(tmp_path, inception):
    from colorbench.metrics.evaluate import evaluate, read_rgb

    reference = inception
    pred, gt = write_folders(tmp_path, 2)
    summary, _ = evaluate(pred, gt, ["fid"], batch_size=2, num_workers=0, progress=False)

    def feats(folder):
        ims = [torch.from_numpy(read_rgb(p)).permute(2, 0, 1) for p in sorted(folder.iterdir())]
        with torch.no_grad():
            return reference(torch.stack(ims).float() / 255.0)[0].flatten(1).double().numpy()

    fp, fg = feats(pred), feats(gt)
    assert fp.shape == (2, 2048)
    # Two samples: each covariance is rank one, a aᵀ and b bᵀ with a = (x1 − x2)/√2, so
    # tr sqrt(Σ1 Σ2) = |a·b| and the Fréchet distance has a closed form.
    a, b = (fp[0] - fp[1]) / np.sqrt(2), (fg[0] - fg[1]) / np.sqrt(2)
    dmu = fp.mean(0) - fg.mean(0)
    expect = dmu @ dmu + a @ a + b @ b - 2 * abs(a @ b)
    assert expect > 0
    assert summary["fid"]["mean"] == pytest.approx(expect, rel=1e-5)
    assert summary["fid"]["n"] == 2 and summary["fid"]["mode"] == "standard"


@pytest.mark.slow
def test_fid_piq_extractor_plumbing(inception):
    from colorbench.metrics.fid import build_inception, inception_features

    torch.manual_seed(1)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        ref = inception(x)[0].flatten(1)
    ours = inception_features(build_inception("piq"), x)  # piq's copy of the same network
    assert ours.shape == (1, 2048)
    assert torch.allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_lpips_equals_lpips_package(tmp_path, monkeypatch):
    import lpips
    from torchvision.models import alexnet

    from colorbench.metrics.lpips_metric import build_lpips, lpips_batch

    torch.manual_seed(0)
    features = {k: v for k, v in alexnet().state_dict().items() if k.startswith("features.")}
    src = tmp_path / "alexnet.pth"
    torch.save(features, src)
    _install(monkeypatch, "alexnet", src)
    torch.manual_seed(0)  # lpips' own random backbone draws the same weights
    ref = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False).eval()
    ours = build_lpips("cpu")
    torch.manual_seed(2)
    a, b = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        expect = ref(a, b, normalize=True).flatten()
    got = lpips_batch(ours, a, b)
    assert torch.allclose(got, expect, atol=1e-6)
    assert torch.allclose(lpips_batch(ours, a, a), torch.zeros(3), atol=1e-7)

    # inside evaluate: each image's value equals lpips called directly on the decoded pair
    from skimage.io import imread

    pred, gt = write_folders(tmp_path / "imgs", 3)
    summary, df = evaluate_lpips(pred, gt)
    assert list(df.columns) == ["image", "lpips"]
    assert summary["lpips"]["n"] == 3

    def tensor(path):
        return torch.from_numpy(imread(path)).permute(2, 0, 1)[None].float() / 255.0

    with torch.no_grad():
        direct = [float(ref(tensor(pred / f"{n}.png"), tensor(gt / f"{n}.png"), normalize=True))
                  for n in df["image"]]  # fmt: skip
    assert df["lpips"].to_numpy() == pytest.approx(direct, abs=1e-6)
    assert summary["lpips"]["mean"] == pytest.approx(np.mean(direct), abs=1e-6)


def evaluate_lpips(pred, gt):
    from colorbench.metrics.evaluate import evaluate

    return evaluate(pred, gt, ["lpips"], num_workers=0, progress=False)


def _save_evaluator(path: Path, classes: list[str], size: int = 32) -> torch.nn.Module:
    from colorbench.metrics.evaluator_net import SmallCNN

    torch.manual_seed(3)
    model = SmallCNN(len(classes), width=8, size=size).eval()
    ckpt = {"arch": "small_cnn", "config": {"width": 8, "size": size},
            "state_dict": model.state_dict(), "classes": classes, "val_acc": None}  # fmt: skip
    torch.save(ckpt, path)
    return model


def test_evaluator_top1_and_frechet(tmp_path):
    from colorbench.metrics.evaluate import evaluate, read_rgb
    from colorbench.metrics.evaluator_net import load_evaluator
    from colorbench.metrics.frechet import frechet_distance

    ckpt = tmp_path / "evaluator.pt"
    model = _save_evaluator(ckpt, ["a", "b", "c"])
    loaded, classes = load_evaluator(ckpt)
    assert classes == ["a", "b", "c"]
    pred, gt = write_folders(tmp_path / "imgs", 6)
    names = sorted(p.stem for p in pred.iterdir())
    labels = {n: "abc"[i % 3] for i, n in enumerate(names)}
    labels[names[-1]] = "zzz"  # a class the evaluator never saw: a miss
    summary, df = evaluate(pred, gt, ["top1", "evaluator_fd"], batch_size=4, num_workers=0,
                           evaluator_path=ckpt, labels=labels, progress=False)  # fmt: skip

    def load(folder):
        ims = [torch.from_numpy(read_rgb(folder / f"{n}.png")).permute(2, 0, 1) for n in names]
        return torch.stack(ims).float() / 255.0

    with torch.no_grad():
        xp, xg = load(pred), load(gt)
        hits = (model(xp).argmax(1).numpy() == [classes.index(labels[n]) if labels[n] in classes
                                                else -1 for n in names])  # fmt: skip
        fp, fg = model.features(xp).double().numpy(), model.features(xg).double().numpy()
    assert df["top1"].tolist() == hits.astype(float).tolist()
    assert summary["top1"]["mean"] == pytest.approx(hits.mean())
    assert summary["top1"]["n_unknown_label"] == 1
    expect = frechet_distance(fp.mean(0), np.cov(fp, rowvar=False), fg.mean(0),
                              np.cov(fg, rowvar=False))  # fmt: skip
    assert summary["evaluator_fd"]["mean"] == pytest.approx(expect, rel=1e-6, abs=1e-9)
    assert "not FID" in summary["evaluator_fd"]["features"]


def test_top1_without_evaluator_needs_imagenet_labels(tmp_path):
    from colorbench.metrics.accuracy import imagenet_index
    from colorbench.metrics.evaluate import evaluate

    assert imagenet_index(["0", "999", "goldfish"]) == {"0": 0, "999": 999, "goldfish": 1}
    assert imagenet_index(["warm", "0"]) is None
    pred, gt = write_folders(tmp_path, 2)
    labels = {"im000": "warm", "im001": "cool"}
    s, _ = evaluate(pred, gt, ["top1", "evaluator_fd"], num_workers=0, labels=labels,
                    progress=False)  # fmt: skip
    assert s["top1"]["available"] is False and "ImageNet" in s["top1"]["reason"]
    assert s["evaluator_fd"]["available"] is False
    s, _ = evaluate(pred, gt, ["top1"], num_workers=0, labels={"im000": "goldfish"}, progress=False)
    assert s["top1"]["available"] is False and "vgg16" in s["top1"]["reason"]  # no weights


@pytest.mark.slow
def test_vgg16_top1_matches_torchvision_vgg16_called_directly(tmp_path, monkeypatch):
    """Top-1 without an evaluator (SCGAN's protocol) on random VGG-16 weights (handed to the
    registry loader: a 528 MB file would cost a minute here); each image's hit equals
    torchvision's vgg16 on the same input (resized to 224 bilinear+antialias, ImageNet
    mean/std written out here)."""
    import torch.nn.functional as F
    from skimage.io import imread
    from torchvision.models import vgg16

    from colorbench.metrics.accuracy import imagenet_classes
    from colorbench.metrics.evaluate import evaluate

    torch.manual_seed(0)
    ref = vgg16(weights=None).eval()
    from colorbench.metrics import _weights

    real = _weights.load_state_dict
    monkeypatch.setattr(
        _weights, "load_state_dict", lambda n: ref.state_dict() if n == "vgg16" else real(n)
    )
    pred, gt = write_folders(tmp_path / "imgs", 4)
    names = sorted(p.stem for p in pred.iterdir())
    x = torch.stack([torch.from_numpy(imread(pred / f"{n}.png")).permute(2, 0, 1) for n in names])
    x = F.interpolate(x.float() / 255.0, size=(224, 224), mode="bilinear", antialias=True)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        predicted = ref((x - mean) / std).argmax(1).tolist()
    classes = imagenet_classes()
    # labels: the reference's class for images 0 and 2 (hits), another class for 1 and 3
    labels = {n: classes[c if i % 2 == 0 else (c + 1) % 1000]
              for i, (n, c) in enumerate(zip(names, predicted, strict=True))}  # fmt: skip
    summary, df = evaluate(pred, gt, ["top1"], num_workers=0, labels=labels, progress=False)
    assert summary["top1"].get("available") is not False, summary["top1"]
    assert df.set_index("image").loc[names, "top1"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert summary["top1"]["mean"] == pytest.approx(0.5)


def test_fid_both_is_one_pass_with_both_formulas(tmp_path, inception, monkeypatch):
    """fid_mode both: the standard network runs once per image, `fid` equals the standard
    run's value and `fid_piq` the piq run's (piq's own network and formula)."""
    from colorbench.metrics import fid as fid_module
    from colorbench.metrics.evaluate import evaluate

    pred, gt = write_folders(tmp_path, 3)
    calls: list[int] = []
    original = fid_module.inception_features

    def counted(net, images):
        calls.append(len(images))
        return original(net, images)

    monkeypatch.setattr(fid_module, "inception_features", counted)

    def run(mode: str) -> dict:
        calls.clear()
        summary, _ = evaluate(pred, gt, ["fid"], batch_size=3, num_workers=0,
                              fid_mode=mode, progress=False)  # fmt: skip
        return summary

    both = run("both")
    assert sum(calls) == 6  # 3 predictions + 3 ground truths, once
    assert both["fid"]["mode"] == "standard" and both["fid_piq"]["mode"] == "piq"
    assert both["fid"]["mean"] == run("standard")["fid"]["mean"]
    assert both["fid_piq"]["mean"] == pytest.approx(run("piq")["fid"]["mean"], rel=1e-4)


@pytest.mark.parametrize(("n1", "n2"), [(10, 7), (90, 70)])  # N ≤ D (N×N path) and N > D
def test_both_formulas_match_pytorch_fid_and_piq(n1: int, n2: int) -> None:
    """On the same features: `fid` = pytorch-fid's calculate_frechet_distance, `fid_piq` =
    piq's FID (piq.FID.compute_metric)."""
    import piq
    from pytorch_fid.fid_score import calculate_frechet_distance

    from colorbench.metrics.fid import fid_from_stats
    from colorbench.metrics.frechet import RunningStats
    from colorbench.metrics.pairing import fid_outputs

    rng = np.random.default_rng(n1)
    dim = 48
    scale = rng.uniform(0.2, 2.0, dim)
    xa = rng.normal(size=(n1, dim)) * scale
    xb = rng.normal(size=(n2, dim)) * scale[::-1] + 0.4
    stats = []
    for x in (xa, xb):
        s = RunningStats(dim)
        for chunk in np.array_split(x, 3):
            s.update(torch.from_numpy(chunk))
        stats.append(s)
    got = {key: fid_from_stats(*stats, mode) for key, mode in fid_outputs("both")}
    ref_std = calculate_frechet_distance(
        xa.mean(0), np.cov(xa, rowvar=False), xb.mean(0), np.cov(xb, rowvar=False)
    )
    ref_piq = float(piq.FID().compute_metric(torch.from_numpy(xa), torch.from_numpy(xb)))
    assert got["fid"] == pytest.approx(ref_std, rel=1e-6)
    assert got["fid_piq"] == pytest.approx(ref_piq, rel=1e-6)
