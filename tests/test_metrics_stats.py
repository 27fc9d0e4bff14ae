"""Bootstrap intervals and paired tests."""

from __future__ import annotations

import numpy as np
import pytest

from colorbench.metrics.stats import bootstrap_ci, paired_test, summarize


def test_bootstrap_contains_mean_shrinks_with_n_and_is_seeded():
    rng = np.random.default_rng(0)
    widths = []
    for n in (20, 200, 2000):
        v = rng.normal(5.0, 2.0, n)
        lo, hi = bootstrap_ci(v, 1000, seed=1)
        assert lo < v.mean() < hi
        widths.append(hi - lo)
        # ~ 2·1.96·σ/√n
        assert hi - lo == pytest.approx(2 * 1.96 * 2.0 / np.sqrt(n), rel=0.35)
    assert widths[0] > widths[1] > widths[2]
    v = rng.normal(size=50)
    assert bootstrap_ci(v, 500, seed=3) == bootstrap_ci(v, 500, seed=3)
    assert bootstrap_ci(v, 500, seed=3) != bootstrap_ci(v, 500, seed=4)
    assert bootstrap_ci(v[:1], 500) is None


def test_summarize_counts_undefined_and_infinite():
    s = summarize(np.array([1.0, 2.0, np.nan, np.inf, 3.0]), 200)
    assert s["mean"] == pytest.approx(2.0) and s["n"] == 3
    assert s["std"] == pytest.approx(1.0)
    assert s["n_undefined"] == 1 and s["n_inf"] == 1
    empty = summarize(np.array([np.nan, np.nan]), 200)
    assert empty["mean"] is None and empty["available"] is False


def test_paired_test_detects_shift_not_null():
    rng = np.random.default_rng(1)
    base = rng.normal(20, 3, 150)
    shifted = base + 0.5 + rng.normal(0, 0.5, 150)
    r = paired_test(shifted, base, 500)
    assert r["test"] == "wilcoxon" and r["p_value"] < 1e-6
    assert r["mean_diff"] == pytest.approx(0.5, abs=0.15)
    assert r["ci95"][0] < r["mean_diff"] < r["ci95"][1] and r["ci95"][0] > 0
    null = base + rng.normal(0, 0.5, 150)
    assert paired_test(null, base, 500)["p_value"] > 0.01
    same = paired_test(base, base, 100)
    assert same["p_value"] == 1.0 and same["mean_diff"] == 0.0


def test_paired_test_tiny_n_uses_exact_permutation():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    r = paired_test(a + 1.0, a, 100)
    assert r["test"] == "permutation"
    # all 5 differences positive: only the all-plus and all-minus sign patterns are as extreme
    assert r["p_value"] == pytest.approx(2 / 32)
    r = paired_test(a + np.array([0.1, -0.1, 0.2, -0.2, 0.0]), a, 100)
    assert r["p_value"] > 0.5
    nan = paired_test(np.array([np.nan, 1.0]), np.array([1.0, np.nan]))
    assert nan["n"] == 0 and nan["p_value"] is None
    with pytest.raises(ValueError):
        paired_test(np.ones(3), np.ones(4))
