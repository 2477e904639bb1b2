"""Byte-aligned sections (SPEC.md §6): digest, extensions, payloads."""
from __future__ import annotations

import hashlib
import io

from construct.lib import bits2bytes

from . import wire
from .errors import AigifError
from .file import AigifFile, Extension, ModelPayload, PixelPayload
from .registry import Registry
from .syntax import MAX_SIDE, extension_max_bytes, extension_structs

DIGEST_LENGTHS = (8, 16, 32)
MAX_EXTENSIONS = 32
MAX_PIXEL_PAYLOAD = 256 << 20
MAX_MODEL_PAYLOAD = 2 << 30
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _take(data: bytes, pos: int, n: int, end: int, what: str) -> tuple[bytes, int]:
    if n > end - pos:
        raise AigifError("E_OVERRUN", f"{what} of {n} bytes runs past the end of the body", offset=pos)
    return data[pos:pos + n], pos + n


# ------------------------------------------------------------------ extensions
def decode_extension_body(reg: Registry, tag: int, body: bytes, offset: int) -> dict:
    """Parse a registered extension's bit fields; they must use the body exactly.
    Only the bytes the fields can reach are expanded to bits (a hostile body of
    any length costs at most that much); the rest is the E_OVERRUN below."""
    stream = io.BytesIO(wire.bytes_to_bits(body[:extension_max_bytes(reg)[tag]]))
    try:
        fields = extension_structs(reg)[tag].parse_stream(stream)
        pos = stream.tell()
        pad = -pos % 8
        if wire.read_bits(stream, pad, pos):
            raise AigifError("E_NONZERO_PADDING", "padding bits of an extension body are not zero", bit=pos)
    except AigifError as err:
        err.offset = offset + (err.bit or 0) // 8
        raise
    if (pos + pad) // 8 != len(body):
        raise AigifError("E_OVERRUN", f"{len(body) - (pos + pad) // 8} unused bytes at the end of an extension body", offset=offset)
    return {k: v for k, v in fields.items() if not k.startswith("_")}


def encode_extension_body(reg: Registry, tag: int, fields: dict) -> bytes:
    expected = [f["name"] for f in reg.extensions.by_id[tag]["fields"]]
    if sorted(fields) != sorted(expected):
        raise AigifError("E_FIELDS", f"extension {tag}: fields must be exactly {expected}")
    stream = io.BytesIO()
    extension_structs(reg)[tag].build_stream(fields, stream)
    bits = stream.getvalue()
    return bits2bytes(bits + b"\x00" * (-len(bits) % 8))


def _read_extensions(reg: Registry, f: AigifFile, data: bytes, pos: int, end: int) -> int:
    count_at = pos
    count, pos = wire.read_uvarint(data, pos, end)
    if count == 0:
        raise AigifError("E_NONCANONICAL", "extension count 0 with has_extensions set", offset=count_at)
    if count > MAX_EXTENSIONS:
        raise AigifError("E_LIMIT", f"{count} extensions; the limit is {MAX_EXTENSIONS}", offset=count_at)
    last = -1
    for _ in range(count):
        tag_at = pos
        tag, pos = wire.read_uvarint(data, pos, end)
        if tag <= last:
            raise AigifError("E_EXTENSION_ORDER", f"extension tag {tag} after {last}", offset=tag_at)
        last = tag
        known = tag in reg.extensions.by_id
        if not known and tag & 1:
            raise AigifError("E_UNKNOWN_CRITICAL_EXTENSION", f"unknown critical extension {tag}", offset=tag_at)
        length, pos = wire.read_uvarint(data, pos, end)
        body, body_at = None, pos
        body, pos = _take(data, pos, length, end, f"extension {tag}")
        if known:
            fields = decode_extension_body(reg, tag, body, body_at)
            f.extensions.append(Extension(tag, body, reg.extensions.by_id[tag]["key"], fields))
        else:
            f.extensions.append(Extension(tag, body))
    return pos


# ------------------------------------------------------------------ payloads
def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR, before any pixel is decoded; the
    payload must be 8-bit RGB, non-interlaced (SPEC.md §6.3)."""
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" or data[8:12] != b"\0\0\0\x0d":
        raise AigifError("E_PAYLOAD", "pixel payload is not a PNG datastream starting with IHDR")
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour, interlace = data[24], data[25], data[28]
    if (depth, colour, interlace) != (8, 2, 0):
        raise AigifError("E_PAYLOAD", f"PNG payload must be 8-bit RGB non-interlaced (got depth {depth}, colour type {colour}, interlace {interlace})")
    return w, h


def _payload_header(reg: Registry, table: str, what: str, limit: int, data: bytes, pos: int, end: int):
    """The common head of both payload sections (SPEC.md §6.3, §6.4): a codec
    or compressor exp-code, then a length checked against 0 and its limit
    before the bytes that remain. Returns (entry, length, offset of the length, position)."""
    at = pos
    ident, pos = wire.read_expcode_bytes(data, pos, end)
    entry = reg.table(table).by_id.get(ident)
    if entry is None:
        raise AigifError("E_UNKNOWN_ID", f"{table} ID {ident} is not in this decoder's registry", offset=at)
    n_at = pos
    n, pos = wire.read_uvarint(data, pos, end)
    if n == 0:
        raise AigifError("E_RANGE", f"empty {what}", offset=n_at)
    if n > limit:
        raise AigifError("E_LIMIT", f"{what} of {n} bytes exceeds {limit}", offset=n_at)
    return entry, n, n_at, pos


def _read_pixels(reg: Registry, f: AigifFile, data: bytes, pos: int, end: int) -> int:
    codec, n, n_at, pos = _payload_header(reg, "pixel_codecs", "pixel payload", MAX_PIXEL_PAYLOAD, data, pos, end)
    payload, pos = _take(data, pos, n, end, "pixel payload")
    if codec["key"] == "png":
        try:
            w, h = png_size(payload)
        except AigifError as err:
            err.offset = n_at
            raise
        if (w, h) != (f.width, f.height) or w > MAX_SIDE or h > MAX_SIDE:
            raise AigifError("E_PAYLOAD", f"PNG payload is {w}×{h}; the file says {f.width}×{f.height}", offset=n_at)
    f.pixels = PixelPayload(codec["key"], payload)
    return pos


def _read_model(reg: Registry, f: AigifFile, data: bytes, pos: int, end: int) -> int:
    comp, n, n_at, pos = _payload_header(reg, "model_compressors", "model payload", MAX_MODEL_PAYLOAD, data, pos, end)
    sha, pos = _take(data, pos, 32, end, "model payload hash")
    payload, pos = _take(data, pos, n, end, "model payload")
    if comp["key"] == "none" and hashlib.sha256(payload).digest() != sha:
        raise AigifError("E_PAYLOAD", "model payload does not match its SHA-256", offset=n_at)
    f.model_payload = ModelPayload(comp["key"], sha, payload)
    return pos


# ------------------------------------------------------------------ all sections
def read_sections(reg: Registry, core, f: AigifFile, data: bytes, pos: int, end: int) -> int:
    if core.has_digest:
        if pos >= end:
            raise AigifError("E_OVERRUN", "digest runs past the end of the body", offset=pos)
        n = data[pos]
        if n not in DIGEST_LENGTHS:
            raise AigifError("E_RANGE", f"digest length {n} is not 8, 16 or 32", offset=pos)
        f.digest, pos = _take(data, pos + 1, n, end, "digest")
    if core.has_extensions:
        pos = _read_extensions(reg, f, data, pos, end)
    if core.saving_pixels:
        pos = _read_pixels(reg, f, data, pos, end)
    if core.saving_model:
        pos = _read_model(reg, f, data, pos, end)
    return pos


def write_sections(reg: Registry, f: AigifFile) -> bytes:
    out = bytearray()
    if f.digest is not None:
        if len(f.digest) not in DIGEST_LENGTHS:
            raise AigifError("E_RANGE", f"digest length {len(f.digest)} is not 8, 16 or 32")
        out += bytes([len(f.digest)]) + f.digest
    if f.extensions:
        if len(f.extensions) > MAX_EXTENSIONS:
            raise AigifError("E_LIMIT", f"{len(f.extensions)} extensions; the limit is {MAX_EXTENSIONS}")
        exts = sorted(f.extensions, key=lambda e: e.tag)
        if len({e.tag for e in exts}) != len(exts):
            raise AigifError("E_EXTENSION_ORDER", "two extensions with the same tag")
        out += wire.uvarint(len(exts))
        for e in exts:
            if e.critical and e.tag not in reg.extensions.by_id:  # no decoder could read what we would write
                raise AigifError("E_UNKNOWN_CRITICAL_EXTENSION", f"extension {e.tag} is critical but not registered")
            if e.tag in reg.extensions.by_id:
                body = encode_extension_body(reg, e.tag, e.fields if e.fields is not None else decode_extension_body(reg, e.tag, e.raw, 0))
            else:
                body = e.raw
            out += wire.uvarint(e.tag) + wire.uvarint(len(body)) + body
    if f.pixels is not None:
        if f.pixels.codec == "png":
            w, h = png_size(f.pixels.data)
            if (w, h) != (f.width, f.height):
                raise AigifError("E_PAYLOAD", f"PNG payload is {w}×{h}; the file says {f.width}×{f.height}")
        out += wire.expcode_bytes(reg.table("pixel_codecs").id_of(f.pixels.codec))
        out += wire.uvarint(len(f.pixels.data)) + f.pixels.data
    if f.model_payload is not None:
        mp = f.model_payload
        if len(mp.sha256) != 32:
            raise AigifError("E_RANGE", "model payload hash must be 32 bytes")
        out += wire.expcode_bytes(reg.table("model_compressors").id_of(mp.compressor))
        out += wire.uvarint(len(mp.data)) + mp.sha256 + mp.data
    return bytes(out)
