"""The package's one PNG chunk walker (ISO/IEC 15948 §5).

Everything in AIGIF that looks inside a PNG — the pixel payload's header
check (SPEC.md §6.3), the importers' text chunks, the conformance runner's
image reader — walks chunks through :func:`chunks` and reads the header
through :func:`read_ihdr`. Each caller turns :class:`PNGError` into its own
typed error (``E_PAYLOAD``, ``E_IMPORT_MALFORMED``, a failed vector).

Every length is checked against the bytes that remain before anything is
sliced, so a hostile length costs nothing; CRCs are checked only when the
caller asks (a reader of text chunks cares, a header check does not).
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNK_LENGTH = 0x7FFFFFFF  # PNG §5.3: a length is at most 2^31 - 1


class PNGError(ValueError):
    """A PNG datastream that cannot be walked; ``offset`` is where it broke."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Chunk:
    type: bytes      # four ASCII letters, e.g. b"tEXt"
    offset: int      # of the chunk's length field in the datastream
    data: memoryview  # the chunk's data (no copy)
    crc_ok: bool | None  # None when the caller did not ask for CRCs

    @property
    def name(self) -> str:
        return self.type.decode("ascii")

    @property
    def critical(self) -> bool:
        return not self.type[0] & 0x20


@dataclass(frozen=True)
class IHDR:
    width: int
    height: int
    depth: int
    colour: int
    compression: int
    filter: int
    interlace: int


def _valid_type(ctype: bytes) -> bool:
    return all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype)


def chunks(data: bytes, *, check_crc: bool | Collection[bytes] = False,
           truncated_ok: bool = False) -> Iterator[Chunk]:
    """The chunks of a PNG datastream in order, up to and including IEND.

    Raises :class:`PNGError` for a bad signature, a chunk header or body that
    runs past the end (unless ``truncated_ok``: then the walk just stops, as a
    reader of text that precedes damaged image data wants), an invalid chunk
    type or length. Bytes after IEND are not looked at. ``check_crc`` may name
    the chunk types whose CRC is wanted (a text reader need not hash IDAT).
    """
    view = memoryview(data)
    if bytes(view[:8]) != SIGNATURE:
        raise PNGError("not a PNG datastream (bad signature)", 0)
    pos, n = 8, len(view)
    while pos < n:
        if pos + 8 > n:
            if truncated_ok:
                return
            raise PNGError(f"chunk header at byte {pos} runs past the end", pos)
        length, ctype = struct.unpack_from(">I4s", view, pos)
        if length > MAX_CHUNK_LENGTH:
            raise PNGError(f"chunk at byte {pos} has an invalid length {length}", pos)
        if not _valid_type(ctype):
            raise PNGError(f"chunk at byte {pos} has an invalid type {ctype!r}", pos)
        end = pos + 8 + length
        if end + 4 > n:
            if truncated_ok:
                return
            raise PNGError(f"chunk {ctype.decode()} at byte {pos} runs past the end (truncated)", pos)
        body = view[pos + 8:end]
        crc_ok = None
        if check_crc is True or (check_crc and ctype in check_crc):
            crc_ok = zlib.crc32(view[pos + 4:end]) == struct.unpack_from(">I", view, end)[0]
        yield Chunk(ctype, pos, body, crc_ok)
        if ctype == b"IEND":
            return
        pos = end + 4


def end_of_iend(data: bytes) -> int | None:
    """Offset just past the IEND chunk, or None if the walk never reaches one."""
    for c in chunks(data, truncated_ok=True):
        if c.type == b"IEND":
            return c.offset + 12 + len(c.data)
    return None


def parse_ihdr(body: bytes | memoryview) -> IHDR:  # a Chunk's data is a view
    if len(body) != 13:
        raise PNGError(f"IHDR has {len(body)} bytes; 13 expected")
    return IHDR(*struct.unpack(">IIBBBBB", bytes(body)))


def read_ihdr(data: bytes) -> IHDR:
    """The header of a PNG datastream, which MUST be its first chunk, read
    without looking any further (so without decoding a pixel)."""
    if len(data) < 33 or bytes(data[:8]) != SIGNATURE:
        raise PNGError("not a PNG datastream starting with IHDR", 0)
    length, ctype = struct.unpack_from(">I4s", data, 8)
    if ctype != b"IHDR" or length != 13:
        raise PNGError("not a PNG datastream starting with IHDR", 8)
    return parse_ihdr(data[16:29])


def chunk(ctype: bytes, body: bytes) -> bytes:
    """One chunk as written: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def ihdr_chunk(width: int, height: int, depth: int = 8, colour: int = 2, interlace: int = 0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))
