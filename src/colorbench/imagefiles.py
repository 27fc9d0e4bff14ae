"""Which files are images, in one place: the extension list used where images are picked
by name (archive extraction, pairing predictions with ground truth); decoding is
colorbench.metrics.decode.read_rgb. Standard library only: cheap to import anywhere."""

from __future__ import annotations

import os

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def is_image_name(name: str | os.PathLike) -> bool:
    """True when the file name ends in an image extension (any case)."""
    return os.path.splitext(os.fspath(name))[1].lower() in IMAGE_EXTS
