"""Fréchet distance between Gaussians fitted to feature sets, from streamed statistics.

d² = |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2·tr sqrt(Σ1^{1/2} Σ2 Σ1^{1/2})

tr sqrt(Σ1 Σ2) is the sum of square roots of the eigenvalues of the symmetric PSD matrix
Rᵀ Σ2 R with R Rᵀ = Σ1 (same spectrum as Σ1 Σ2), in float64: no complex parts to discard, no
iterative square root, and 0 (to rounding) for identical sets. R is the Cholesky factor when
Σ1 is positive definite (cheap), else Σ1^{1/2} from an eigendecomposition (rank-deficient
covariances, N ≤ D). Agrees with pytorch-fid's scipy.linalg.sqrtm formula (tested).
"""

from __future__ import annotations

import numpy as np
import torch


class RunningStats:
    """Mean and covariance of a stream of D-dim feature batches, memory O(D²), float64.

    Sums are taken around a shift (the first batch's mean) so the covariance does not suffer
    the cancellation of E[xxᵀ] − μμᵀ when features have a large mean. While N ≤ D the
    (shifted) rows are kept too — no more memory than the D×D sum — so small sets get an exact
    Fréchet distance from N×N matrices instead of D×D eigendecompositions.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.n = 0
        self._shift: torch.Tensor | None = None
        self._sum = torch.zeros(dim, dtype=torch.float64)
        self._outer = torch.zeros(dim, dim, dtype=torch.float64)
        self._rows: list[torch.Tensor] | None = []

    def update(self, feats: torch.Tensor) -> None:
        x = feats.detach().reshape(len(feats), -1).to("cpu", torch.float64)
        if x.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim}-dim features, got {x.shape[1]}")
        if len(x) == 0:
            return
        if self._shift is None:
            self._shift = x.mean(0)
        x = x - self._shift
        self.n += len(x)
        self._sum += x.sum(0)
        self._outer += x.T @ x
        if self._rows is not None:
            self._rows.append(x)
            if self.n > self.dim:
                self._rows = None

    def centered_rows(self) -> np.ndarray | None:
        """The N×D centred features while N ≤ D, else None."""
        if self._rows is None or self.n == 0:
            return None
        x = torch.cat(self._rows)
        return (x - x.mean(0)).numpy()

    @property
    def mean(self) -> np.ndarray:
        self._check(1)
        return (self._shift + self._sum / self.n).numpy()

    @property
    def cov(self) -> np.ndarray:
        """Sample covariance (N − 1), as numpy.cov / pytorch-fid / piq."""
        self._check(2)
        m = self._sum / self.n
        cov = (self._outer - self.n * torch.outer(m, m)) / (self.n - 1)
        return ((cov + cov.T) / 2).numpy()

    def _check(self, need: int) -> None:
        if self.n < need:
            raise ValueError(f"need at least {need} feature vectors, have {self.n}")

    def state(self) -> dict:
        return {"mean": self.mean, "cov": self.cov, "n": self.n}


def _sqrt_psd(mat: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(mat)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError("feature statistics have different dimensions")
    try:
        r = np.linalg.cholesky(s1)
    except np.linalg.LinAlgError:
        r = _sqrt_psd(s1)
    inner = r.T @ s2 @ r
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu1 - mu2
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(d, 0.0)  # rounding can leave -1e-13 on identical sets; d² is never negative


def _frechet_small(a: RunningStats, b: RunningStats, xa: np.ndarray, xb: np.ndarray) -> float:
    """Exact for N ≤ D: with Σ1 = XaᵀXa/(n1−1), Σ2 = XbᵀXb/(n2−1), the non-zero eigenvalues of
    Σ1Σ2 are the squared singular values of XaXbᵀ/√((n1−1)(n2−1)), so tr sqrt(Σ1Σ2) is the
    nuclear norm of that N1×N2 matrix."""
    na, nb = a.n - 1, b.n - 1
    tr_covmean = float(np.linalg.svd(xa @ xb.T, compute_uv=False).sum()) / np.sqrt(na * nb)
    diff = a.mean - b.mean
    d = float(diff @ diff + (xa * xa).sum() / na + (xb * xb).sum() / nb - 2.0 * tr_covmean)
    return max(d, 0.0)


def frechet_from_stats(a: RunningStats, b: RunningStats) -> float:
    xa, xb = a.centered_rows(), b.centered_rows()
    if xa is not None and xb is not None and a.n > 1 and b.n > 1:
        return _frechet_small(a, b, xa, xb)
    return frechet_distance(a.mean, a.cov, b.mean, b.cov)
