"""Raw metadata out of image containers: PNG, JPEG, WebP and A1111 stealth info.

This module only finds and decodes the *text* a generator left in a file;
it does not interpret it (that is the job of the per-tool modules).

What it reads
-------------
* PNG ``tEXt``, ``zTXt`` and ``iTXt`` chunks anywhere between ``IHDR`` and
  ``IEND`` (text after ``IDAT`` is legal PNG and is read: the sd-parsers
  test file ``text_after_idat.png`` carries its A1111 ``parameters`` there),
  and the ``eXIf`` chunk.
* JPEG ``APP1`` Exif (``UserComment``, plus ``ImageDescription``, ``Make``,
  ``Model``, ``Software``, ``XPComment``), ``APP1`` XMP, and ``COM``
  segments.
* WebP (RIFF) ``EXIF`` and ``XMP `` chunks.
* AUTOMATIC1111 "stealth pnginfo" (sd-webui-stealth-pnginfo extension):
  the metadata hidden in the least significant bits of the alpha channel
  (signatures ``stealth_pnginfo`` / ``stealth_pngcomp``) or of the R, G, B
  channels (``stealth_rgbinfo`` / ``stealth_rgbcomp``), read column by
  column, then a 32-bit big-endian bit length, then the payload (gzip for
  the ``*comp`` signatures).

Why not sd-parsers' or Pillow's readers
---------------------------------------
The chunk, segment and IFD walkers here are our own, with a bounds check on
every length and offset, because:

* Pillow raises many exception types on damaged files (``SyntaxError``,
  ``OSError``, ``ValueError``, ``struct.error``, ``zlib.error``...) and only
  exposes text chunks after IDAT once the *pixels* are decoded
  (``Image.text``), which is what sd-parsers relies on;
* sd-parsers (0.6) decodes every EXIF ``UserComment`` as UTF-16BE after an
  8-byte prefix, so the ASCII prefix, UTF-16LE writers (exiftool, Windows,
  some WebP exporters) and raw UTF-8 comments come out garbled;
* sd-parsers' stealth reader knows only the alpha ``stealth_pngcomp``
  variant, builds a Python list of every pixel tuple of the whole image
  (gigabytes for a 4K image) and has no size cap.

Pillow is used for one thing only: decoding pixels for stealth info, and
only after the PNG header says the image is at most
:data:`MAX_STEALTH_PIXELS` pixels.

Limits (a hostile file must not exhaust memory): :data:`MAX_FILE_BYTES`,
:data:`MAX_TEXT_BYTES` per decompressed text, :data:`MAX_TOTAL_TEXT_BYTES`
for all text of a file, :data:`MAX_STEALTH_PIXELS`.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field

from .errors import (
    E_IMPORT_MALFORMED,
    E_IMPORT_NOT_AN_IMAGE,
    E_IMPORT_TOO_LARGE,
    ImportFailure,
)

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_TOTAL_TEXT_BYTES = 64 * 1024 * 1024
MAX_STEALTH_PIXELS = 25_000_000

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Signatures of image formats we recognise but read no generation metadata from.
_OTHER_IMAGE_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\xff\x0a", "JXL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JXL"),
    (b"qoif", "QOI"),
)

_STEALTH_SIGNATURES = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}


@dataclass
class TextItem:
    """One piece of text found in a container."""

    key: str        # PNG keyword, or a name for the EXIF tag / segment ("UserComment", "COM")
    value: str
    where: str      # e.g. "png:tEXt", "jpeg:exif:UserComment", "png:stealth_pngcomp:alpha"


@dataclass
class RawMetadata:
    format: str                                  # "PNG", "JPEG", "WEBP", "GIF", ...
    image_size: tuple[int, int] | None = None
    items: list[TextItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    png_color: tuple[int, int] | None = None     # (bit depth, colour type) of a PNG

    def first(self, key: str) -> TextItem | None:
        for item in self.items:
            if item.key == key:
                return item
        return None

    def keys(self) -> list[str]:
        return [item.key for item in self.items]


class _Budget:
    """Counts decompressed/decoded text bytes against the per-file limit."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, n: int, what: str) -> None:
        self.used += n
        if self.used > MAX_TOTAL_TEXT_BYTES:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"{what}: text metadata exceeds {MAX_TOTAL_TEXT_BYTES} bytes in total")


def _inflate(data: bytes, what: str, *, wbits: int = zlib.MAX_WBITS) -> bytes:
    """zlib/gzip-decompress with a hard output cap; damage is E_IMPORT_MALFORMED."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, MAX_TEXT_BYTES + 1)
    except zlib.error as e:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: compressed text is damaged ({e})") from None
    if len(out) > MAX_TEXT_BYTES or d.unconsumed_tail:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"{what}: decompressed text exceeds {MAX_TEXT_BYTES} bytes")
    if not d.eof:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: compressed text is truncated")
    return out


def _decode_png_latin1(raw: bytes, where: str, notes: list[str]) -> str:
    # The PNG spec says tEXt/zTXt are Latin-1, but several generators write
    # UTF-8 there. Bytes >= 0x80 that form valid UTF-8 are far more likely to
    # be UTF-8 than Latin-1 mojibake, so take UTF-8 in that case and say so.
    if any(b >= 0x80 for b in raw):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
        notes.append(f"{where}: non-ASCII text decoded as UTF-8 (PNG specifies Latin-1 for this chunk)")
        return text
    return raw.decode("latin-1")


# ---------------------------------------------------------------- PNG

def _png_keyword(data: bytes, what: str) -> tuple[str, int]:
    nul = data.find(b"\x00", 0, 80)
    if nul < 1:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing or invalid keyword")
    return data[:nul].decode("latin-1"), nul + 1


def _parse_png(data: bytes, budget: _Budget) -> RawMetadata:
    meta = RawMetadata("PNG")
    n = len(data)
    pos = len(PNG_SIGNATURE)
    first = True
    seen_iend = False
    while pos < n:
        if pos + 12 > n:
            raise ImportFailure(E_IMPORT_MALFORMED, f"PNG truncated inside a chunk header at byte {pos}")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if length > 0x7FFFFFFF:
            raise ImportFailure(E_IMPORT_MALFORMED, f"PNG chunk at byte {pos} has an invalid length {length}")
        if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype):
            raise ImportFailure(E_IMPORT_MALFORMED, f"PNG chunk at byte {pos} has an invalid type {ctype!r}")
        end = pos + 8 + length
        if end + 4 > n:
            raise ImportFailure(E_IMPORT_MALFORMED,
                                f"PNG chunk {ctype.decode()} at byte {pos} runs past the end of the file (truncated)")
        body = data[pos + 8:end]
        name = ctype.decode("ascii")
        if first:
            if name != "IHDR" or length != 13:
                raise ImportFailure(E_IMPORT_MALFORMED, "PNG does not start with a 13-byte IHDR chunk")
            first = False
        if name in ("IHDR", "tEXt", "zTXt", "iTXt", "eXIf"):
            crc = struct.unpack_from(">I", data, end)[0]
            if zlib.crc32(data[pos + 4:end]) & 0xFFFFFFFF != crc:
                raise ImportFailure(E_IMPORT_MALFORMED, f"PNG {name} chunk at byte {pos} has a bad CRC")
        what = f"PNG {name} chunk at byte {pos}"
        if name == "IHDR":
            w, h, depth, ctype_ = struct.unpack_from(">IIBB", body, 0)
            if w == 0 or h == 0:
                raise ImportFailure(E_IMPORT_MALFORMED, "PNG IHDR has a zero width or height")
            meta.image_size = (w, h)
            meta.png_color = (depth, ctype_)
        elif name == "tEXt":
            key, i = _png_keyword(body, what)
            budget.take(len(body), what)
            meta.items.append(TextItem(key, _decode_png_latin1(body[i:], f"png:tEXt:{key}", meta.notes), "png:tEXt"))
        elif name == "zTXt":
            key, i = _png_keyword(body, what)
            if i >= len(body) or body[i] != 0:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: unknown compression method")
            raw = _inflate(body[i + 1:], what)
            budget.take(len(raw), what)
            meta.items.append(TextItem(key, _decode_png_latin1(raw, f"png:zTXt:{key}", meta.notes), "png:zTXt"))
        elif name == "iTXt":
            key, i = _png_keyword(body, what)
            if i + 2 > len(body):
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: truncated header")
            flag, method = body[i], body[i + 1]
            i += 2
            lang_end = body.find(b"\x00", i)
            if lang_end < 0:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing language tag")
            tr_end = body.find(b"\x00", lang_end + 1)
            if tr_end < 0:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing translated keyword")
            raw = body[tr_end + 1:]
            if flag == 1:
                if method != 0:
                    raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: unknown compression method")
                raw = _inflate(raw, what)
            elif flag != 0:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: invalid compression flag")
            budget.take(len(raw), what)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: text is not valid UTF-8") from None
            meta.items.append(TextItem(key, text, "png:iTXt"))
        elif name == "eXIf":
            _parse_tiff(body, "png:eXIf", meta, budget)
        elif name == "IEND":
            seen_iend = True
            pos = end + 4
            break
        pos = end + 4
    if first:
        raise ImportFailure(E_IMPORT_MALFORMED, "PNG has no chunks")
    if not seen_iend:
        meta.notes.append("PNG has no IEND chunk")
    elif pos < n:
        meta.notes.append(f"{n - pos} bytes after the PNG IEND chunk ignored")
    return meta


# ---------------------------------------------------------------- EXIF / TIFF

_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_IFD0_TEXT_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}
_TAG_EXIF_IFD = 0x8769
_TAG_XPCOMMENT = 0x9C9C
_TAG_USERCOMMENT = 0x9286


def _read_ifd(tiff: bytes, off: int, bo: str, what: str) -> dict[int, bytes]:
    """Read one IFD: tag -> raw value bytes (bounds-checked)."""
    n = len(tiff)
    if off < 8 or off + 2 > n:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: IFD offset {off} outside the EXIF block")
    (count,) = struct.unpack_from(bo + "H", tiff, off)
    if off + 2 + 12 * count > n:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: IFD with {count} entries runs past the EXIF block")
    out: dict[int, bytes] = {}
    for k in range(count):
        e = off + 2 + 12 * k
        tag, typ, cnt = struct.unpack_from(bo + "HHI", tiff, e)
        size = _TIFF_TYPE_SIZES.get(typ)
        if size is None:
            continue  # unknown type: skip the entry, as readers must
        total = size * cnt
        if total <= 4:
            val = tiff[e + 8:e + 8 + total]
        else:
            (voff,) = struct.unpack_from(bo + "I", tiff, e + 8)
            if voff + total > n:
                if tag in (_TAG_USERCOMMENT, _TAG_EXIF_IFD, _TAG_XPCOMMENT, *_IFD0_TEXT_TAGS):
                    raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: tag 0x{tag:04X} points outside the EXIF block")
                continue
            val = tiff[voff:voff + total]
        out.setdefault(tag, val)
    return out


def _decode_utf16(raw: bytes, what: str, notes: list[str]) -> str:
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        enc = "utf-16-be" if raw[:2] == b"\xfe\xff" else "utf-16-le"
        raw = raw[2:]
    else:
        # A1111 (piexif) always writes UTF-16BE whatever the TIFF byte order;
        # other writers use the TIFF byte order or little-endian. Text that is
        # mostly ASCII has its zero bytes on even offsets in BE, odd in LE.
        probe = raw[:4096]
        even = sum(1 for i in range(0, len(probe), 2) if probe[i] == 0)
        odd = sum(1 for i in range(1, len(probe), 2) if probe[i] == 0)
        if odd > even:
            enc = "utf-16-le"
            notes.append(f"{what}: UTF-16 text detected as little-endian")
        else:
            enc = "utf-16-be"
    if len(raw) % 2:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: UTF-16 text has an odd number of bytes")
    try:
        return raw.decode(enc)
    except UnicodeDecodeError:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: UTF-16 text is not valid") from None


def decode_user_comment(raw: bytes, what: str = "UserComment", notes: list[str] | None = None) -> str:
    """Decode an EXIF UserComment: 8-byte character-code prefix, then the text."""
    notes = notes if notes is not None else []
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        text = _decode_utf16(body, what, notes)
    elif prefix == b"ASCII\x00\x00\x00":
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            text = body.decode("utf-8", errors="strict") if _is_utf8(body) else body.decode("latin-1")
            notes.append(f"{what}: ASCII-tagged comment holds non-ASCII bytes")
    elif prefix == b"JIS\x00\x00\x00\x00\x00":
        try:
            text = body.decode("shift_jis")
        except UnicodeDecodeError:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: JIS text is not valid") from None
    elif prefix == b"\x00" * 8:
        text = body.decode("utf-8") if _is_utf8(body) else body.decode("latin-1")
    else:
        # No character-code prefix (Fooocus and some others write raw text).
        text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
        notes.append(f"{what}: no character-code prefix; read as {'UTF-8' if _is_utf8(raw) else 'Latin-1'}")
    return text.rstrip("\x00")


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _parse_tiff(tiff: bytes, where: str, meta: RawMetadata, budget: _Budget) -> None:
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    if len(tiff) < 8:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{where}: EXIF block too short")
    if tiff[:4] == b"II*\x00":
        bo = "<"
    elif tiff[:4] == b"MM\x00*":
        bo = ">"
    else:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{where}: EXIF block has no TIFF header")
    (ifd0_off,) = struct.unpack_from(bo + "I", tiff, 4)
    ifd0 = _read_ifd(tiff, ifd0_off, bo, where)
    budget.take(len(tiff), where)
    for tag, name in _IFD0_TEXT_TAGS.items():
        if tag in ifd0:
            raw = ifd0[tag].rstrip(b"\x00")
            if raw:
                text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
                meta.items.append(TextItem(name, text, f"{where}:{name}"))
    if _TAG_XPCOMMENT in ifd0:
        raw = ifd0[_TAG_XPCOMMENT]
        if len(raw) % 2:
            raw = raw[:-1]
        try:
            text = raw.decode("utf-16-le").rstrip("\x00")
        except UnicodeDecodeError:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{where}: XPComment is not valid UTF-16") from None
        if text:
            meta.items.append(TextItem("XPComment", text, f"{where}:XPComment"))
    if _TAG_EXIF_IFD in ifd0:
        (exif_off,) = struct.unpack_from(bo + "I", ifd0[_TAG_EXIF_IFD], 0)
        exif = _read_ifd(tiff, exif_off, bo, where + " Exif IFD")
        if _TAG_USERCOMMENT in exif:
            text = decode_user_comment(exif[_TAG_USERCOMMENT], f"{where}:UserComment", meta.notes)
            if text.strip():
                meta.items.append(TextItem("UserComment", text, f"{where}:UserComment"))


# ---------------------------------------------------------------- JPEG

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def _parse_jpeg(data: bytes, budget: _Budget) -> RawMetadata:
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
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            continue
        if pos + 2 > n:
            raise ImportFailure(E_IMPORT_MALFORMED, "JPEG ends inside a segment length (truncated)")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > n:
            raise ImportFailure(E_IMPORT_MALFORMED, f"JPEG segment 0xFF{marker:02X} at byte {pos - 2} runs past the end of the file")
        seg = data[pos + 2:pos + length]
        if marker == 0xDA:  # SOS: metadata comes before it
            break
        if marker in _SOF_MARKERS:
            if len(seg) < 5:
                raise ImportFailure(E_IMPORT_MALFORMED, "JPEG SOF segment too short")
            h, w = struct.unpack_from(">HH", seg, 1)
            meta.image_size = (w, h)
        elif marker == 0xE1 and seg.startswith(b"Exif\x00\x00") and not exif_done:
            exif_done = True
            _parse_tiff(seg[6:], "jpeg:exif", meta, budget)
        elif marker == 0xE1 and seg.startswith(_XMP_HEADER):
            raw = seg[len(_XMP_HEADER):]
            budget.take(len(raw), "JPEG XMP")
            meta.items.append(TextItem("XMP", raw.decode("utf-8", errors="replace"), "jpeg:XMP"))
        elif marker == 0xFE:
            budget.take(len(seg), "JPEG COM")
            text = seg.decode("utf-8") if _is_utf8(seg) else seg.decode("latin-1")
            text = text.rstrip("\x00")
            if text.strip():
                meta.items.append(TextItem("COM", text, "jpeg:COM"))
        pos += length
    return meta


# ---------------------------------------------------------------- WebP

def _parse_webp(data: bytes, budget: _Budget) -> RawMetadata:
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
            w = 1 + int.from_bytes(body[4:7], "little")
            h = 1 + int.from_bytes(body[7:10], "little")
            meta.image_size = (w, h)
        elif fourcc == b"VP8L" and size >= 5 and body[0] == 0x2F and meta.image_size is None:
            bits = int.from_bytes(body[1:5], "little")
            meta.image_size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        elif fourcc == b"VP8 " and size >= 10 and meta.image_size is None and body[3:6] == b"\x9d\x01\x2a":
            w, h = struct.unpack_from("<HH", body, 6)
            meta.image_size = (w & 0x3FFF, h & 0x3FFF)
        elif fourcc == b"EXIF":
            _parse_tiff(body, "webp:exif", meta, budget)
        elif fourcc == b"XMP ":
            budget.take(len(body), "WebP XMP")
            meta.items.append(TextItem("XMP", body.decode("utf-8", errors="replace"), "webp:XMP"))
        pos = body_end + (size & 1)
    return meta


# ---------------------------------------------------------------- stealth

_LSB_TO_ASCII = bytes((ord("0") + (b & 1)) for b in range(256))


def _bits_to_bytes(bits: bytes) -> bytes:
    """b'0101...' (length a multiple of 8) -> bytes."""
    if not bits:
        return b""
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def read_stealth(data: bytes, meta: RawMetadata, budget: _Budget | None = None) -> TextItem | None:
    """Look for A1111 stealth pnginfo in the pixels of a PNG; None if absent.

    Only 8-bit RGB / RGBA PNGs of at most MAX_STEALTH_PIXELS pixels are decoded.
    Bits are read column by column (x outer, y inner); only the columns that
    hold the signature, the length and the payload are converted.
    """
    budget = budget or _Budget()
    if meta.format != "PNG" or meta.png_color not in ((8, 2), (8, 6)) or meta.image_size is None:
        return None
    w, h = meta.image_size
    if w * h > MAX_STEALTH_PIXELS:
        meta.notes.append(f"stealth info not searched: {w}x{h} exceeds {MAX_STEALTH_PIXELS} pixels")
        return None
    if w * h < 40:
        return None  # too small to hold even a signature
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency of the import extra
        meta.notes.append("stealth info not searched: Pillow is not installed")
        return None

    def lsb_bits(im, mode: str, nbits: int) -> bytes:
        per_px = 1 if mode == "alpha" else 3
        npix = -(-nbits // per_px)
        cols = min(w, -(-npix // h))
        region = im.crop((0, 0, cols, h))
        region = region.getchannel("A") if mode == "alpha" else region.convert("RGB")
        return region.transpose(Image.Transpose.TRANSPOSE).tobytes().translate(_LSB_TO_ASCII)[:nbits]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            if im.size != (w, h) or im.mode not in ("RGB", "RGBA"):
                return None
            im.load()
            modes = ("alpha", "rgb") if im.mode == "RGBA" else ("rgb",)
            for mode in modes:
                head = lsb_bits(im, mode, 152)
                sig = _bits_to_bytes(head[:120]) if len(head) >= 120 else b""
                if _STEALTH_SIGNATURES.get(sig, ("", False))[0] != mode:
                    continue
                if len(head) < 152:
                    raise ImportFailure(E_IMPORT_MALFORMED, "stealth info: signature found but no length follows")
                nbits = int(head[120:152], 2)
                capacity = w * h * (1 if mode == "alpha" else 3)
                if nbits % 8 or 152 + nbits > capacity:
                    raise ImportFailure(E_IMPORT_MALFORMED,
                                        f"stealth info: payload length {nbits} bits does not fit the image")
                payload = _bits_to_bytes(lsb_bits(im, mode, 152 + nbits)[152:])
                break
            else:
                return None
    except ImportFailure:
        raise
    except Exception as e:  # Pillow's decoders raise many types on damaged pixel data
        raise ImportFailure(E_IMPORT_MALFORMED,
                            f"PNG pixel data could not be decoded while looking for stealth info ({type(e).__name__})") from None
    what = f"stealth {sig.decode()}"
    if _STEALTH_SIGNATURES[sig][1]:
        payload = _inflate(payload, what, wbits=16 + zlib.MAX_WBITS)
    budget.take(len(payload), what)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: payload is not valid UTF-8") from None
    return TextItem("stealth", text, f"png:{sig.decode()}:{mode}")


# ---------------------------------------------------------------- entry point

def sniff_format(data: bytes) -> str | None:
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _OTHER_IMAGE_MAGIC:
        if data.startswith(magic):
            return fmt
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
        return "HEIF/AVIF"
    return None


def read_container(data: bytes, *, stealth: bool | None = None) -> RawMetadata:
    """Find the metadata text of an image file given as bytes.

    ``stealth``: True always searches the pixels for stealth info, False never,
    None (default) only when a PNG carries no text at all.
    Raises ImportFailure (E_IMPORT_NOT_AN_IMAGE, E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if not data:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "the file is empty")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "not a PNG, JPEG or WebP image (unrecognised signature)")
    budget = _Budget()
    try:
        if fmt == "PNG":
            meta = _parse_png(data, budget)
        elif fmt == "JPEG":
            meta = _parse_jpeg(data, budget)
        elif fmt == "WEBP":
            meta = _parse_webp(data, budget)
        else:
            return RawMetadata(fmt, notes=[f"{fmt} files are not searched for generation metadata"])
    except struct.error:  # every unpack is preceded by a bounds check; this is a last guard
        raise ImportFailure(E_IMPORT_MALFORMED, f"{fmt} structure is truncated") from None
    if fmt == "PNG" and (stealth or (stealth is None and not meta.items)):
        item = read_stealth(data, meta, budget)
        if item is not None:
            meta.items.append(item)
    return meta
