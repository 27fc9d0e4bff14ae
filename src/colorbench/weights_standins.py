"""Stand-in weights: randomly initialised files for every registry entry, built with the same
constructors the real files are loaded into, plus a manifest selecting them.

They let a cluster set-up or CI run every stage of a pretrained profile before (or without)
downloading real weights: shapes and keys are the real ones, so every strict load succeeds;
the numbers they give are meaningless, and reports made with them say so at the top.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import torch

from colorbench.weights import REGISTRY, entry, file_digest
from colorbench.weights_manifest import write_manifest

MANIFEST = "manifest.yaml"


@contextlib.contextmanager
def _patched(module: ModuleType, **attrs: object) -> Iterator[None]:
    old = {k: getattr(module, k) for k in attrs}
    for k, v in attrs.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


def _fid_inception() -> torch.nn.Module:
    """pytorch-fid's own `fid_inception_v3()` (the TF-FID layout), with its weight download
    answered by the freshly built network's own random state."""
    from pytorch_fid import inception as lib

    built: list[torch.nn.Module] = []
    original = lib._inception_v3

    def build(*args: object, **kwargs: object) -> torch.nn.Module:
        built.append(original(*args, **kwargs))
        return built[-1]

    def state(*_args: object, **_kwargs: object) -> dict:
        return built[-1].state_dict()

    with _patched(lib, _inception_v3=build, load_state_dict_from_url=state):
        return lib.fid_inception_v3()


def _maskrcnn() -> torch.nn.Module:
    from colorbench.detect.maskrcnn import build_model

    return build_model()  # torchvision's MaskRCNN in the COCO_V1 layout (frozen BN)


def _u2netp() -> torch.nn.Module:
    from colorbench.saliency.u2net import U2NETP

    return U2NETP()


def _torchvision(name: str) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import torchvision.models

        return getattr(torchvision.models, name)(weights=None)

    return build


BUILDERS: dict[str, Callable[[], torch.nn.Module]] = {
    "resnet18": _torchvision("resnet18"),
    "vgg16": _torchvision("vgg16"),
    "alexnet": _torchvision("alexnet"),
    "maskrcnn_resnet50_fpn": _maskrcnn,
    "inception_fid": _fid_inception,
    "u2netp": _u2netp,
}
# Input shapes for BatchNorm calibration: with running statistics left at (0, 1), a deep
# random network's activations vanish (the TF-FID Inception's pool features come out ~1e-9,
# every FID 0), so the stand-in would not exercise what follows it. Half the nominal sides
# (224, 299, 320): a random network's per-channel statistics barely depend on the image
# size, and a quarter of the pixels makes `weights stand-ins` 3x faster on a CPU.
CALIBRATE: dict[str, tuple[int, ...]] = {
    "resnet18": (4, 3, 112, 112),
    "inception_fid": (4, 3, 150, 150),
    "u2netp": (2, 3, 160, 160),
}


@torch.no_grad()
def calibrate_batchnorm(net: torch.nn.Module, shape: tuple[int, ...], batches: int = 2) -> None:
    """Set every BatchNorm's running mean/variance to its exact average over random normal
    inputs of `shape` (cumulative, momentum None), so eval-mode activations keep their scale."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    for _ in range(batches):
        net(torch.randn(shape))
    for m in bns:
        m.momentum = 0.1
    net.eval()


def make_stand_ins(
    out_dir: str | os.PathLike,
    names: list[str] | None = None,
    *,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Path:
    """Write DIR/<registry file name> for each name (default: all) and DIR/manifest.yaml
    ({name: {path, sha256, stand_in: true}}); returns the manifest's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = names or list(REGISTRY)
    entries = {}
    for name in todo:
        e = entry(name)
        torch.manual_seed(seed)
        net = BUILDERS[name]()
        if name in CALIBRATE:
            calibrate_batchnorm(net, CALIBRATE[name])
        path = out / e.file
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        torch.save(net.state_dict(), tmp)
        os.replace(tmp, path)
        entries[name] = {"path": e.file, "sha256": file_digest(path), "stand_in": True}
        log(f"{name}: stand-in {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    manifest = out / MANIFEST
    write_manifest(manifest, entries)
    log(f"select them with: export COLORBENCH_WEIGHTS_MANIFEST={manifest.resolve()}")
    return manifest
