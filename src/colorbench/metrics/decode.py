"""Decode an image file to HxWx3 uint8 RGB: the one reader of evaluate, report, colorize.

8-bit RGB non-interlaced PNG, the format every colorbench stage writes, takes a short path:
the chunk list is walked here and the IDAT stream handed to Pillow's own PNG decoder
through the public `Image.frombytes(..., "zip", rawmode)`, the decoder `Image.open` ends up
calling: same pixels, without Image.open's per-file Python work. For narrow images (a row
of < 258 bytes, i.e. < 86 px) the stream is first inflated in one call by zlib and handed
to Pillow as a stored (uncompressed) deflate stream: Pillow inflates row by row, and zlib's
fast inflate loop needs >= 258 bytes of output room, so on a 64x64 PNG Pillow's own inflate
runs ~3x slower than one zlib.decompress (measured ~240 -> ~125 us per file).
Everything else (palette, grey, alpha, 16-bit, interlaced, other formats) goes through
Image.open, and so does any PNG the short path cannot read, so a damaged file gets
Pillow's own error message.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError  # noqa: F401  (imported up front: forked workers share it)

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_CHUNK = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")
# zlib's inflate_fast needs this much output room; Pillow gives it one row at a time.
_INFLATE_FAST_MIN = 258
_STORED_MAX = 65535  # bytes per stored deflate block


def _stored_zlib(raw: bytes) -> bytes:
    """`raw` as a zlib stream of stored (uncompressed) deflate blocks, with its Adler-32:
    what zlib.compress(raw, 0) returns, built directly at a third of its cost."""
    parts = [b"\x78\x01"]
    mv = memoryview(raw)
    for start in range(0, max(len(raw), 1), _STORED_MAX):
        block = mv[start : start + _STORED_MAX]
        last = start + _STORED_MAX >= len(raw)
        parts += (struct.pack("<BHH", last, len(block), len(block) ^ 0xFFFF), block)
    parts.append(struct.pack(">I", zlib.adler32(raw)))
    return b"".join(parts)


def _png_rgb8(data: bytes) -> np.ndarray | None:
    """Pixels of an 8-bit RGB non-interlaced PNG, or None for any other file (or one that
    Image.open would treat differently: a bad header checksum, a decompression bomb)."""
    if len(data) < 33 or not data.startswith(_PNG_SIG):
        return None
    length, kind = _CHUNK.unpack_from(data, 8)
    if kind != b"IHDR" or length != 13:
        return None
    w, h, depth, color, compression, filtering, interlace = _IHDR.unpack_from(data, 16)
    if (depth, color, compression, filtering, interlace) != (8, 2, 0, 0, 0) or not w or not h:
        return None
    if Image.MAX_IMAGE_PIXELS and w * h > Image.MAX_IMAGE_PIXELS:
        return None
    idat, pos, end = [], 8, len(data)
    while pos + 12 <= end:
        length, kind = _CHUNK.unpack_from(data, pos)
        if kind == b"IDAT":
            idat.append(data[pos + 8 : pos + 8 + length])
        elif kind == b"IEND":
            break
        elif kind == b"eXIf":  # an orientation tag: Pillow's path applies it
            return None
        elif not idat:  # Image.open checks the chunks before the pixels (not IDAT's)
            (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
            if zlib.crc32(data[pos + 4 : pos + 8 + length]) != crc:
                return None
        pos += 12 + length
    if not idat:
        return None
    stream = b"".join(idat)
    try:
        if 3 * w + 1 < _INFLATE_FAST_MIN:
            stream = _stored_zlib(zlib.decompress(stream))
        im = Image.frombytes("RGB", (w, h), stream, "zip", "RGB")
    except (ValueError, OSError, zlib.error):
        return None  # truncated or corrupt: let Image.open word the error
    return np.frombuffer(im.tobytes(), np.uint8).reshape(h, w, 3)


def _pil_rgb(data: bytes, path: str | os.PathLike = "") -> np.ndarray:
    from colorbench.data.decode import to_rgb

    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:  # Pillow would name the BytesIO object, not the file
        raise UnidentifiedImageError(f"cannot identify image file {str(path)!r}") from None
    with im:
        if im.mode == "RGB" and not im.getexif():
            return np.asarray(im)
        with contextlib.suppress(Exception):  # broken EXIF: keep the pixels as stored
            im = ImageOps.exif_transpose(im)
        return np.asarray(to_rgb(im))


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """HxWx3 uint8 RGB of an image file (read-only array), decoded as prepare decodes
    (`colorbench.data.decode.to_rgb`: every PIL mode, 16-bit scaled, alpha on white, EXIF
    orientation applied); a mode it cannot convert raises `Rejected` ("unsupported mode"),
    other Pillow errors pass through."""
    with open(path, "rb") as f:
        data = f.read()
    out = _png_rgb8(data)
    return out if out is not None else _pil_rgb(data, path)


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """HxW uint8 grey of an image file (a saliency map); 8-bit grey PNG is read as is,
    anything else decoded by `read_rgb` and converted with PIL's ITU-R 601 luma."""
    with Image.open(path) as im:
        if im.mode == "L" and "transparency" not in im.info:
            return np.asarray(im)
    rgb = read_rgb(path)
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all():
        return rgb[..., 0]
    return np.asarray(Image.fromarray(rgb).convert("L"))
