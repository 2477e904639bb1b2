"""Raw metadata out of image containers: one module per container.

These modules only find and decode the *text* a generator left in a file;
they do not interpret it (that is the job of the per-tool modules):

* :mod:`.png` — ``tEXt``, ``zTXt``, ``iTXt``, ``eXIf`` (walked with
  :mod:`aigif.png`, the package's one PNG chunk walker);
* :mod:`.jpeg` — ``APP1`` Exif and XMP, ``COM``;
* :mod:`.webp` — RIFF ``EXIF`` and ``XMP `` chunks;
* :mod:`.exif` — the TIFF structure inside all three, and ``UserComment``;
* :mod:`.stealth` — A1111 stealth pnginfo in a PNG's pixels.

Why not sd-parsers' or Pillow's readers: the segment and IFD walkers here
bound every length and offset, raise only :class:`ImportFailure`, and read
text after ``IDAT`` without decoding pixels. Pillow raises many exception
types on damaged files (``SyntaxError``, ``OSError``, ``struct.error``,
``zlib.error``...) and exposes text after IDAT only once the *pixels* are
decoded (``Image.text``), which is what sd-parsers relies on. Pillow is used
for one thing only: decoding pixels for stealth info, after the PNG header
says the image is small enough.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

from ... import png as png_format
from ..errors import E_IMPORT_MALFORMED, E_IMPORT_NOT_AN_IMAGE, E_IMPORT_TOO_LARGE, ImportFailure
from . import jpeg, png, webp
from . import stealth as stealth_pixels
from .base import (  # noqa: F401 - the containers' public names
    MAX_FILE_BYTES,
    MAX_STEALTH_PIXELS,
    MAX_TEXT_BYTES,
    MAX_TOTAL_TEXT_BYTES,
    Budget,
    RawMetadata,
    TextItem,
)
from .exif import decode_user_comment  # noqa: F401

Reader = Callable[[bytes, Budget], RawMetadata]

#: Format name, how to recognise it, its reader (None: recognised, but no generator writes metadata there).
FORMATS: tuple[tuple[str, Callable[[bytes], bool], Reader | None], ...] = (
    ("PNG", lambda d: d.startswith(png_format.SIGNATURE), png.read),
    ("JPEG", lambda d: d.startswith(jpeg.SIGNATURE), jpeg.read),
    ("WEBP", webp.is_webp, webp.read),
    ("GIF", lambda d: d.startswith((b"GIF87a", b"GIF89a")), None),
    ("BMP", lambda d: d.startswith(b"BM"), None),
    ("TIFF", lambda d: d.startswith((b"II*\x00", b"MM\x00*")), None),
    ("JXL", lambda d: d.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")), None),
    ("QOI", lambda d: d.startswith(b"qoif"), None),
    ("HEIF/AVIF", lambda d: len(d) >= 12 and d[4:8] == b"ftyp" and d[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1"),
     None),
)


def read_container(data: bytes, *, stealth: bool | None = None) -> RawMetadata:
    """Find the metadata text of an image file given as bytes.

    ``stealth``: True always searches the pixels for stealth info,
    False never, None (default) only when a PNG carries no text at all.
    Raises ImportFailure (E_IMPORT_NOT_AN_IMAGE, E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if not data:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "the file is empty")
    fmt, reader = next(((name, r) for name, test, r in FORMATS if test(data)), (None, None))
    if fmt is None:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "not a PNG, JPEG or WebP image (unrecognised signature)")
    if reader is None:
        return RawMetadata(fmt, notes=[f"{fmt} files are not searched for generation metadata"])
    budget = Budget()
    try:
        meta = reader(data, budget)
    except struct.error:  # every unpack is preceded by a bounds check; this is a last guard
        raise ImportFailure(E_IMPORT_MALFORMED, f"{fmt} structure is truncated") from None
    if stealth or (stealth is None and not meta.items):
        meta.items += stealth_pixels.read(data, meta, budget)
    return meta
