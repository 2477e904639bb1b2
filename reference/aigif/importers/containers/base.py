"""What every container reader shares: the found text, the limits, the decoders.

Limits (a hostile file must not exhaust memory): :data:`MAX_FILE_BYTES`,
:data:`MAX_TEXT_BYTES` per decompressed text, :data:`MAX_TOTAL_TEXT_BYTES`
for all text of a file, :data:`MAX_STEALTH_PIXELS`; and compressed text may
expand to at most :data:`INFLATE_FREE_BYTES` plus :data:`MAX_INFLATE_RATIO`
times the compressed bytes of the file (deflate reaches 1000:1, real
metadata 5-30:1), so 16 KB of zTXt cannot become megabytes of text.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT_BYTES = 8 * 1024 * 1024
MAX_TOTAL_TEXT_BYTES = 16 * 1024 * 1024
INFLATE_FREE_BYTES = 1024 * 1024
MAX_INFLATE_RATIO = 64
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
    png_interlaced: bool = False
    #: the file ends inside a chunk (what came before the cut was read)
    truncated: bool = False

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
        self.compressed = 0    # compressed bytes inflated so far
        self.inflated = 0      # what they expanded to

    def take(self, n: int, what: str) -> None:
        self.used += n
        if self.used > MAX_TOTAL_TEXT_BYTES:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"{what}: text metadata exceeds {MAX_TOTAL_TEXT_BYTES} bytes in total")

    def inflate_allowance(self, compressed: int) -> int:
        """How many bytes the next ``compressed`` bytes may expand to."""
        allowed = INFLATE_FREE_BYTES + MAX_INFLATE_RATIO * (self.compressed + compressed) - self.inflated
        return max(0, min(MAX_TEXT_BYTES, allowed))


def inflate(data: bytes, what: str, *, wbits: int = zlib.MAX_WBITS, budget: Budget | None = None) -> bytes:
    """zlib/gzip-decompress with a hard output cap; damage is E_IMPORT_MALFORMED.

    The cap is applied while decompressing (``max_length``), so a bomb never
    takes more memory than the cap: :data:`MAX_TEXT_BYTES`, and with a
    ``budget`` also the file's expansion allowance."""
    cap = budget.inflate_allowance(len(data)) if budget is not None else MAX_TEXT_BYTES
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as e:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: compressed text is damaged ({e})") from None
    if len(out) > cap or (d.unconsumed_tail and not d.eof):
        if cap < MAX_TEXT_BYTES:
            raise ImportFailure(E_IMPORT_TOO_LARGE,
                                f"{what}: compressed text expands more than {MAX_INFLATE_RATIO} times its size "
                                f"(a decompression bomb)")
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"{what}: decompressed text exceeds {MAX_TEXT_BYTES} bytes")
    if not d.eof:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: compressed text is truncated")
    if budget is not None:
        budget.compressed += len(data)
        budget.inflated += len(out)
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
