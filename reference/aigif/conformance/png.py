"""A small, strict PNG reader for the regen level: 8-bit RGB (or opaque
RGBA), non-interlaced, every chunk CRC checked, sizes checked before any
pixel is inflated. Pure Python, so the runner needs neither Pillow nor numpy.
"""
from __future__ import annotations

import os
import stat
import struct
import zlib

from .. import png
from ..png import SIGNATURE, chunk

MAX_SIDE = 16384


class PNGError(ValueError):
    pass


class SizeMismatch(PNGError):
    """A valid header with another width and height than expected."""


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> bytearray:
    stride = width * bpp
    out = bytearray(stride * height)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 0:
            pass
        elif ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                if i >= bpp:
                    line[i] = (line[i] + _paeth(line[i - bpp], prev[i], prev[i - bpp])) & 0xFF
                else:
                    line[i] = (line[i] + prev[i]) & 0xFF
        else:
            raise PNGError(f"row {y}: unknown filter type {ftype}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return out


def max_png_bytes(width: int, height: int) -> int:
    """The most bytes a PNG of this size is allowed (CONTRACT.md §2.8): twice its
    unfiltered RGBA data plus 1 MiB of chunks; stored DEFLATE needs 1.0001 times."""
    return 2 * height * (1 + width * 4) + (1 << 20)


def read_png_file(path: str, expect: tuple[int, int]) -> tuple[int, int, bytes]:
    """:func:`read_png` of a decoder's OUT.png, with every read bounded: a
    regular file (not a link, FIFO or device), no larger than
    :func:`max_png_bytes` of the expected size, its IHDR size compared with
    ``expect`` before anything else is read or inflated."""
    cap = max_png_bytes(*expect)
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise PNGError("not a regular file (a link, FIFO, device or directory)")
        if st.st_size > cap:
            raise PNGError(f"{st.st_size:,} bytes is more than a {expect[0]}x{expect[1]} PNG may take ({cap:,})")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise PNGError(f"cannot read it ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced between lstat and open
            raise PNGError("not a regular file")
        head = f.read(33)  # signature, then IHDR: length, type, 13 bytes, CRC
        if head[:8] == SIGNATURE and head[12:16] == b"IHDR" and len(head) == 33:
            size = struct.unpack(">II", head[16:24])
            if size != tuple(expect):
                raise SizeMismatch(f"image is {size[0]}x{size[1]}; expected {expect[0]}x{expect[1]}")
        data = head + f.read(cap + 1 - len(head))
    if len(data) > cap:  # it grew after the check
        raise PNGError(f"more than a {expect[0]}x{expect[1]} PNG may take ({cap:,} bytes)")
    return read_png(data, expect)


def read_png(data: bytes, expect: tuple[int, int] | None = None) -> tuple[int, int, bytes]:
    """(width, height, canonical pixels: rows top to bottom, bytes R, G, B).
    With ``expect``, another size is refused before any pixel is inflated."""
    ihdr, idat, seen_end = None, [], False
    try:
        for c in png.chunks(data, check_crc=True):
            if not c.crc_ok:
                raise PNGError(f"chunk {c.type!r}: CRC mismatch")
            if c.type == b"IHDR":
                if ihdr is not None:
                    raise PNGError("bad IHDR")
                ihdr = png.parse_ihdr(c.data)
            elif c.type == b"IDAT":
                idat.append(bytes(c.data))
            elif c.type == b"IEND":
                seen_end = True
            elif c.critical and c.type != b"PLTE":
                raise PNGError(f"unsupported critical chunk {c.type!r}")
    except png.PNGError as exc:
        raise PNGError(str(exc)) from None
    if ihdr is None or not seen_end:
        raise PNGError("missing IHDR or IEND")
    width, height, depth, colour, comp, filt, interlace = (ihdr.width, ihdr.height, ihdr.depth, ihdr.colour,
                                                           ihdr.compression, ihdr.filter, ihdr.interlace)
    if expect is not None and (width, height) != tuple(expect):
        raise SizeMismatch(f"image is {width}x{height}; expected {expect[0]}x{expect[1]}")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise PNGError(f"image size {width}x{height} is outside 1..{MAX_SIDE}")
    if depth != 8 or colour not in (2, 6) or interlace != 0 or comp != 0 or filt != 0:
        raise PNGError(f"PNG must be 8-bit RGB or RGBA, non-interlaced (depth {depth}, colour type {colour}, interlace {interlace})")
    bpp = 3 if colour == 2 else 4
    expected = height * (1 + width * bpp)
    d = zlib.decompressobj()
    try:
        raw = d.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        raise PNGError(f"image data does not inflate ({exc})") from None
    if len(raw) != expected:
        raise PNGError(f"image data is {len(raw)} bytes; {expected} expected")
    px = _unfilter(raw, width, height, bpp)
    if bpp == 4:
        if any(a != 255 for a in px[3::4]):
            raise PNGError("RGBA image with alpha other than 255")
        rgb = bytearray(width * height * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = px[0::4], px[1::4], px[2::4]
        px = rgb
    return width, height, bytes(px)


def write_png(width: int, height: int, rgb: bytes) -> bytes:
    """A deterministic PNG (8-bit RGB, filter 0, stored DEFLATE blocks): the
    same bytes with any zlib, so vectors built from it are reproducible."""
    if len(rgb) != width * height * 3:
        raise ValueError("pixel buffer does not match the size")
    raw = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return png_from_raw(width, height, 8, 2, 0, raw)


def stored_zlib(raw: bytes) -> bytes:
    """zlib stream of stored (uncompressed) DEFLATE blocks."""
    out = bytearray(b"\x78\x01")
    blocks = [raw[i:i + 65535] for i in range(0, len(raw), 65535)] or [b""]
    for i, b in enumerate(blocks):
        out.append(1 if i == len(blocks) - 1 else 0)
        out += struct.pack("<HH", len(b), len(b) ^ 0xFFFF) + b
    return bytes(out + struct.pack(">I", zlib.adler32(raw)))


def png_from_raw(width: int, height: int, depth: int, colour: int, interlace: int, raw: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", stored_zlib(raw)) + chunk(b"IEND", b"")
