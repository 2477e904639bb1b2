"""JPEG: the segments before the image data (SOS): ``APP1`` Exif, ``APP1`` XMP, ``COM``; SOF for the size."""
from __future__ import annotations

import struct

from ..errors import E_IMPORT_MALFORMED, ImportFailure
from . import exif
from .base import Budget, RawMetadata, TextItem, utf8_or_latin1

SIGNATURE = b"\xff\xd8\xff"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def read(data: bytes, budget: Budget) -> RawMetadata:
    meta = RawMetadata("JPEG")
    n = len(data)
    pos = 2
    exif_done = False
    while True:
        if pos >= n:
            raise ImportFailure(E_IMPORT_MALFORMED, "JPEG ends before the image data (truncated)")
        if data[pos] != 0xFF:
            raise ImportFailure(E_IMPORT_MALFORMED, f"JPEG: expected a marker at byte {pos}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise ImportFailure(E_IMPORT_MALFORMED, "JPEG ends inside a marker (truncated)")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI before SOS: no image data
            raise ImportFailure(E_IMPORT_MALFORMED, "JPEG has no image data (EOI before SOS)")
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length
            continue
        if pos + 2 > n:
            raise ImportFailure(E_IMPORT_MALFORMED, "JPEG ends inside a segment length (truncated)")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > n:
            raise ImportFailure(E_IMPORT_MALFORMED,
                                f"JPEG segment 0xFF{marker:02X} at byte {pos - 2} runs past the end of the file")
        seg = data[pos + 2:pos + length]
        if marker == 0xDA:  # SOS: metadata comes before it
            return meta
        if marker in _SOF_MARKERS:
            if len(seg) < 5:
                raise ImportFailure(E_IMPORT_MALFORMED, "JPEG SOF segment too short")
            h, w = struct.unpack_from(">HH", seg, 1)
            meta.image_size = (w, h)
        elif marker == 0xE1 and seg.startswith(b"Exif\x00\x00") and not exif_done:
            exif_done = True
            exif.read_tiff(seg[6:], "jpeg:exif", meta, budget)
        elif marker == 0xE1 and seg.startswith(XMP_HEADER):
            raw = seg[len(XMP_HEADER):]
            budget.take(len(raw), "JPEG XMP")
            meta.items.append(TextItem("XMP", raw.decode("utf-8", errors="replace"), "jpeg:XMP"))
        elif marker == 0xFE:
            budget.take(len(seg), "JPEG COM")
            text = utf8_or_latin1(seg).rstrip("\x00")
            if text.strip():
                meta.items.append(TextItem("COM", text, "jpeg:COM"))
        pos += length
