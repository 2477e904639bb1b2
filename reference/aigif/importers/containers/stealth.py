"""AUTOMATIC1111 "stealth pnginfo" (sd-webui-stealth-pnginfo; NovelAI writes it too).

The metadata hides in the least significant bits of the alpha channel
(signatures ``stealth_pnginfo`` / ``stealth_pngcomp``) or of R, G, B in turn
(``stealth_rgbinfo`` / ``stealth_rgbcomp``), read column by column (x outer,
y inner): the 15-byte signature, a 32-bit big-endian payload length *in
bits*, the payload (gzip for the ``*comp`` signatures). The payload is A1111
infotext, or NovelAI's JSON object of its PNG text chunks: either way it is
handed on as the text items the PNG would have carried.

Searched only in 8-bit RGB / RGBA non-interlaced PNGs of at most
:data:`MAX_STEALTH_PIXELS` pixels. The rows are decoded here, streaming the
``IDAT`` data through zlib and keeping only the first columns of each row
(PNG's filters need nothing to the right of a pixel): the signature is
checked from the first pixels of column 0, so an image without stealth info
costs a few rows, and one with it only the columns its payload fills
(memory: those columns, never the image). sd-parsers' reader knows only the
alpha ``stealth_pngcomp`` variant, builds a Python tuple for every pixel of
the image (gigabytes for 4K) and has no size cap; Pillow would decode every
pixel before the first bit could be looked at.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

from ... import png
from ..errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure
from .base import MAX_STEALTH_PIXELS, Budget, RawMetadata, TextItem, inflate

_SIGNATURES = {  # signature -> (channels, gzip-compressed)
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_HEAD_BITS = 15 * 8 + 32
_CHUNK = 1 << 16
#: Longest payload read (real ones are a few kB of gzip): bounds the pixels converted, hence the time.
MAX_PAYLOAD_BITS = 8 * 64 * 1024


def _bits_to_bytes(bits: bytes) -> bytes:
    """b'0101...' (length a multiple of 8) -> bytes."""
    if not bits:
        return b""
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _idat(data: bytes) -> Iterator[memoryview]:
    for c in png.chunks(data, truncated_ok=True):
        if c.type == b"IDAT":
            yield c.data
        elif c.type == b"IEND":
            return


def _row_prefixes(data: bytes, w: int, bpp: int, cols: int, chans: tuple[int, ...], rows: int) -> list[bytes]:
    """Channels ``chans`` of the first ``cols`` pixels of each of the first ``rows`` unfiltered rows.

    PNG filters predict a byte from the same channel of the pixel to the left and of the row above,
    so a channel can be unfiltered alone, and a row's prefix without the rest of the row."""
    stride = 1 + w * bpp
    d = zlib.decompressobj()
    buf = bytearray()
    out: list[bytes] = []
    idx = [x * bpp + c for x in range(cols) for c in chans]   # the bytes wanted, left to right
    prev = [0] * len(idx)
    feed = _idat(data)
    while len(out) < rows:
        while len(buf) < stride:
            piece = d.unconsumed_tail or next(feed, None)
            if piece is None or d.eof:
                raise ImportFailure(E_IMPORT_MALFORMED, "stealth info: the image data ends before its last row")
            try:
                buf += d.decompress(piece, _CHUNK)
            except zlib.error as e:
                raise ImportFailure(E_IMPORT_MALFORMED, f"PNG image data is damaged ({e})") from None
        ftype = buf[0]
        cur = [buf[1 + i] for i in idx]
        del buf[:stride]
        n = len(chans)   # cur[k - n] is the same channel of the pixel to the left
        if ftype == 1:      # Sub
            for k in range(n, len(cur)):
                cur[k] = (cur[k] + cur[k - n]) & 0xFF
        elif ftype == 2:    # Up
            cur = [(v + u) & 0xFF for v, u in zip(cur, prev)]
        elif ftype == 3:    # Average
            for k in range(len(cur)):
                left = cur[k - n] if k >= n else 0
                cur[k] = (cur[k] + ((left + prev[k]) >> 1)) & 0xFF
        elif ftype == 4:    # Paeth
            for k in range(len(cur)):
                a = cur[k - n] if k >= n else 0
                b = prev[k]
                c = prev[k - n] if k >= n else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[k] = (cur[k] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 0xFF
        elif ftype != 0:
            raise ImportFailure(E_IMPORT_MALFORMED, f"PNG row filter type {ftype} is invalid")
        out.append(bytes(cur))
        prev = cur
    return out


def _lsb_bits(data: bytes, w: int, h: int, bpp: int, mode: str, nbits: int) -> bytes:
    """The first ``nbits`` hidden bits (b'0'/b'1'), read column by column (x outer, y inner)."""
    chans = (3,) if mode == "alpha" else (0, 1, 2)
    npix = -(-nbits // len(chans))                       # ceiling divisions
    cols = min(w, -(-npix // h))
    rows = npix if cols == 1 else h
    prefixes = _row_prefixes(data, w, bpp, cols, chans, rows)
    n = len(chans)
    bits = bytearray()
    for x in range(cols):
        for row in prefixes:
            for v in row[x * n:(x + 1) * n]:
                bits.append(48 + (v & 1))
        if len(bits) >= nbits:
            break
    return bytes(bits[:nbits])


def _payload(data: bytes, w: int, h: int, bpp: int) -> tuple[bytes, bytes, str] | None:
    """(signature, raw payload, channels) of the first stealth block in the pixels, None if there is none."""
    for mode in ("alpha", "rgb") if bpp == 4 else ("rgb",):
        head = _lsb_bits(data, w, h, bpp, mode, 120)
        sig = _bits_to_bytes(head) if len(head) >= 120 else b""
        if _SIGNATURES.get(sig, ("", False))[0] != mode:
            continue
        head = _lsb_bits(data, w, h, bpp, mode, _HEAD_BITS)
        if len(head) < _HEAD_BITS:
            raise ImportFailure(E_IMPORT_MALFORMED, "stealth info: signature found but no length follows")
        nbits = int(head[120:_HEAD_BITS], 2)
        if nbits > MAX_PAYLOAD_BITS:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"stealth info: payload of {nbits // 8} bytes exceeds "
                                                    f"{MAX_PAYLOAD_BITS // 8}")
        if nbits % 8 or _HEAD_BITS + nbits > w * h * (1 if mode == "alpha" else 3):
            raise ImportFailure(E_IMPORT_MALFORMED, f"stealth info: payload length {nbits} bits does not fit the image")
        return sig, _bits_to_bytes(_lsb_bits(data, w, h, bpp, mode, _HEAD_BITS + nbits)[_HEAD_BITS:]), mode
    return None


def _items(text: str, container: str) -> list[TextItem]:
    """A1111 infotext is the ``parameters`` text; NovelAI's JSON object is its text chunks, key by key."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and all(isinstance(k, str) for k in data):
            return [TextItem(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False), container)
                    for k, v in data.items()]
    return [TextItem("parameters", text, container)]


def read(data: bytes, meta: RawMetadata, budget: Budget) -> list[TextItem]:
    """The text items hidden in the pixels of a PNG (none when there is no stealth block)."""
    if meta.format != "PNG" or meta.png_color not in ((8, 2), (8, 6)) or meta.image_size is None:
        return []
    w, h = meta.image_size
    if w * h > MAX_STEALTH_PIXELS:
        meta.notes.append(f"stealth info not searched: {w}x{h} exceeds {MAX_STEALTH_PIXELS} pixels")
        return []
    if w * h < 40:
        return []  # too small to hold even a signature
    if meta.png_interlaced:
        meta.notes.append("stealth info not searched: the PNG is interlaced (stealth writers never interlace)")
        return []
    if meta.truncated:
        return []
    try:
        found = _payload(data, w, h, 4 if meta.png_color == (8, 6) else 3)
    except png.PNGError as e:
        raise ImportFailure(E_IMPORT_MALFORMED, f"PNG {e}") from None
    if found is None:
        return []
    sig, payload, mode = found
    what = f"stealth {sig.decode()}"
    if _SIGNATURES[sig][1]:
        payload = inflate(payload, what, wbits=16 + zlib.MAX_WBITS, budget=budget)
    budget.take(len(payload), what)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: payload is not valid UTF-8") from None
    return _items(text, f"png:{sig.decode()}:{mode}")
