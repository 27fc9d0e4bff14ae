"""The synthetic scenes' painting: sky, ground and water textures per scene label, and the six
object shapes whose form and texture fix their hue family (used by colorbench.data.synthetic;
every random draw comes from the caller's generator, so a scene stays a pure function of its
seed)."""

from __future__ import annotations

import colorsys
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from colorbench.data import detmath as dm

Array = np.ndarray


# --------------------------------------------------------------------------- helpers


def _hsv(h_deg: float, s: float, v: float) -> Array:
    return np.array(colorsys.hsv_to_rgb((h_deg % 360.0) / 360.0, s, v), dtype=np.float32)


def _lerp(c0: Array, c1: Array, t: Array) -> Array:
    """Per-pixel blend of two colours: t (...,) in [0, 1] -> (..., 3)."""
    return c0 + (c1 - c0) * t[..., None]


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> Array:
    """Smooth noise in [0, 1]: a random (cells+1)^2 lattice, bilinearly interpolated."""
    g = rng.random((cells + 1, cells + 1), dtype=np.float32)

    def axis(n: int) -> tuple[Array, Array]:
        t = np.linspace(0.0, cells, n, dtype=np.float32)
        i0 = np.minimum(t.astype(np.int64), cells - 1)
        return i0, t - i0

    iy, fy = axis(h)
    ix, fx = axis(w)
    rows = g[iy] * (1 - fy)[:, None] + g[iy + 1] * fy[:, None]  # (h, cells+1)
    return rows[:, ix] * (1 - fx)[None, :] + rows[:, ix + 1] * fx[None, :]


@dataclass(frozen=True)
class _Grid:
    size: int
    y: Array  # (S, 1) row centres in [0, 1)
    x: Array  # (1, S) column centres in [0, 1)


@functools.lru_cache(maxsize=8)
def grid(size: int) -> _Grid:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return _Grid(size, c[:, None], c[None, :])


def _boundary(g: _Grid, rng: np.random.Generator, level: float, amp: float, freq: float) -> Array:
    """Boolean (S, S) mask of the pixels below a wavy horizontal line."""
    phase = rng.uniform(0, 2 * np.pi)
    line = level + amp * dm.sin(2 * np.pi * freq * g.x + phase)
    return np.broadcast_to(g.y >= line, (g.size, g.size))


# --------------------------------------------------------------------------- backgrounds


def _blue_sky(g: _Grid, rng: np.random.Generator, horizon: float) -> Array:
    zenith = _hsv(rng.uniform(210, 225), rng.uniform(0.55, 0.75), rng.uniform(0.75, 0.9))
    low = _hsv(rng.uniform(195, 210), rng.uniform(0.12, 0.3), rng.uniform(0.92, 1.0))
    t = dm.pow_unit(g.y / max(horizon, 1e-3), 0.8)
    img = _lerp(zenith, low, np.broadcast_to(t, (g.size, g.size)))
    for _ in range(int(rng.integers(0, 4))):  # soft white clouds
        cy, cx = rng.uniform(0.05, 0.8) * horizon, rng.uniform(0, 1)
        sy, sx = rng.uniform(0.03, 0.07), rng.uniform(0.08, 0.2)
        a = 0.85 * dm.exp_neg(((g.y - cy) / sy) ** 2 + ((g.x - cx) / sx) ** 2)
        img = img + (1.0 - img) * a[..., None]
    return img


def _sunset_sky(g: _Grid, rng: np.random.Generator, horizon: float) -> Array:
    top = _hsv(rng.uniform(250, 275), rng.uniform(0.4, 0.6), rng.uniform(0.25, 0.4))
    mid = _hsv(rng.uniform(10, 25), rng.uniform(0.75, 0.9), rng.uniform(0.8, 0.9))
    low = _hsv(rng.uniform(38, 50), rng.uniform(0.6, 0.8), 1.0)
    t = np.broadcast_to(np.clip(g.y / max(horizon, 1e-3), 0, 1), (g.size, g.size))
    img = np.where((t < 0.6)[..., None], _lerp(top, mid, t / 0.6), _lerp(mid, low, (t - 0.6) / 0.4))
    cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.06, 0.12)
    d = np.sqrt((g.y - horizon) ** 2 + (g.x - cx) ** 2) / r
    sun = np.clip(1.5 - d, 0, 1)  # disc with a soft rim
    return img + (_hsv(50, 0.3, 1.0) - img) * sun[..., None]


def _hazy_sky(g: _Grid, rng: np.random.Generator, horizon: float) -> Array:
    top = _hsv(rng.uniform(195, 210), rng.uniform(0.25, 0.4), rng.uniform(0.85, 0.95))
    low = _hsv(rng.uniform(35, 45), rng.uniform(0.08, 0.18), rng.uniform(0.95, 1.0))
    t = np.clip(g.y / max(horizon, 1e-3), 0, 1)
    return _lerp(top, low, np.broadcast_to(t, (g.size, g.size)))


def _grass(g: _Grid, rng: np.random.Generator) -> Array:
    s = g.size
    light = _hsv(rng.uniform(95, 115), rng.uniform(0.55, 0.75), rng.uniform(0.65, 0.8))
    dark = _hsv(rng.uniform(105, 125), rng.uniform(0.7, 0.9), rng.uniform(0.25, 0.4))
    blade = max(2, s // 24)  # vertical streaks: blades
    streak = np.repeat(rng.random((s // blade + 1, s), dtype=np.float32), blade, axis=0)[:s]
    fine = rng.random((s, s), dtype=np.float32)
    t = np.clip(0.55 * streak + 0.3 * fine + 0.3 * _value_noise(rng, s, s, 4) - 0.1, 0, 1)
    return _lerp(dark, light, t)


def _water(g: _Grid, rng: np.random.Generator, tint: tuple[Array, Array] | None = None) -> Array:
    dark, light = tint or (
        _hsv(rng.uniform(205, 220), rng.uniform(0.7, 0.85), rng.uniform(0.35, 0.5)),
        _hsv(rng.uniform(190, 200), rng.uniform(0.4, 0.55), rng.uniform(0.75, 0.9)),
    )
    k = rng.uniform(0.5, 0.9) * g.size  # ripple stripes, horizontal, a little wavy
    wob = rng.uniform(1.5, 3.0) * dm.sin(
        2 * np.pi * rng.uniform(1.5, 3.5) * g.x + rng.uniform(0, 6)
    )
    t = 0.5 + 0.5 * dm.sin(g.y * k + wob + rng.uniform(0, 2 * np.pi))
    return _lerp(dark, light, np.broadcast_to(t.astype(np.float32), (g.size, g.size)))


def _sand(g: _Grid, rng: np.random.Generator, dunes: bool = False) -> Array:
    s = g.size
    base = _hsv(rng.uniform(36, 44), rng.uniform(0.3, 0.42), rng.uniform(0.82, 0.92))
    dark = _hsv(rng.uniform(30, 38), rng.uniform(0.45, 0.55), rng.uniform(0.5, 0.6))
    speck = rng.random((s, s), dtype=np.float32)
    t = 0.15 * _value_noise(rng, s, s, 3) + np.where(speck > 0.9, 0.6, 0.08 * speck)
    if dunes:  # broad shading bands from the dune slopes
        ph = rng.uniform(0, 2 * np.pi)
        t = t + 0.25 * (0.5 + 0.5 * dm.sin(2 * np.pi * 2.5 * (g.y + 0.3 * g.x) + ph))
    return _lerp(base, dark, np.clip(t, 0, 1))


def _canopy(g: _Grid, rng: np.random.Generator) -> Array:
    s = g.size
    dark = _hsv(rng.uniform(120, 135), rng.uniform(0.6, 0.8), rng.uniform(0.15, 0.25))
    light = _hsv(rng.uniform(95, 110), rng.uniform(0.55, 0.7), rng.uniform(0.45, 0.6))
    t = 0.7 * _value_noise(rng, s, s, max(4, s // 8)) + 0.3 * rng.random((s, s), dtype=np.float32)
    return _lerp(dark, light, t)


def _paint(img: Array, mask: Array, layer: Array) -> Array:
    return np.where(mask[..., None], layer, img)


def background(g: _Grid, rng: np.random.Generator, scene: str) -> Array:
    s = g.size
    if scene == "meadow":
        h = rng.uniform(0.3, 0.5)
        img = _blue_sky(g, rng, h)
        return _paint(img, _boundary(g, rng, h, 0.03, rng.uniform(0.5, 1.5)), _grass(g, rng))
    if scene == "beach":
        h = rng.uniform(0.25, 0.4)
        img = _blue_sky(g, rng, h)
        img = _paint(img, np.broadcast_to(g.y >= h, (s, s)), _water(g, rng))
        shore = _boundary(g, rng, h + rng.uniform(0.15, 0.25), 0.03, rng.uniform(1, 2.5))
        return _paint(img, shore, _sand(g, rng))
    if scene == "lake":
        h = rng.uniform(0.22, 0.35)
        img = _blue_sky(g, rng, h)
        hills = _boundary(g, rng, h - 0.08, 0.04, rng.uniform(0.7, 1.8))
        img = _paint(img, hills, _canopy(g, rng))
        img = _paint(img, np.broadcast_to(g.y >= h, (s, s)), _water(g, rng))
        return _paint(img, _boundary(g, rng, rng.uniform(0.82, 0.9), 0.03, 1.0), _grass(g, rng))
    if scene == "desert":
        h = rng.uniform(0.25, 0.45)
        img = _hazy_sky(g, rng, h)
        return _paint(img, _boundary(g, rng, h, 0.06, rng.uniform(0.6, 1.4)), _sand(g, rng, True))
    if scene == "sunset":
        h = rng.uniform(0.4, 0.6)
        img = _sunset_sky(g, rng, h)
        tint = (
            _hsv(rng.uniform(235, 255), rng.uniform(0.4, 0.6), rng.uniform(0.2, 0.3)),
            _hsv(rng.uniform(18, 30), rng.uniform(0.6, 0.8), rng.uniform(0.75, 0.9)),
        )
        return _paint(img, np.broadcast_to(g.y >= h, (s, s)), _water(g, rng, tint))
    if scene == "forest":
        h = rng.uniform(0.08, 0.2)
        img = _blue_sky(g, rng, h)
        img = _paint(img, _boundary(g, rng, h, 0.04, rng.uniform(1.5, 3)), _canopy(g, rng))
        ground = rng.uniform(0.6, 0.75)
        trunk_col = _hsv(rng.uniform(20, 30), rng.uniform(0.5, 0.7), rng.uniform(0.25, 0.35))
        for _ in range(int(rng.integers(3, 7))):
            cx, w = rng.uniform(0, 1), rng.uniform(0.02, 0.05)
            top = rng.uniform(h + 0.1, ground - 0.1)
            trunk = (np.abs(g.x - cx) < w) & (g.y >= top) & (g.y < ground + 0.02)
            shade = 0.75 + 0.25 * np.broadcast_to(dm.cos((g.x - cx) / w * 1.5), (s, s))
            img = _paint(img, trunk, trunk_col * shade[..., None])
        return _paint(img, _boundary(g, rng, ground, 0.02, 1.0), _grass(g, rng))
    raise ValueError(f"unknown scene {scene!r}")


# --------------------------------------------------------------------------- objects
# Each draws into a local (h, w) box and returns (mask, rgb).


def _local(h: int, w: int) -> tuple[Array, Array]:
    """Pixel-centre coordinates relative to the box centre, in pixels."""
    v = np.arange(h, dtype=np.float32)[:, None] + 0.5 - h / 2
    u = np.arange(w, dtype=np.float32)[None, :] + 0.5 - w / 2
    return v, u


def _ball(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    v, u = _local(s, s)
    r = s / 2
    d2 = (u * u + v * v) / (r * r)
    mask = d2 <= 1.0
    base = _hsv(hue + rng.uniform(-8, 8), rng.uniform(0.75, 0.95), rng.uniform(0.75, 0.95))
    shade = 0.45 + 0.55 * np.sqrt(np.clip(1 - d2, 0, 1))
    hl = dm.exp_neg(((u + 0.35 * r) ** 2 + (v + 0.35 * r) ** 2) / (0.28 * r) ** 2)
    rgb = base * shade[..., None]
    return mask, rgb + (1 - rgb) * (0.8 * hl)[..., None]


def _box(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    v, u = _local(s, s)
    base = _hsv(hue + rng.uniform(-6, 6), rng.uniform(0.55, 0.75), rng.uniform(0.6, 0.8))
    border = max(1.0, 0.08 * s)
    edge = (np.abs(u) > s / 2 - border) | (np.abs(v) > s / 2 - border)
    tape = np.abs(v) < max(1.0, 0.08 * s)
    shade = np.where(edge, 0.55, np.where(tape, 1.25, 1.0)).astype(np.float32)
    shade = shade * (1.0 - 0.15 * (u + v) / s)  # light from the top left
    return np.ones((s, s), bool), np.clip(base * shade[..., None], 0, 1)


def _flower(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    v, u = _local(s, s)
    big_r = s / 2
    r = np.sqrt(u * u + v * v)
    # |cos(2.5 (angle - phi))| = sqrt((1 + cos 5x) / 2) with cos 5x = T5(cos x), and
    # cos x = (u cos phi + v sin phi) / r: basic arithmetic only (see detmath).
    phi = rng.uniform(0, np.pi)
    c = np.where(r > 0, (u * math.cos(phi) + v * math.sin(phi)) / np.maximum(r, 1e-6), 1.0)
    cos5 = c * (5 + c * c * (-20 + 16 * c * c))
    edge = big_r * (0.5 + 0.5 * np.sqrt(np.clip((1 + cos5) / 2, 0, 1)))
    mask = r <= edge
    petal = _hsv(hue + rng.uniform(-6, 6), rng.uniform(0.75, 0.95), rng.uniform(0.85, 1.0))
    centre = _hsv(25, 0.8, rng.uniform(0.3, 0.4))
    t = np.clip(r / np.maximum(edge, 1e-3), 0, 1)
    rgb = petal * (0.7 + 0.3 * t)[..., None]
    return mask, np.where((r < 0.22 * big_r)[..., None], centre, rgb)


def _leaf(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    v, u = _local(s, s)
    a = s / 2
    b = a * rng.uniform(0.35, 0.5)
    th = rng.uniform(0, np.pi)
    p = u * math.cos(th) + v * math.sin(th)
    q = -u * math.sin(th) + v * math.cos(th)
    mask = (p / a) ** 2 + (q / b) ** 2 <= 1.0
    dark = _hsv(hue + rng.uniform(-6, 6), rng.uniform(0.7, 0.85), rng.uniform(0.35, 0.45))
    light = _hsv(hue - 10 + rng.uniform(-6, 6), rng.uniform(0.55, 0.7), rng.uniform(0.75, 0.85))
    veins = 0.5 + 0.5 * dm.sin((p + 1.2 * np.abs(q)) * (2 * np.pi / max(3.0, 0.25 * a)))
    t = 0.35 + 0.4 * veins
    t = np.where(np.abs(q) < max(0.7, 0.06 * a), 1.0, t)  # the midrib
    return mask, _lerp(dark, light, t.astype(np.float32))


def _car(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    h = max(4, round(0.6 * s))
    y = np.arange(h, dtype=np.float32)[:, None] + 0.5
    x = np.arange(s, dtype=np.float32)[None, :] + 0.5
    body = (y >= 0.38 * h) & (y < 0.82 * h) & (x >= 0.02 * s) & (x < 0.98 * s)
    slope = (0.38 * h - y) * 0.5
    cabin = (y >= 0.06 * h) & (y < 0.38 * h) & (x >= 0.22 * s + slope) & (x < 0.78 * s - slope)
    win = cabin & (y >= 0.12 * h) & (x >= 0.27 * s + slope) & (x < 0.73 * s - slope)
    wr = 0.15 * h + 0.5
    wheel = np.zeros((h, s), bool)
    hub = np.zeros((h, s), bool)
    for cx in (0.25 * s, 0.75 * s):
        d2 = (x - cx) ** 2 + (y - 0.8 * h) ** 2
        wheel |= d2 <= wr * wr
        hub |= d2 <= (0.45 * wr) ** 2
    paint = _hsv(hue + rng.uniform(-8, 8), rng.uniform(0.65, 0.85), rng.uniform(0.65, 0.85))
    shade = np.broadcast_to(1.1 - 0.35 * y / h, (h, s))
    rgb = paint * shade[..., None]
    rgb = np.where(win[..., None], _hsv(200, 0.15, 0.85), rgb)
    rgb = np.where(wheel[..., None], _hsv(0, 0.0, 0.12), rgb)
    rgb = np.where(hub[..., None], _hsv(0, 0.0, 0.6), rgb)
    return body | cabin | wheel, np.clip(rgb, 0, 1)


def _tent(rng: np.random.Generator, s: int, hue: float) -> tuple[Array, Array]:
    y = np.arange(s, dtype=np.float32)[:, None] + 0.5
    x = np.arange(s, dtype=np.float32)[None, :] + 0.5 - s / 2
    mask = np.abs(x) <= y / 2
    door = np.abs(x) <= (y - 0.6 * s) / 2
    base = _hsv(hue + rng.uniform(-8, 8), rng.uniform(0.5, 0.7), rng.uniform(0.7, 0.85))
    shade = np.where(x < 0, 1.0, 0.7).astype(np.float32)  # sunlit left face, shaded right
    rgb = base * np.broadcast_to(shade, (s, s))[..., None]
    return mask, np.where(door[..., None], base * 0.25, rgb)


DRAW: dict[str, Callable[[np.random.Generator, int, float], tuple[Array, Array]]] = {
    "ball": _ball,
    "box": _box,
    "flower": _flower,
    "leaf": _leaf,
    "car": _car,
    "tent": _tent,
}
