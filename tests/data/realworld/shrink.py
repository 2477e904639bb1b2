"""Shrink a real image for the corpus: its pixels become an 8x8 grey image, its metadata stays byte for byte.

    python tests/data/realworld/shrink.py SRC DEST

* PNG: ``IHDR`` becomes 8x8 8-bit RGB (RGBA if the original had alpha) and the image data one ``IDAT``
  of value-128 rows (deflate level 9);
  every other chunk (``tEXt``/``zTXt``/``iTXt``, ``eXIf``, ...) is kept in its place and order. Chunks
  that describe the old pixels (``PLTE``, ``tRNS``, ``sBIT``, ``bKGD``, ``hIST``, APNG frames) go.
* JPEG: the APPn and COM segments before the scan are kept in order; the tables, frame and scan
  after them are those of an 8x8 grey JPEG (Pillow, quality 50, 4:2:0).
* WebP: the image chunks (``VP8 ``/``VP8L``/``ALPH``/``ANIM``/``ANMF``) become one 8x8 grey lossless
  ``VP8L``; ``VP8X`` (if any) gets an 8x8 canvas and loses its alpha and animation flags; ``EXIF``,
  ``XMP `` and ``ICCP`` are kept byte for byte.

Metadata that lives in the pixels (stealth PNG info) does not survive: such files are not shrunk.
"""
from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

GREY = 128
PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_PIXEL_CHUNKS = {b"PLTE", b"tRNS", b"sBIT", b"bKGD", b"hIST", b"acTL", b"fcTL", b"fdAT"}


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def shrink_png(data: bytes) -> bytes:
    assert data.startswith(PNG_SIG), "not a PNG"
    out, pos, idat_done = [PNG_SIG], 8, False
    while pos + 8 <= len(data):
        n, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        raw = data[pos:pos + 12 + n]
        pos += 12 + n
        if ctype == b"IHDR":
            colour = 6 if data[pos - 12 - n + 17] in (4, 6) else 2     # keep an alpha channel, if any
            out.append(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, colour, 0, 0, 0)))
        elif ctype == b"IDAT":
            if not idat_done:
                rows = b"".join(b"\x00" + bytes([GREY]) * (32 if colour == 6 else 24) for _ in range(8))
                out.append(_png_chunk(b"IDAT", zlib.compress(rows, 9)))
                idat_done = True
        elif ctype not in PNG_PIXEL_CHUNKS:
            out.append(raw)
        if ctype == b"IEND":
            break
    return b"".join(out)


def _grey_jpeg_tail() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (GREY,) * 3).save(buf, "JPEG", quality=50, subsampling=2)
    jpg = buf.getvalue()
    return jpg[jpg.index(b"\xff\xdb"):]


def shrink_jpeg(data: bytes) -> bytes:
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out, pos = [b"\xff\xd8"], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xDA, 0xD9):
            break
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            out.append(data[pos:pos + 2 + n])
        pos += 2 + n
    return b"".join(out) + _grey_jpeg_tail()


def _grey_vp8l() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (GREY,) * 3).save(buf, "WEBP", lossless=True)
    webp = buf.getvalue()
    assert webp[12:16] == b"VP8L"
    return webp[12:]


def shrink_webp(data: bytes) -> bytes:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", "not a WebP"
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        ctype, n = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((ctype, data[pos:pos + 8 + n + (n & 1)]))
        pos += 8 + n + (n & 1)
    body, image_done = [], False
    for ctype, raw in chunks:
        if ctype == b"VP8X":
            flags = raw[8] & ~0x12                     # no alpha (0x10), no animation (0x02)
            body.append(b"VP8X" + struct.pack("<I", 10) + bytes([flags]) + raw[9:12]
                        + (7).to_bytes(3, "little") + (7).to_bytes(3, "little"))
        elif ctype in (b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"):
            if not image_done:
                body.append(_grey_vp8l())
                image_done = True
        else:
            body.append(raw)
    payload = b"WEBP" + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def shrink(data: bytes) -> bytes:
    if data.startswith(PNG_SIG):
        return shrink_png(data)
    if data[:2] == b"\xff\xd8":
        return shrink_jpeg(data)
    if data[:4] == b"RIFF":
        return shrink_webp(data)
    raise ValueError("not a PNG, JPEG or WebP")


def main(argv: list[str]) -> int:
    src, dest = Path(argv[0]), Path(argv[1])
    dest.write_bytes(shrink(src.read_bytes()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
