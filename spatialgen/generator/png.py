"""A minimal PNG encoder: no per-row filter search, zlib level 1.

Pillow's encoder tries PNG's five row filters on every row, which costs more than drawing a scene. Flat
synthetic images compress well without filters, so writing the standard chunks directly is about 3x
faster than Pillow at level 1 and gives smaller files; any PNG reader (Pillow, browsers, datasets)
decodes them bit-exactly (tested).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(img: Image.Image, level: int = 1) -> bytes:
    """An 8-bit RGB PNG of ``img``."""
    a = np.asarray(img.convert("RGB") if img.mode != "RGB" else img)
    h, w, _ = a.shape
    raw = np.zeros((h, w * 3 + 1), np.uint8)  # column 0: filter type 0 (None) for every row
    raw[:, 1:] = a.reshape(h, w * 3)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
