"""The embedded synthetic dataset: procedural outdoor scenes whose colours can be learned
from luminance, shape and texture, with COCO-format instance annotations.

Every scene is a function of (seed, kind, index) only, so the dataset is byte-identical
across runs and across any number of worker processes. Layout of the output directory:

    images/syn_000001.png       scenes with 1-4 objects (RGB, size x size)
    instances.json              COCO: images (+ scene_label), annotations (RLE of the
                                visible part of each object), categories
    labels.csv                  file_name,label  (image-level scene label)
    background/bg_000001.png    object-free scenes (the stand-in for Places)
    background_labels.csv       file_name,label  for the background scenes

Colour cues a colorizer can learn: blue-sky gradients (deep at the zenith, pale at the
horizon) against sunset skies (dark at the top, a bright glow at the horizon), grass as
vertical high-frequency streaks, water as horizontal ripple stripes, sand as speckle, and
six object categories whose shape and texture fix their hue family.
"""

from __future__ import annotations

import colorsys
import csv
import functools
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorbench.atomic import atomic_dir
from colorbench.data import detmath as dm
from colorbench.errors import ColorbenchError

SCENES = ("meadow", "beach", "lake", "desert", "sunset", "forest")

# (id, name, hue family in degrees): the hue is what a colorizer should infer from the
# shape/texture; saturation and value vary per instance.
CATEGORIES = (
    (1, "ball", 0.0),
    (2, "box", 30.0),
    (3, "flower", 52.0),
    (4, "leaf", 95.0),
    (5, "car", 185.0),
    (6, "tent", 285.0),
)

MIN_SIZE = 16
MAX_SIZE = 4096  # a procedural scene larger than this is a typo, not a dataset
SATURATION = (0.16, 0.28, 0.95)  # triangular (low, mode, high) chroma scale per scene
MAX_OCCLUSION = 0.5  # a new object may hide at most this share of an earlier one's visible part
_KIND_MAIN, _KIND_BACKGROUND = 0, 1

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
def _grid(size: int) -> _Grid:
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


def _background(g: _Grid, rng: np.random.Generator, scene: str) -> Array:
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


_DRAW: dict[str, Callable[[np.random.Generator, int, float], tuple[Array, Array]]] = {
    "ball": _ball,
    "box": _box,
    "flower": _flower,
    "leaf": _leaf,
    "car": _car,
    "tent": _tent,
}


# --------------------------------------------------------------------------- one scene


@dataclass
class Scene:
    image: Array  # (S, S, 3) uint8
    label: str
    instances: Array  # (S, S) int16: 0 background, k = k-th placed object (visible part)
    categories: list[int]  # category id of object k at index k-1
    placements: list[tuple[int, int, Array]]  # (y0, x0, full shape mask) of object k, in order


def render(seed: int, index: int, size: int, with_objects: bool = True) -> Scene:
    """One scene, a pure function of its arguments."""
    kind = _KIND_MAIN if with_objects else _KIND_BACKGROUND
    rng = np.random.default_rng([int(seed), kind, int(index)])
    g = _grid(size)
    label = SCENES[int(rng.integers(len(SCENES)))]
    img = _background(g, rng, label).astype(np.float32)
    inst = np.zeros((size, size), np.int16)
    cats: list[int] = []
    placements: list[tuple[int, int, Array]] = []
    if with_objects:
        visible: list[int] = []
        for _ in range(int(rng.integers(1, 5))):
            cat_id, name, hue = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            side = max(4, round(size * rng.uniform(0.15, 0.45)))
            mask, rgb = _DRAW[name](rng, side, hue)
            mh, mw = mask.shape
            for _try in range(10):
                y0 = int(rng.integers(0, size - mh + 1))
                x0 = int(rng.integers(0, size - mw + 1))
                window = inst[y0 : y0 + mh, x0 : x0 + mw]
                hidden = np.bincount(window[mask], minlength=len(visible) + 1)[1:]
                if all(h <= MAX_OCCLUSION * v for h, v in zip(hidden, visible, strict=True)):
                    break
            else:
                continue  # no placement keeps the earlier objects visible enough
            k = len(cats) + 1
            window[mask] = k
            img[y0 : y0 + mh, x0 : x0 + mw][mask] = rgb[mask]
            visible = [v - int(h) for v, h in zip(visible, hidden, strict=True)] + [int(mask.sum())]
            cats.append(cat_id)
            placements.append((y0, x0, mask))
    # Global saturation: the palette above is vivid (colourfulness M ~ 82, "highly colourful"
    # on Hasler & Suesstrunk's scale); scaling chroma about the luma per scene spreads M over
    # the range natural photographs cover (mode ~30, a share inside SCGAN's 16-20 band).
    luma = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    img = luma[..., None] + (img - luma[..., None]) * rng.triangular(*SATURATION)
    # Global lighting: exposure and gamma change luminance but keep hue.
    exposure = rng.uniform(0.75, 1.15)
    out = dm.gamma_u8(img * exposure, rng.uniform(0.8, 1.25))
    return Scene(out, label, inst, cats, placements)


def _annotations(scene: Scene) -> list[dict]:
    from pycocotools import mask as mask_utils

    anns = []
    for k, cat in enumerate(scene.categories, start=1):
        m = scene.instances == k
        area = int(m.sum())
        if area == 0:  # cannot happen with MAX_OCCLUSION < 1; never emit an empty mask
            continue
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        anns.append(
            {
                "category_id": cat,
                "bbox": [
                    int(cols[0]),
                    int(rows[0]),
                    int(cols[-1] - cols[0] + 1),
                    int(rows[-1] - rows[0] + 1),
                ],
                "area": area,
                "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode()},
                "iscrowd": 0,
            }
        )
    return anns


def _job(task: tuple[str, int], out_dir: str, seed: int, size: int) -> dict:
    """Render, write the PNG, return the metadata record (runs in worker processes)."""
    kind, index = task
    scene = render(seed, index, size, with_objects=kind == "main")
    if kind == "main":
        name = f"images/syn_{index + 1:06d}.png"
    else:
        name = f"background/bg_{index + 1:06d}.png"
    Image.fromarray(scene.image, "RGB").save(os.path.join(out_dir, name), format="PNG")
    rec = {"file_name": os.path.basename(name), "label": scene.label, "index": index}
    if kind == "main":
        rec["annotations"] = _annotations(scene)
    return rec


def _run_jobs(tasks: list[tuple[str, int]], fn: Callable, workers: int) -> Iterator[dict]:
    from tqdm import tqdm

    bar = dict(total=len(tasks), desc="synth", unit="img", leave=False, mininterval=1.0)
    if workers <= 1 or len(tasks) < 2 * workers:
        yield from tqdm(map(fn, tasks), **bar)
        return
    from colorbench.interrupts import quiet_worker

    with ProcessPoolExecutor(max_workers=workers, initializer=quiet_worker) as pool:
        chunk = max(1, min(64, len(tasks) // (workers * 8)))
        yield from tqdm(pool.map(fn, tasks, chunksize=chunk), **bar)


def _write_csv(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name", "label"])
        w.writerows(rows)


def generate(
    out_dir: Path, n: int, size: int, seed: int, n_background: int = 0, workers: int = 1
) -> dict:
    """Write the synthetic dataset to `out_dir` atomically; returns counts.

    The files depend only on (n, size, seed, n_background): `workers` changes speed only.
    """
    n, size, n_background, seed = int(n), int(size), int(n_background), int(seed)
    if n < 0 or n_background < 0 or n + n_background == 0:
        raise ColorbenchError(
            f"synthetic: need n >= 0, n_background >= 0 and at least one image "
            f"(got n={n}, n_background={n_background})"
        )
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ColorbenchError(
            f"synthetic: size must be between {MIN_SIZE} and {MAX_SIZE} px (got {size})"
        )
    workers = (os.cpu_count() or 1) if workers <= 0 else workers
    tasks = [("main", i) for i in range(n)] + [("background", i) for i in range(n_background)]

    with atomic_dir(out_dir) as tmp:
        (tmp / "images").mkdir()
        (tmp / "background").mkdir()
        fn = functools.partial(_job, out_dir=str(tmp), seed=seed, size=size)
        records = list(_run_jobs(tasks, fn, workers))
        main, back = records[:n], records[n:]

        images, annotations = [], []
        for rec in main:
            image_id = rec["index"] + 1
            images.append(
                {
                    "id": image_id,
                    "file_name": rec["file_name"],
                    "width": size,
                    "height": size,
                    "scene_label": rec["label"],
                }
            )
            for ann in rec["annotations"]:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
        coco = {
            "info": {
                "description": "colorbench synthetic scenes",
                "version": "1",
                "seed": seed,
                "size": size,
            },
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": [
                {"id": cid, "name": name, "supercategory": "object"} for cid, name, _ in CATEGORIES
            ],
            "scene_labels": list(SCENES),
        }
        with open(tmp / "instances.json", "w") as fh:
            json.dump(coco, fh, separators=(",", ":"))
        _write_csv(tmp / "labels.csv", ((r["file_name"], r["label"]) for r in main))
        _write_csv(tmp / "background_labels.csv", ((r["file_name"], r["label"]) for r in back))

    return {
        "images": n,
        "background": n_background,
        "annotations": len(annotations),
        "categories": len(CATEGORIES),
        "scene_labels": len(SCENES),
    }
