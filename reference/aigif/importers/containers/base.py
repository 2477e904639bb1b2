"""What every container reader shares: the found text, the limits, the decoders.

Limits (a hostile file must not exhaust memory): :data:`MAX_FILE_BYTES`,
:data:`MAX_TEXT_BYTES` per decompressed text, :data:`MAX_TOTAL_TEXT_BYTES`
for all text of a file, :data:`MAX_STEALTH_PIXELS`.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_TOTAL_TEXT_BYTES = 64 * 1024 * 1024
MAX_STEALTH_PIXELS = 25_000_000
#: Free-text fields (EXIF, JPEG comments) that carry a tool's parameters when no PNG text chunk does, in
#: the order they are looked at.
COMMENT_KEYS = ("UserComment", "COM", "XPComment", "ImageDescription")


@dataclass
class TextItem:
    """One piece of text found in a container."""

    key: str        # PNG keyword, or a name for the EXIF tag / segment ("UserComment", "COM")
    value: str
    #: where it was found, as ImportedGeneration.container reports it: "png:tEXt:parameters",
    #: "jpeg:exif:UserComment", "png:stealth_pngcomp:alpha"
    container: str


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

    def first_comment(self, accept: Callable[[str], bool]) -> TextItem | None:
        """The first free-text field (:data:`COMMENT_KEYS`) whose text ``accept`` takes."""
        return next((it for it in map(self.first, COMMENT_KEYS) if it is not None and accept(it.value)), None)


class Budget:
    """Counts decompressed/decoded text bytes against the per-file limit."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, n: int, what: str) -> None:
        self.used += n
        if self.used > MAX_TOTAL_TEXT_BYTES:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"{what}: text metadata exceeds {MAX_TOTAL_TEXT_BYTES} bytes in total")


def inflate(data: bytes, what: str, *, wbits: int = zlib.MAX_WBITS) -> bytes:
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


def is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def utf8_or_latin1(raw: bytes) -> str:
    """Text of a field that names no encoding: UTF-8 when it is valid UTF-8, else Latin-1 (never fails)."""
    return raw.decode("utf-8") if is_utf8(raw) else raw.decode("latin-1")
