"""Decode one image file into an upright 8-bit RGB PIL image, or say why it cannot be kept.

Every failure is a `Rejected` with a short category (the part before ':' in the reason),
so prepare can count rejects by kind and never loses a file silently.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 8  # px; smaller images carry no usable structure for a colorizer
WHITE = (255, 255, 255, 255)  # transparent pixels are composited on white (what viewers show)
_ALPHA_MODES = {"RGBA", "LA", "PA", "La", "RGBa"}


class Rejected(Exception):
    """A file that prepare does not keep; `reason` goes into rejects.csv."""

    def __init__(self, category: str, detail: str = "") -> None:
        self.category = category
        self.detail = " ".join(detail.split())  # one line, whatever the library said
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return f"{self.category}: {self.detail}" if self.detail else self.category


def open_upright(
    path: str | Path, max_pixels: int, draft_size: int | None = None
) -> tuple[Image.Image, int, int]:
    """Decode `path` fully, EXIF orientation applied; returns (RGB image, width, height).

    width/height are the upright full-resolution size (what a viewer shows), even when
    `draft_size` lets the JPEG decoder scale down by 2/4/8 in the DCT domain: it only does
    so while both sides stay >= draft_size, so a later resize to draft_size loses nothing.
    """
    path = Path(path)
    try:
        nbytes = path.stat().st_size
    except OSError as exc:
        raise Rejected("unreadable", exc.strerror or str(exc)) from None
    if nbytes == 0:
        raise Rejected("empty file")

    saved_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice that: treat both alike.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # open() only parses the header; our own size check then gives a clear reason,
            # and PIL's guard stays armed (at max_pixels) for everything that decodes.
            Image.MAX_IMAGE_PIXELS = None
            im = _open(path)
            Image.MAX_IMAGE_PIXELS = max_pixels
            with im:
                return _decode(im, max_pixels, draft_size)
    finally:
        Image.MAX_IMAGE_PIXELS = saved_limit


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("decompression bomb", str(exc)) from None
    except UnidentifiedImageError:
        raise Rejected("not an image", "no image format recognised") from None
    except OSError as exc:
        if exc.errno is not None:  # the file system refused (permissions, I/O error)
            raise Rejected("unreadable", exc.strerror or str(exc)) from None
        raise Rejected("corrupt or truncated", str(exc)) from None  # PIL: header cut short
    except Exception as exc:  # PIL plugins raise many types on malformed headers
        raise Rejected("corrupt or truncated", f"{type(exc).__name__}: {exc}") from None


def _decode(
    im: Image.Image, max_pixels: int, draft_size: int | None
) -> tuple[Image.Image, int, int]:
    w, h = im.size
    if w * h > max_pixels:
        raise Rejected("decompression bomb", f"{w}x{h} = {w * h} pixels > max_pixels {max_pixels}")
    if min(w, h) < MIN_SIDE:
        raise Rejected("too small", f"{w}x{h} px, minimum side {MIN_SIDE} px")
    if draft_size and im.format == "JPEG":
        im.draft(im.mode, (draft_size, draft_size))
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("decompression bomb", str(exc)) from None
    except Exception as exc:  # truncated data, bad CRC, broken streams...
        raise Rejected("corrupt or truncated", f"{type(exc).__name__}: {exc}") from None
    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block is metadata damage: keep the pixels as stored
        upright = im
    if upright.size != im.size:  # orientations 5-8 swap width and height
        w, h = h, w
    return to_rgb(upright), w, h


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB: alpha composited on white, 16/32-bit scaled (not clipped).
    A mode Pillow cannot convert raises `Rejected("unsupported mode", ...)`."""
    try:
        return _to_rgb(im)
    except Rejected:
        raise
    except Exception as exc:
        raise Rejected("unsupported mode", f"{im.mode}: {exc}") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode in ("L", "P", "RGB") and "transparency" in im.info:
        mode = "RGBA"  # tRNS chunk: a palette or colour key marks transparent pixels
        im = im.convert("RGBA")
    if mode == "La":  # premultiplied alpha: Pillow converts it only to LA
        mode, im = "LA", im.convert("LA")
    if mode == "RGB":
        return im
    if mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(im))).convert("RGB")
    return im.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV, ...


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """High bit-depth grey levels -> uint8 by their nominal range.

    uint16 (and int/float data within 0..65535) is 16-bit: v * 255 / 65535, rounded.
    float data within 0..1 is scaled by 255. Anything else (negative or larger values)
    is stretched min..max, since it has no nominal range.
    """
    a = arr.astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if arr.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        scaled = a * 255.0
    elif lo >= 0.0 and hi <= 65535.0:
        scaled = a * (255.0 / 65535.0)
    else:
        scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
