"""piq's FID (ParaColorizer's protocol) for sets of N ≤ D features, in N×N arithmetic.

piq takes sqrt(Σ1Σ2) by up to 100 Newton–Schulz iterations on D×D matrices (D = 2048): four
2048³ products per iteration, minutes per method on a CPU. With Σ1 = XaᵀXa/(n1−1) and
Σ2 = XbᵀXb/(n2−1) (centred rows), A = Σ1Σ2 = P·Q with P = Xaᵀ (D×N1) and
Q = XaXbᵀXb/((n1−1)(n2−1)) (N1×D). Every matrix the iteration forms is a polynomial in A,
hence αI + P·M·Q for a scalar α and an N1×N1 M; products, traces and Frobenius norms of
such matrices need only N1×N1 products (G = QP, PᵀP, QQᵀ). So this runs piq's exact
iteration — same starting point, same update, same stopping rule — in small matrices,
and agrees with piq's own `_compute_fid` to rounding (tested).
"""

from __future__ import annotations

import numpy as np

Rep = tuple[float, np.ndarray]  # alpha, M:  alpha·I + P·M·Q


def piq_fid_small(
    mu1: np.ndarray, xa: np.ndarray, na: int, mu2: np.ndarray, xb: np.ndarray, nb: int,
    num_iters: int = 100, atol: float = 1e-5,
) -> float | None:  # fmt: skip
    """piq's FID from centred rows xa (N1×D, covariance divisor na) and xb; None when piq
    would fall back to its regularised retry (a non-finite square root)."""
    dim = xa.shape[1]
    c = xa @ xb.T
    g = c @ c.T / (na * nb)  # Q·P
    ptp = xa @ xa.T
    qqt = c @ (xb @ xb.T) @ c.T / (na * nb) ** 2

    def mul(x: Rep, y: Rep) -> Rep:
        return x[0] * y[0], x[0] * y[1] + y[0] * x[1] + x[1] @ g @ y[1]

    def trace(x: Rep) -> float:
        return x[0] * dim + float(np.sum(x[1] * g.T))

    def fro(x: Rep) -> float:
        a, m = x
        sq = a * a * dim + 2 * a * float(np.sum(m * g.T)) + float(np.sum((m.T @ ptp @ m) * qqt.T))
        return float(np.sqrt(max(sq, 0.0)))

    eye = np.eye(len(xa))
    a_mat: Rep = (0.0, eye)
    norm = fro(a_mat)
    y: Rep = (0.0, eye / norm)
    z: Rep = (1.0, np.zeros_like(eye))
    s: Rep = y
    for _ in range(num_iters):
        zy = mul(z, y)
        t: Rep = (0.5 * (3.0 - zy[0]), -0.5 * zy[1])
        y, z = mul(y, t), mul(t, z)
        s = (y[0] * np.sqrt(norm), y[1] * np.sqrt(norm))
        ss = mul(s, s)
        if fro((a_mat[0] - ss[0], a_mat[1] - ss[1])) / norm <= atol:
            break
    if not (np.isfinite(s[0]) and np.isfinite(s[1]).all()):
        return None
    diff = mu1 - mu2
    tr1, tr2 = float((xa * xa).sum()) / na, float((xb * xb).sum()) / nb
    return float(diff @ diff + tr1 + tr2 - 2.0 * trace(s))
