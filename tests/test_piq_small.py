"""piq-mode FID in N×N arithmetic equals piq's own D×D Newton–Schulz `_compute_fid`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from piq.fid import _compute_fid

from colorbench.metrics.fid import fid_from_stats
from colorbench.metrics.frechet import RunningStats


def _stats(feats: np.ndarray) -> RunningStats:
    s = RunningStats(feats.shape[1])
    for chunk in np.array_split(feats, 3):  # streamed in batches, as evaluate does
        s.update(torch.from_numpy(chunk))
    return s


def _piq(a: RunningStats, b: RunningStats) -> float:
    t = torch.from_numpy
    return float(_compute_fid(t(a.mean), t(a.cov), t(b.mean), t(b.cov)))


@pytest.mark.parametrize(
    ("dim", "n1", "n2", "shift"),
    [(64, 8, 8, 0.0), (128, 10, 6, 0.3), (256, 8, 12, 2.0), (48, 60, 40, 0.5)],
)
def test_piq_mode_matches_piq(dim: int, n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(dim + n1)
    scale = rng.uniform(0.1, 2.0, size=dim)
    a = _stats(rng.normal(size=(n1, dim)) * scale)
    b = _stats(rng.normal(size=(n2, dim)) * scale[::-1] + shift)
    assert fid_from_stats(a, b, "piq") == pytest.approx(_piq(a, b), rel=1e-9)


def test_piq_mode_on_nearly_identical_sets() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 64))
    a, b = _stats(x), _stats(x + 1e-3 * rng.normal(size=x.shape))
    assert fid_from_stats(a, b, "piq") == pytest.approx(_piq(a, b), rel=1e-6, abs=1e-9)
