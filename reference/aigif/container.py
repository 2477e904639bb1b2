"""The container (SPEC.md §4): magic, version, body length, body, CRC-32.

:data:`CONTAINER` is §2's table of the outer parts as a construct ``Struct``;
each part checks what §4 (and steps 1–5 of §9) say about it, in that order,
and raises the spec's error code. The body is not copied: parsing returns
its (start, end) offsets in the file.
"""
from __future__ import annotations

import io
import zlib

from construct import Struct

from . import wire
from .errors import AigifError

MAGIC = b"AIG"
VERSION = 1
MAX_BODY = (1 << 32) - 1  # SPEC.md §11


class Magic(wire.ByteField):
    """§4.1: "AIG"; a short file that is a prefix of it is truncated."""

    def read(self, stream, context, *_):
        head = stream.data[:3]
        if len(head) < 3:
            code = "E_TRUNCATED" if head and MAGIC.startswith(head) else "E_MAGIC"
            raise AigifError(code, "file too short for the magic", offset=0)
        if head != MAGIC:
            raise AigifError("E_MAGIC", "not an AIGIF file (magic is not 'AIG')", offset=0)
        stream.pos = 3
        return MAGIC

    def write(self, stream, value, context):
        stream.write(MAGIC)


class Version(wire.ByteField):
    """§4.1: the format version byte."""

    def read(self, stream, context, *_):
        if stream.end < 4:
            raise AigifError("E_TRUNCATED", "file ends before the format version", offset=3)
        v = stream.data[3]
        if v != VERSION:
            raise AigifError("E_VERSION", f"format version {v} is not supported (this decoder reads version {VERSION})", offset=3)
        stream.pos = 4
        return v

    def write(self, stream, value, context):
        stream.write(bytes([VERSION]))


class BodyLength(wire.ByteField):
    """§4.2: uvarint L, 1 ≤ L ≤ MAX_BODY; a cut-off uvarint is a truncated file."""

    def read(self, stream, context, *_):
        at = stream.pos
        n = stream.uvarint(truncated_code="E_TRUNCATED")
        if not 1 <= n <= MAX_BODY:
            raise AigifError("E_LIMIT", f"body length {n} is outside 1..{MAX_BODY}", offset=at)
        return n

    def write(self, stream, value, context):
        if not 1 <= value <= MAX_BODY:
            raise AigifError("E_LIMIT", f"body length {value} is outside 1..{MAX_BODY}")
        stream.write(wire.uvarint(value))


class Body(wire.ByteField):
    """§4.2: the file is exactly header + L + 4 bytes; parses to (start, end)."""

    def read(self, stream, context, *_):
        start = stream.pos
        expected = start + context["body_length"] + 4
        if stream.end < expected:
            raise AigifError("E_TRUNCATED", f"file has {stream.end} bytes; its header says {expected}", offset=stream.end)
        if stream.end > expected:
            raise AigifError("E_TRAILING_DATA", f"{stream.end - expected} bytes after the end of the file", offset=expected)
        stream.pos = start + context["body_length"]
        return start, stream.pos

    def write(self, stream, value, context):
        stream.write(value)


class Checksum(wire.ByteField):
    """§4.3: CRC-32 (zlib's) of every byte before it, little-endian."""

    def read(self, stream, context, *_):
        at = stream.pos
        crc = int.from_bytes(stream.data[at:at + 4], "little")
        if zlib.crc32(memoryview(stream.data)[:at]) != crc:
            raise AigifError("E_CHECKSUM", "CRC-32 mismatch: the file is corrupted", offset=at)
        stream.pos = at + 4
        return crc

    def write(self, stream, value, context):
        with stream.getbuffer() as so_far:
            crc = zlib.crc32(so_far)
        stream.write(crc.to_bytes(4, "little"))


CONTAINER = Struct(
    "magic" / Magic(),               # §4.1
    "version" / Version(),           # §4.1
    "body_length" / BodyLength(),    # §4.2
    "body" / Body(),                 # §4.2: (start, end) when parsed, the bytes when built
    "crc32" / Checksum(),            # §4.3
).compile()


def read_container(data: bytes) -> tuple[int, int]:
    """Steps 1–5 of SPEC.md §9; returns the body's (start, end) offsets."""
    return wire.parse(CONTAINER, wire.ByteReader(data))["body"]


def write_container(body: bytes) -> bytes:
    out = io.BytesIO()
    CONTAINER.build_stream({"magic": MAGIC, "version": VERSION, "body_length": len(body), "body": body, "crc32": None}, out)
    return out.getvalue()
