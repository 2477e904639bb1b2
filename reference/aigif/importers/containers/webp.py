"""WebP (RIFF): ``EXIF`` (with or without the ``Exif\\0\\0`` prefix) and ``XMP `` chunks; size from ``VP8X``/``VP8L``/``VP8 ``."""
from __future__ import annotations

import struct

from ..errors import E_IMPORT_MALFORMED, ImportFailure
from . import exif
from .base import Budget, RawMetadata, TextItem


def is_webp(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def read(data: bytes, budget: Budget) -> RawMetadata:
    meta = RawMetadata("WEBP")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        raise ImportFailure(E_IMPORT_MALFORMED, "WebP RIFF size runs past the end of the file (truncated)")
    if end < len(data):
        meta.notes.append(f"{len(data) - end} bytes after the WebP RIFF chunk ignored")
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise ImportFailure(E_IMPORT_MALFORMED, f"WebP truncated inside a chunk header at byte {pos}")
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        body_end = pos + 8 + size
        if body_end > end:
            raise ImportFailure(E_IMPORT_MALFORMED, f"WebP chunk {fourcc!r} at byte {pos} runs past the end of the file")
        body = data[pos + 8:body_end]
        if fourcc == b"VP8X" and size >= 10:
            meta.image_size = (1 + int.from_bytes(body[4:7], "little"), 1 + int.from_bytes(body[7:10], "little"))
        elif fourcc == b"VP8L" and size >= 5 and body[0] == 0x2F and meta.image_size is None:
            bits = int.from_bytes(body[1:5], "little")
            meta.image_size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        elif fourcc == b"VP8 " and size >= 10 and meta.image_size is None and body[3:6] == b"\x9d\x01\x2a":
            w, h = struct.unpack_from("<HH", body, 6)
            meta.image_size = (w & 0x3FFF, h & 0x3FFF)
        elif fourcc == b"EXIF":
            exif.read_tiff(body, "webp:exif", meta, budget)
        elif fourcc == b"XMP ":
            budget.take(len(body), "WebP XMP")
            meta.items.append(TextItem("XMP", body.decode("utf-8", errors="replace"), "webp:XMP"))
        pos = body_end + (size & 1)  # RIFF chunks are padded to an even size
    return meta
