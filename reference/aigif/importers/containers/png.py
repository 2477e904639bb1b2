"""PNG: ``tEXt``, ``zTXt``, ``iTXt`` and ``eXIf`` chunks, walked with :mod:`aigif.png`.

Text chunks are read anywhere between ``IHDR`` and ``IEND``: text *after*
``IDAT`` is legal PNG (ISO/IEC 15948 §5.6) and is read (the sd-parsers test
file ``text_after_idat.png`` carries its A1111 ``parameters`` there). The
CRC of ``IHDR`` and of every text chunk is checked (a mismatch is
``E_IMPORT_MALFORMED``); image data is not hashed. ``tEXt``/``zTXt`` are
Latin-1 by the PNG spec, but several generators write UTF-8 there: bytes
≥ 0x80 that form valid UTF-8 are read as UTF-8, and a note says so. A file
cut off inside a chunk (usually its image data) keeps the text read before
the cut: ``RawMetadata.truncated`` is set and a note says so.
"""
from __future__ import annotations

from ... import png
from ..errors import E_IMPORT_MALFORMED, ImportFailure
from . import exif
from .base import Budget, RawMetadata, TextItem, inflate

_CHECKED = frozenset((b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"eXIf"))


def _keyword(data: bytes, what: str) -> tuple[str, int]:
    nul = data.find(b"\x00", 0, 80)
    if nul < 1:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing or invalid keyword")
    return data[:nul].decode("latin-1"), nul + 1


def _latin1_text(raw: bytes, where: str, notes: list[str]) -> str:
    # Bytes >= 0x80 that form valid UTF-8 are far more likely to be UTF-8 than
    # Latin-1 mojibake, so take UTF-8 in that case and say so.
    if not raw.isascii():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
        notes.append(f"{where}: non-ASCII text decoded as UTF-8 (PNG specifies Latin-1 for this chunk)")
        return text
    return raw.decode("latin-1")


def _itxt(body: bytes, what: str, budget: Budget) -> tuple[str, bytes]:
    key, i = _keyword(body, what)
    if i + 2 > len(body):
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: truncated header")
    flag, method = body[i], body[i + 1]
    lang_end = body.find(b"\x00", i + 2)
    if lang_end < 0:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing language tag")
    tr_end = body.find(b"\x00", lang_end + 1)
    if tr_end < 0:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: missing translated keyword")
    raw = body[tr_end + 1:]
    if flag == 1:
        if method != 0:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: unknown compression method")
        raw = inflate(raw, what, budget=budget)
    elif flag != 0:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: invalid compression flag")
    return key, raw


def _text(name: str, body: bytes, what: str, meta: RawMetadata, budget: Budget) -> None:
    if name == "iTXt":
        key, raw = _itxt(body, what, budget)
        budget.take(len(raw), what)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: text is not valid UTF-8") from None
    else:
        key, i = _keyword(body, what)
        if name == "zTXt":
            if i >= len(body) or body[i] != 0:
                raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: unknown compression method")
            raw = inflate(body[i + 1:], what, budget=budget)
            budget.take(len(raw), what)
        else:
            raw = body[i:]
            budget.take(len(body), what)
        text = _latin1_text(raw, f"png:{name}:{key}", meta.notes)
    meta.items.append(TextItem(key, text, f"png:{name}:{key}"))


def read(data: bytes, budget: Budget) -> RawMetadata:
    meta = RawMetadata("PNG")
    walked = None
    try:
        # truncated_ok: a file cut off inside its image data still has the text chunks before the cut
        # (as a JPEG cut inside its scan data does); the walk stops there and a note says so.
        for c in png.chunks(data, check_crc=_CHECKED, truncated_ok=True):
            name = c.name
            body = bytes(c.data) if c.type in _CHECKED else b""  # image data is never copied
            if walked is None:
                if name != "IHDR" or len(c.data) != 13:
                    raise ImportFailure(E_IMPORT_MALFORMED, "PNG does not start with a 13-byte IHDR chunk")
            if c.crc_ok is False:
                raise ImportFailure(E_IMPORT_MALFORMED, f"PNG {name} chunk at byte {c.offset} has a bad CRC")
            walked = c
            what = f"PNG {name} chunk at byte {c.offset}"
            if name == "IHDR":
                ihdr = png.parse_ihdr(body)
                if ihdr.width == 0 or ihdr.height == 0:
                    raise ImportFailure(E_IMPORT_MALFORMED, "PNG IHDR has a zero width or height")
                meta.image_size = (ihdr.width, ihdr.height)
                meta.png_color = (ihdr.depth, ihdr.colour)
                meta.png_interlaced = ihdr.interlace != 0
            elif name in ("tEXt", "zTXt", "iTXt"):
                _text(name, body, what, meta, budget)
            elif name == "eXIf":
                exif.read_tiff(body, "png:eXIf", meta, budget)
    except png.PNGError as e:
        raise ImportFailure(E_IMPORT_MALFORMED, f"PNG {e}") from None
    if walked is None:
        raise ImportFailure(E_IMPORT_MALFORMED, "PNG has no chunks")
    end = walked.offset + 12 + len(walked.data)
    if walked.type != b"IEND" and end < len(data):
        meta.truncated = True
        meta.notes.append(f"PNG is truncated: the chunk after byte {end} runs past the end of the file; "
                          "the text chunks before it were read")
    elif walked.type != b"IEND":
        meta.notes.append("PNG has no IEND chunk")
    elif end < len(data):
        meta.notes.append(f"{len(data) - end} bytes after the PNG IEND chunk ignored")
    return meta
