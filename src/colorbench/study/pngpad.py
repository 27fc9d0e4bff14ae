"""Equal file sizes for a study's images, so that a participant watching the network (or
saving the images) cannot tell a photo from a colorization by its compressed size: real
photos carry more colour detail and compress worse.

Each PNG gets one private ancillary chunk of zero bytes before IEND (type `paDd`: ancillary,
private, safe to copy), which decoders skip; the pixels are untouched.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

CHUNK_TYPE = b"paDd"
_OVERHEAD = 12  # length + type + CRC
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def pad_chunk(n_data: int) -> bytes:
    data = bytes(n_data)
    crc = zlib.crc32(CHUNK_TYPE + data) & 0xFFFFFFFF
    return struct.pack(">I", n_data) + CHUNK_TYPE + data + struct.pack(">I", crc)


def pad_pngs(paths: list[Path]) -> int:
    """Pad every PNG in `paths` (each ending in IEND, as PIL writes them) to one common size;
    returns that size."""
    sizes = {p: p.stat().st_size for p in paths}
    target = max(sizes.values(), default=0) + _OVERHEAD
    for path, size in sizes.items():
        raw = path.read_bytes()
        if not raw.endswith(_IEND):
            raise ValueError(f"{path} does not end with a PNG IEND chunk")
        padded = raw[: -len(_IEND)] + pad_chunk(target - size - _OVERHEAD) + _IEND
        path.write_bytes(padded)
    return target
