"""FID feature extractors: TF-FID InceptionV3 2048-d pool features, two protocols.

- `standard`: pytorch-fid's InceptionV3 (block 3, resize_input, normalize_input) with the
  TF-FID weights (pt_inception-2015-12-05) and the Fréchet distance of `frechet.py`
  (eigenvalues, float64): the numbers pytorch-fid / torch-fidelity give.
- `piq`: ParaColorizer's protocol: piq's InceptionV3 and piq's FID formula, whose
  Newton–Schulz iterative matrix square root stops at a tolerance and is known to bias FID
  upwards; kept only to reproduce that paper's numbers. Report which mode (and N).
- `both`: piq's InceptionV3 is pytorch-fid's (same layers, weights, 299-px bilinear resize
  and [-1, 1] scaling; a test checks equal features), so one pass of the standard network
  feeds both formulas: `fid` (standard) and `fid_piq`.

Both libraries would download their weights; here the one file comes from the weights
registry (`inception_fid`) and is handed to the library's own loading code, so a test that
places random weights in the registry exercises exactly the production path.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from types import ModuleType

import torch

from colorbench.metrics import _weights
from colorbench.metrics.frechet import RunningStats, frechet_from_stats
from colorbench.metrics.pairing import FID_MODES

FID_DIM = 2048
_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _weights_from_registry(module: ModuleType, state: dict) -> Iterator[None]:
    """Make `module.load_state_dict_from_url` return the registry's file instead of fetching."""
    with _PATCH_LOCK:
        original = module.load_state_dict_from_url
        module.load_state_dict_from_url = lambda *args, **kwargs: state
        try:
            yield
        finally:
            module.load_state_dict_from_url = original


def build_inception(mode: str = "standard", device: torch.device | str = "cpu") -> torch.nn.Module:
    """The FID InceptionV3 of `mode`, eval, on `device`; input Bx3xHxW RGB in [0, 1]."""
    if mode not in FID_MODES:
        raise ValueError(f"unknown fid mode {mode!r}; use one of {FID_MODES}")
    state = _weights.load_state_dict("inception_fid")
    if mode in ("standard", "both"):
        from pytorch_fid import inception as lib

        with _weights_from_registry(lib, state):
            net = lib.InceptionV3([3], resize_input=True, normalize_input=True)
    else:
        from piq.feature_extractors import fid_inception as lib

        # piq builds torchvision's inception_v3 with the deprecated `pretrained=False`
        with _weights_from_registry(lib, state), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            net = lib.InceptionV3([3], resize_input=True, normalize_input=True)
    return net.eval().to(device)


@torch.no_grad()
def inception_features(net: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW float RGB in [0, 1] -> Bx2048 pool features."""
    return net(images)[0].flatten(1)


def fid_from_stats(pred: RunningStats, gt: RunningStats, mode: str = "standard") -> float:
    """FID between two streamed feature sets under `mode`'s formula."""
    if mode == "standard":
        return frechet_from_stats(pred, gt)
    if mode == "piq":
        from piq.fid import _compute_fid

        xa, xb = pred.centered_rows(), gt.centered_rows()
        if xa is not None and xb is not None and pred.n > 1 and gt.n > 1:
            from colorbench.metrics.piq_small import piq_fid_small

            small = piq_fid_small(pred.mean, xa, pred.n - 1, gt.mean, xb, gt.n - 1)
            if small is not None:  # piq's iteration in N×N matrices (N ≤ D), same result
                return small

        # piq.FID.compute_metric fits the same float64 mean/(N−1)-covariance and calls this.
        mu1, s1 = torch.from_numpy(pred.mean), torch.from_numpy(pred.cov)
        mu2, s2 = torch.from_numpy(gt.mean), torch.from_numpy(gt.cov)
        return float(_compute_fid(mu1, s1, mu2, s2))
    raise ValueError(f"unknown fid mode {mode!r}; use one of {FID_MODES}")
