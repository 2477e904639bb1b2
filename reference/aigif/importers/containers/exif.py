"""EXIF (a TIFF structure) in JPEG ``APP1``, WebP ``EXIF`` and PNG ``eXIf``.

Read: IFD0 ``ImageDescription``, ``Make``, ``Model``, ``Software``,
``XPComment`` and the Exif IFD's ``UserComment`` (and a ``UserComment`` put
in IFD0 itself, as ComfyUI's JPEG/WebP savers do). Every offset and count is
bounds-checked against the EXIF block.

``UserComment`` is an 8-byte character code, then text. ``UNICODE\\0`` is
UTF-16: A1111 (piexif) always writes big-endian whatever the TIFF byte
order, other writers (exiftool, Windows, some WebP exporters) little-endian;
a BOM is obeyed, otherwise the byte order is chosen by where the zero bytes
of ASCII text fall. ``ASCII``, ``JIS``, eight zero bytes (undefined: UTF-8)
and no prefix at all (Fooocus) are accepted. (sd-parsers 0.6 decodes every
``UserComment`` as UTF-16BE after 8 bytes, which garbles all but the first.)
"""
from __future__ import annotations

import struct

from ..errors import E_IMPORT_MALFORMED, ImportFailure
from .base import Budget, RawMetadata, TextItem, is_utf8, utf8_or_latin1

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_IFD0_TEXT_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}
_TAG_EXIF_IFD = 0x8769
_TAG_XPCOMMENT = 0x9C9C
_TAG_USERCOMMENT = 0x9286
_TEXT_TAGS = (_TAG_USERCOMMENT, _TAG_EXIF_IFD, _TAG_XPCOMMENT, *_IFD0_TEXT_TAGS)


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
        size = _TYPE_SIZES.get(typ)
        if size is None:
            continue  # unknown type: skip the entry, as readers must
        total = size * cnt
        if total <= 4:
            val = tiff[e + 8:e + 8 + total]
        else:
            (voff,) = struct.unpack_from(bo + "I", tiff, e + 8)
            if voff + total > n:
                if tag in _TEXT_TAGS:
                    raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: tag 0x{tag:04X} points outside the EXIF block")
                continue
            val = tiff[voff:voff + total]
        out.setdefault(tag, val)
    return out


def _decode_utf16(raw: bytes, what: str, notes: list[str], byte_order: str = ">") -> str:
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        enc = "utf-16-be" if raw[:2] == b"\xfe\xff" else "utf-16-le"
        raw = raw[2:]
    else:
        # Text that is mostly ASCII has its zero bytes on even offsets in BE, odd in LE.
        probe = raw[:4096]
        even = sum(1 for i in range(0, len(probe), 2) if probe[i] == 0)
        odd = sum(1 for i in range(1, len(probe), 2) if probe[i] == 0)
        # No zero bytes at all (text without ASCII, e.g. all CJK): the TIFF byte order decides.
        if odd > even or (odd == even == 0 and byte_order == "<"):
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


def decode_user_comment(raw: bytes, what: str = "UserComment", notes: list[str] | None = None, *,
                        byte_order: str = ">") -> str:
    """Decode an EXIF UserComment: 8-byte character-code prefix, then the text."""
    notes = notes if notes is not None else []
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        text = _decode_utf16(body, what, notes, byte_order)
    elif prefix == b"ASCII\x00\x00\x00":
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            text = utf8_or_latin1(body)
            notes.append(f"{what}: ASCII-tagged comment holds non-ASCII bytes")
    elif prefix == b"JIS\x00\x00\x00\x00\x00":
        try:
            text = body.decode("shift_jis")
        except UnicodeDecodeError:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: JIS text is not valid") from None
    elif prefix == b"\x00" * 8:
        text = utf8_or_latin1(body)
    else:
        # No character-code prefix (Fooocus and some others write raw text).
        text = utf8_or_latin1(raw)
        notes.append(f"{what}: no character-code prefix; read as {'UTF-8' if is_utf8(raw) else 'Latin-1'}")
    return text.rstrip("\x00")


def read_tiff(tiff: bytes, where: str, meta: RawMetadata, budget: Budget) -> None:
    """Append the text tags of an EXIF block (with or without the ``Exif\\0\\0`` prefix) to ``meta``."""
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
        raw = ifd0.get(tag, b"").rstrip(b"\x00")
        if raw:
            meta.items.append(TextItem(name, utf8_or_latin1(raw), f"{where}:{name}"))
    if _TAG_XPCOMMENT in ifd0:
        raw = ifd0[_TAG_XPCOMMENT]
        try:
            text = raw[:len(raw) // 2 * 2].decode("utf-16-le").rstrip("\x00")
        except UnicodeDecodeError:
            raise ImportFailure(E_IMPORT_MALFORMED, f"{where}: XPComment is not valid UTF-16") from None
        if text:
            meta.items.append(TextItem("XPComment", text, f"{where}:XPComment"))
    comments = []
    if _TAG_EXIF_IFD in ifd0:
        (exif_off,) = struct.unpack_from(bo + "I", ifd0[_TAG_EXIF_IFD], 0)
        exif = _read_ifd(tiff, exif_off, bo, where + " Exif IFD")
        if _TAG_USERCOMMENT in exif:
            comments.append((exif[_TAG_USERCOMMENT], f"{where}:UserComment"))
    if _TAG_USERCOMMENT in ifd0:
        # Not where EXIF puts it, but where ComfyUI's JPEG/WebP savers (SaveImage+ and others) write
        # their {prompt, workflow} JSON; read after the Exif IFD's own.
        comments.append((ifd0[_TAG_USERCOMMENT], f"{where}:IFD0:UserComment"))
    for raw, container in comments:
        text = decode_user_comment(raw, container, meta.notes, byte_order=bo)
        if text.strip():
            meta.items.append(TextItem("UserComment", text, container))
