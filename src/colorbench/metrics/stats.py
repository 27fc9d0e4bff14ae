"""Set-level statistics: mean, std, percentile-bootstrap 95% intervals, paired tests.

Bootstraps resample images (rows) with a seeded generator in chunks, so memory stays
O(chunk·N) whatever the number of resamples.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import numpy as np

_CHUNK = 100


def bootstrap_many(
    stats: Mapping[str, Callable[[np.ndarray], np.ndarray]], n: int, n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """`stat(idx)` of every entry for the same n_boot resamples of n rows; idx is a
    (chunk, n) index matrix. One index draw serves all statistics (the draws cost more
    than a mean), and each result equals a pass of its own with the same (n, seed)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in stats}
    for start in range(0, n_boot, _CHUNK):
        idx = rng.integers(0, n, size=(min(_CHUNK, n_boot - start), n))
        for k, stat in stats.items():
            out[k].append(stat(idx))
    return {k: np.concatenate(v) for k, v in out.items()}


def _bootstrap_stats(
    n: int, stat: Callable[[np.ndarray], np.ndarray], n_boot: int, seed: int
) -> np.ndarray:
    """`stat(idx)` for n_boot resamples; idx is a (chunk, n) index matrix."""
    return bootstrap_many({"stat": stat}, n, n_boot, seed)["stat"]


def _interval(samples: np.ndarray) -> list[float]:
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return [float(lo), float(hi)]


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> list[float] | None:
    """Percentile bootstrap 95% interval of the mean (None with < 2 values or n_boot 0)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 or n_boot <= 0:
        return None
    return _interval(_bootstrap_stats(len(v), lambda idx: v[idx].mean(1), n_boot, seed))


def summarize(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, boot: np.ndarray | None = None
) -> dict:
    """{"mean", "std" (ddof 1), "ci95", "n"} over the finite values; NaN (undefined, e.g.
    CNI of a colourless image, or an unlabelled image for Top-1) and ±inf (PSNR of an exact
    copy) are left out and counted in "n_undefined" / "n_inf". `boot`: the bootstrap means
    of the finite values when already drawn (`bootstrap_many`)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    out: dict = {
        "mean": float(finite.mean()) if len(finite) else None,
        "std": float(finite.std(ddof=1)) if len(finite) > 1 else None,
        "ci95": _interval(boot) if boot is not None else bootstrap_ci(finite, n_boot, seed),
        "n": int(len(finite)),
    }
    if np.isnan(v).any():
        out["n_undefined"] = int(np.isnan(v).sum())
    if np.isinf(v).any():
        out["n_inf"] = int(np.isinf(v).sum())
    if not len(finite):
        reason = (
            "every value is infinite (e.g. PSNR of images identical to the ground truth)"
            if np.isinf(v).any()
            else "no image has a defined value (e.g. CNI of colourless images)"
        )
        out.update(available=False, reason=reason)
    return out


def summarize_set(
    value: float,
    stat: Callable[[np.ndarray], np.ndarray] | None,
    n: int,
    n_boot: int,
    seed: int,
    boot: np.ndarray | None = None,
) -> dict:
    """A set-level metric: its value, n, and a bootstrap interval when `stat(idx)` (the
    metric recomputed on resampled image indices) is given, or its samples `boot`."""
    if boot is None and stat is not None and n > 1 and n_boot > 0:
        boot = _bootstrap_stats(n, stat, n_boot, seed)
    ci = _interval(boot) if boot is not None else None
    return {"mean": float(value), "ci95": ci, "n": int(n)}


def unavailable(reason: str) -> dict:
    return {"mean": None, "available": False, "reason": reason}


def _sign_flip_p(d: np.ndarray, n_perm: int, seed: int) -> float:
    """Two-sided paired permutation test of mean(d) = 0 by flipping signs: exact
    enumeration up to 2^16 patterns, seeded Monte Carlo beyond."""
    n = len(d)
    observed = abs(d.mean())
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), size=(n_perm, n))
    stats = np.abs((signs * d).mean(1))
    # the observed pattern counts itself (Monte Carlo p never 0)
    extra = 0 if n <= 16 else 1
    return float((np.sum(stats >= observed - 1e-12) + extra) / (len(stats) + extra))


def paired_test(
    a: np.ndarray,
    b: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    min_wilcoxon: int = 10,
    n_perm: int = 10000,
) -> dict:
    """Paired comparison of per-image values a (method) vs b (baseline) on the same images.

    mean_diff = mean(a − b) with a bootstrap 95% interval; p from the two-sided Wilcoxon
    signed-rank test, or from a sign-flip permutation test when fewer than `min_wilcoxon`
    pairs differ (Wilcoxon's normal approximation and its exact table are poor there).
    Pairs with a non-finite value on either side are dropped.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    out: dict = {"mean_diff": None, "ci95": None, "p_value": None, "test": "wilcoxon", "n": len(d)}
    if not len(d):
        return out
    out["mean_diff"] = float(d.mean())
    out["ci95"] = bootstrap_ci(d, n_boot, seed)
    nonzero = d[d != 0]
    if not len(nonzero):
        out["p_value"] = 1.0
    elif len(nonzero) < min_wilcoxon:
        out.update(p_value=_sign_flip_p(d, n_perm, seed), test="permutation")
    else:
        from scipy.stats import wilcoxon

        p = float(wilcoxon(d).pvalue)
        out["p_value"] = p if math.isfinite(p) else None
    return out
