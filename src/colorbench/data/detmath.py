"""Transcendental functions that give the same bits on every x86 CPU and numpy build.

numpy dispatches `exp`, `sin`, `cos`, `power` and `arctan2` to SIMD kernels chosen per CPU
(AVX-512 vs AVX2 vs baseline), and those kernels differ in the last bits. A pixel whose
value sits on a rounding boundary then flips by one level, which is how the synthetic
dataset moved by 3 PNG bytes between an AVX-512 and an AVX2 machine.

Here every per-pixel function is a table lookup with linear interpolation. The tables are
built once from Python's scalar `math` (no SIMD dispatch) and read with IEEE basic
operations only (+, -, *, /, floor, truncation), which are exactly rounded on every CPU, so
the result is a pure function of the input bits. Tables have 2^14 intervals: the
interpolation error (< 1e-7 for sin/cos, < 4e-8 for exp) is far below one 8-bit level.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

_N = 1 << 14


class _Table:
    """f on [lo, hi] sampled at _N + 1 points; periodic tables wrap instead of clamping."""

    def __init__(self, fn: Callable[[float], float], lo: float, hi: float, periodic: bool):
        self.lo, self.step, self.periodic = lo, (hi - lo) / _N, periodic
        self.values = np.array([fn(lo + (hi - lo) * i / _N) for i in range(_N + 1)], np.float64)

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        t = (np.asarray(x, dtype=np.float64) - self.lo) / self.step
        t = t - np.floor(t / _N) * _N if self.periodic else np.clip(t, 0.0, float(_N))
        i = np.minimum(t.astype(np.int64), _N - 1)
        v = self.values
        return (v[i] + (v[i + 1] - v[i]) * (t - i)).astype(np.float32)


@functools.cache
def _sin_table() -> _Table:
    return _Table(math.sin, 0.0, 2 * math.pi, periodic=True)


@functools.cache
def _exp_table() -> _Table:
    return _Table(lambda z: math.exp(-z), 0.0, 20.0, periodic=False)


@functools.cache
def _pow_table(p: float) -> _Table:
    return _Table(lambda t: t**p, 0.0, 1.0, periodic=False)


def sin(x: np.ndarray | float) -> np.ndarray:
    return _sin_table()(x)


def cos(x: np.ndarray | float) -> np.ndarray:
    return _sin_table()(np.asarray(x, dtype=np.float64) + math.pi / 2)


def exp_neg(z: np.ndarray | float) -> np.ndarray:
    """exp(-z) for z >= 0 (clamped at z = 20, where exp(-z) ~ 2e-9)."""
    return _exp_table()(z)


def pow_unit(t: np.ndarray, p: float) -> np.ndarray:
    """t**p for t in [0, 1] (clamped) and a fixed exponent p > 0."""
    return _pow_table(float(p))(t)


def gamma_u8(x: np.ndarray, gamma: float) -> np.ndarray:
    """round(255 * clip(x, 0, 1) ** gamma) as uint8, through a 12-bit integer domain."""
    lut = np.array([round(255 * (k / 4095) ** gamma) for k in range(4096)], np.uint8)
    q = np.round(np.clip(np.asarray(x, dtype=np.float32), 0, 1) * np.float32(4095))
    return lut[q.astype(np.int64)]
