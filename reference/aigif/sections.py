"""Byte-aligned sections (SPEC.md §6): digest, extensions, pixel payload, model payload.

Each section's layout is a construct ``Struct`` that reads like the spec's
box for it; each field checks what §6 says (and step 7 of §9: a declared
length against its maximum before against the bytes that remain). The
registry and the file's size come in as parse/build parameters. Parsing
runs over a :class:`~aigif.wire.ByteReader` of the whole file, so offsets in
errors are file offsets; payload bytes are sliced once, never expanded.
"""
from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from construct import Struct, Tell, this

from . import png, wire
from .core import MAX_SIDE
from .errors import AigifError
from .fields import fields_struct, plain
from .file import AigifFile, Extension, ModelPayload, PixelPayload
from .registry import Field, Registry

DIGEST_LENGTHS = (8, 16, 32)
MAX_EXTENSIONS = 32
MAX_PIXEL_PAYLOAD = 256 << 20
MAX_MODEL_PAYLOAD = 2 << 30


# ------------------------------------------------------------------ field types of the boxes
class DigestLength(wire.ByteField):
    """§6.1: one byte, 8, 16 or 32."""

    def read(self, stream, context, *_):
        at = stream.pos
        n = stream.u8("digest")
        if n not in DIGEST_LENGTHS:
            raise AigifError("E_RANGE", f"digest length {n} is not 8, 16 or 32", offset=at)
        return n

    def write(self, stream, value, context):
        if value not in DIGEST_LENGTHS:
            raise AigifError("E_RANGE", f"digest length {value} is not 8, 16 or 32")
        stream.write(bytes([value]))


class Take(wire.ByteField):
    """``n`` bytes (a number or a function of the context); E_OVERRUN past the body.
    ``view``: a read-only view of the input instead of a copy (payloads: a 256 MiB payload
    costs no second 256 MiB, SPEC.md §16)."""

    def __init__(self, n, what: str, view: bool = False):
        super().__init__()
        self.n, self.what, self.view = n, what, view

    def read(self, stream, context, *_):
        n = self.n(context) if callable(self.n) else self.n
        start = stream.tell()
        if not self.view or n > stream.end - start:
            return stream.take(n, self.what)  # a copy, or its E_OVERRUN
        stream.pos = start + n
        return memoryview(stream.data)[start:start + n].toreadonly()

    def write(self, stream, value, context):
        stream.write(value)


class UVarint(wire.ByteField):
    def read(self, stream, context, *_):
        return stream.uvarint()

    def write(self, stream, value, context):
        stream.write(wire.uvarint(value))


class Entry(wire.ByteField):
    """An exp-code (byte units) into a registry table; parses to the entry."""

    def __init__(self, table: str):
        super().__init__()
        self.table = table

    def read(self, stream, context, *_):
        at = stream.pos
        ident = stream.expcode()
        entry = context._params["reg"].table(self.table).by_id.get(ident)
        if entry is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.table} ID {ident} is not in this decoder's registry", offset=at)
        return entry

    def write(self, stream, value, context):
        stream.write(wire.expcode_bytes(value["id"]))


class PayloadLength(wire.ByteField):
    """§6.3, §6.4: a uvarint ≥ 1, at most the section's limit."""

    def __init__(self, limit: int, what: str):
        super().__init__()
        self.limit, self.what = limit, what

    def _check(self, n: int, at: int | None):
        if n == 0:
            raise AigifError("E_RANGE", f"empty {self.what}", offset=at)
        if n > self.limit:
            raise AigifError("E_LIMIT", f"{self.what} of {n} bytes exceeds {self.limit}", offset=at)

    def read(self, stream, context, *_):
        at = stream.pos
        n = stream.uvarint()
        self._check(n, at)
        return n

    def write(self, stream, value, context):
        self._check(value, None)
        stream.write(wire.uvarint(value))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a ``png`` pixel payload from its IHDR, before any
    pixel is decoded; it must be 8-bit RGB, non-interlaced (SPEC.md §6.3)."""
    try:
        h = png.read_ihdr(data)
    except png.PNGError:
        raise AigifError("E_PAYLOAD", "pixel payload is not a PNG datastream starting with IHDR") from None
    if (h.depth, h.colour, h.interlace) != (8, 2, 0):
        raise AigifError("E_PAYLOAD", f"PNG payload must be 8-bit RGB non-interlaced (got depth {h.depth}, colour type {h.colour}, interlace {h.interlace})")
    return h.width, h.height


#: pixel codec key -> the reader of its header's (width, height); codecs
#: without one here are checked when decoded (SPEC.md §6.3)
PAYLOAD_HEADERS: dict[str, Callable[[bytes], tuple[int, int]]] = {"png": png_size}


class PixelHeader(wire.ByteField):
    """§6.3: the payload's header gives the file's width × height."""

    def _check(self, context, at):
        header = PAYLOAD_HEADERS.get(context.codec["key"])
        if header is None:
            return
        width, height = context._params["size"]
        try:
            w, h = header(context.data)
        except AigifError as err:
            err.offset = at
            raise
        if (w, h) != (width, height) or w > MAX_SIDE or h > MAX_SIDE:
            raise AigifError("E_PAYLOAD", f"{context.codec['key'].upper()} payload is {w}×{h}; the file says {width}×{height}", offset=at)

    def read(self, stream, context, *_):
        self._check(context, context.length_at)

    def write(self, stream, value, context):
        self._check(context, None)


class StoredHash(wire.ByteField):
    """§6.4: for the compressor ``none`` the data's SHA-256 is checked on reading."""

    def read(self, stream, context, *_):
        if context.compressor["key"] == "none" and hashlib.sha256(context.data).digest() != context.sha256:
            raise AigifError("E_PAYLOAD", "model payload does not match its SHA-256", offset=context.length_at)

    def write(self, stream, value, context):
        if len(context.sha256) != 32:
            raise AigifError("E_RANGE", "model payload hash must be 32 bytes")
        if context.compressor["key"] == "none" and hashlib.sha256(context.data).digest() != context.sha256:
            raise AigifError("E_PAYLOAD", "model payload does not match its SHA-256")  # read would refuse it


class Tag(wire.ByteField):
    """§6.2: tags strictly increase; then an unknown critical tag is refused."""

    def read(self, stream, context, *_):
        at = stream.pos
        tag = stream.uvarint()
        if tag <= context._.last_tag:
            raise AigifError("E_EXTENSION_ORDER", f"extension tag {tag} after {context._.last_tag}", offset=at)
        if tag & 1 and tag not in context._params["reg"].extensions.by_id:
            raise AigifError("E_UNKNOWN_CRITICAL_EXTENSION", f"unknown critical extension {tag}", offset=at)
        return tag

    def write(self, stream, value, context):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AigifError("E_RANGE", f"extension tag {value!r:.40} is not an integer")
        if value & 1 and value not in context._params["reg"].extensions.by_id:  # no decoder could read it
            raise AigifError("E_UNKNOWN_CRITICAL_EXTENSION", f"extension {value} is critical but not registered")
        stream.write(wire.uvarint(value))


class RegisteredBody(wire.ByteField):
    """§6.2: a registered extension's body is bit fields, decoded as soon as
    the record is read (so its errors come before the next record's)."""

    def read(self, stream, context, *_):
        if context.tag not in context._params["reg"].extensions.by_id:
            return None
        return decode_extension_body(context._params["reg"], context.tag, stream.data, context.body_at, stream.pos)

    def write(self, stream, value, context):
        pass  # the body was built from the fields already


EXTENSION = Struct(
    "tag" / Tag(),
    "length" / UVarint(),
    "body_at" / Tell,
    "body" / Take(this.length, "extension body"),
    "fields" / RegisteredBody(),
)


class ExtensionList(wire.ByteField):
    """§6.2: count (1..32), then that many records in tag order."""

    def read(self, stream, context, *_):
        at = stream.pos
        count = stream.uvarint()
        if count == 0:
            raise AigifError("E_NONCANONICAL", "extension count 0 with has_extensions set", offset=at)
        if count > MAX_EXTENSIONS:
            raise AigifError("E_LIMIT", f"{count} extensions; the limit is {MAX_EXTENSIONS}", offset=at)
        records, context.last_tag = [], -1
        for _rec in range(count):  # not `_`: that is the ignored *args
            rec = EXTENSION._parsereport(stream, context, "extension")
            context.last_tag = rec.tag
            records.append(rec)
        return records

    def write(self, stream, records, context):
        if len(records) > MAX_EXTENSIONS:
            raise AigifError("E_LIMIT", f"{len(records)} extensions; the limit is {MAX_EXTENSIONS}")
        stream.write(wire.uvarint(len(records)))
        context.last_tag = -1
        for rec in records:
            if rec["tag"] <= context.last_tag:
                raise AigifError("E_EXTENSION_ORDER", f"extension tag {rec['tag']} after {context.last_tag}")
            EXTENSION._build(rec, stream, context, "extension")
            context.last_tag = rec["tag"]


# ------------------------------------------------------------------ the boxes of §6
DIGEST = Struct(                                     # §6.1
    "length" / DigestLength(),
    "digest" / Take(this.length, "digest"),
)
EXTENSIONS = Struct(                                 # §6.2
    "records" / ExtensionList(),
)
PIXEL_PAYLOAD = Struct(                              # §6.3
    "codec" / Entry("pixel_codecs"),
    "length_at" / Tell,
    "length" / PayloadLength(MAX_PIXEL_PAYLOAD, "pixel payload"),
    "data" / Take(this.length, "pixel payload", view=True),
    "header" / PixelHeader(),
)
MODEL_PAYLOAD = Struct(                              # §6.4
    "compressor" / Entry("model_compressors"),
    "length_at" / Tell,
    "length" / PayloadLength(MAX_MODEL_PAYLOAD, "model payload"),
    "sha256" / Take(32, "model payload hash"),
    "data" / Take(this.length, "model payload", view=True),
    "hash" / StoredHash(),
)


# ------------------------------------------------------------------ registered extension bodies
@functools.lru_cache(maxsize=64)
def _extension_struct(reg: Registry, tag: int):
    return fields_struct(reg, [Field.from_json(x) for x in reg.extensions.by_id[tag]["fields"]], inline_str=True)


def decode_extension_body(reg: Registry, tag: int, data: bytes, start: int = 0, end: int | None = None) -> dict:
    """A registered extension's bit fields from ``data[start:end]``, padded
    with zero bits; the fields must use the body exactly (SPEC.md §6.2)."""
    end = len(data) if end is None else end
    stream = wire.BitReader(data, start, end)
    fields = wire.parse(_extension_struct(reg, tag), stream)
    pad_at = stream.tell()
    if not stream.padding_is_zero():
        raise stream.error("E_NONZERO_PADDING", "padding bits of an extension body are not zero", pad_at)
    if stream.bytes_used() != end - start:
        raise AigifError("E_OVERRUN", f"{end - start - stream.bytes_used()} unused bytes at the end of an extension body", offset=start)
    out = plain(fields)
    check_extension_rules(reg, tag, out, start)
    return out


def _default(fd: dict):
    """A field descriptor's default as the decoded value compares with it: a ``bytes`` default is hex in the JSON."""
    return bytes.fromhex(fd["default"]) if fd["type"] == "bytes" else fd["default"]


def check_extension_rules(reg: Registry, tag: int, fields: dict, offset: int | None = None) -> None:
    """The registry's value rules of an extension (SPEC.md §6.2.3): a field with
    ``when`` keeps its default unless the named field has one of the listed
    values (E_RANGE); an extension marked ``not_all_default`` is absent rather
    than all defaults, so that a file has one encoding (E_NONCANONICAL)."""
    entry = reg.extensions.by_id[tag]
    for fd in entry["fields"]:
        cond = fd.get("when")
        if cond and fields[cond["field"]] not in cond["in"] and fields[fd["name"]] != _default(fd):
            raise AigifError("E_RANGE", f"extension {entry['key']}: {fd['name']} must be {fd['default']!r} "
                             f"unless {cond['field']} is one of {cond['in']}", offset=offset)
    if entry.get("not_all_default") and all(fields[fd["name"]] == _default(fd) for fd in entry["fields"]):
        raise AigifError("E_NONCANONICAL", f"extension {entry['key']} with every field at its default: omit it", offset=offset)


#: The Python type each registry field type is written from (SPEC.md §3.9, §8.3); a value of another
#: type is refused with E_RANGE before the wire's writers see it (``bytes(5)`` would be five zero
#: bytes, ``5 .encode`` an AttributeError).
_PY_TYPES = {"str": (str,), "ref": (str,), "bytes": (bytes, bytearray), "uint": (int,), "dec": (int, float)}


def check_value_types(what: str, values: dict, descriptors) -> None:
    """Each value in ``values`` has the Python type its field's registry type is written from;
    ``descriptors`` are :class:`Field` objects or the registry's field dicts."""
    for fd in descriptors:
        name, ftype = (fd.name, fd.type) if isinstance(fd, Field) else (fd["name"], fd["type"])
        if name not in values or ftype not in _PY_TYPES:
            continue
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, _PY_TYPES[ftype]):
            raise AigifError("E_RANGE", f"{what}{name} = {v!r:.40} is not a {ftype} value")
        if ftype == "dec" and isinstance(v, int):
            try:
                float(v)
            except OverflowError:
                raise AigifError("E_RANGE", f"{what}{name}: an integer too large for a dec") from None


def encode_extension_body(reg: Registry, tag: int, fields: dict) -> bytes:
    expected = [f["name"] for f in reg.extensions.by_id[tag]["fields"]]
    if sorted(fields) != sorted(expected):
        raise AigifError("E_FIELDS", f"extension {tag}: fields must be exactly {expected}")
    check_value_types(f"extension {reg.extensions.by_id[tag]['key']}: ", fields, reg.extensions.by_id[tag]["fields"])
    check_extension_rules(reg, tag, fields)
    w = wire.BitWriter()
    _extension_struct(reg, tag).build_stream(fields, w)
    return w.getvalue()


# ------------------------------------------------------------------ sections <-> the in-memory file
def _digest_in(reg, f: AigifFile, s, data) -> None:
    f.digest = s.digest


# The *_out functions run only for a section that is present (write_sections asks Section.present).
def _digest_out(reg, f: AigifFile) -> dict:
    assert f.digest is not None
    return {"length": len(f.digest), "digest": f.digest}


def _extensions_in(reg, f: AigifFile, s, data) -> None:
    for rec in s.records:
        key = reg.extensions.by_id[rec.tag]["key"] if rec.fields is not None else None
        f.extensions.append(Extension(rec.tag, rec.body, key, rec.fields))


def _extensions_out(reg, f: AigifFile) -> dict:
    records = []
    for e in f.extensions:
        if isinstance(e.tag, bool) or not isinstance(e.tag, int):
            raise AigifError("E_RANGE", f"extension tag {e.tag!r:.40} is not an integer")
    for e in sorted(f.extensions, key=lambda e: e.tag):
        if e.tag in reg.extensions.by_id:  # registered: the fields count, the body is rebuilt from them
            fields = e.fields if e.fields is not None else decode_extension_body(reg, e.tag, e.raw)
            body = encode_extension_body(reg, e.tag, fields)
        else:
            body = e.raw
        records.append({"tag": e.tag, "length": len(body), "body_at": None, "body": body, "fields": None})
    return {"records": records}


def _pixels_in(reg, f: AigifFile, s, data) -> None:
    f.pixels = PixelPayload(s.codec["key"], s.data)


def _pixels_out(reg, f: AigifFile) -> dict:
    px = f.pixels
    assert px is not None
    return {"codec": reg.table("pixel_codecs").entry(px.codec), "length_at": None,
            "length": len(px.data), "data": px.data, "header": None}


def _model_in(reg, f: AigifFile, s, data) -> None:
    f.model_payload = ModelPayload(s.compressor["key"], s.sha256, s.data)


def _model_out(reg, f: AigifFile) -> dict:
    mp = f.model_payload
    assert mp is not None
    return {"compressor": reg.table("model_compressors").entry(mp.compressor), "length_at": None,
            "length": len(mp.data), "sha256": mp.sha256, "data": mp.data, "hash": None}


@dataclass(frozen=True)
class Section:
    flag: str           # the core's presence flag
    layout: Struct
    present: Callable[[AigifFile], bool]
    into_file: Callable
    from_file: Callable


#: SPEC.md §6, in file order
SECTIONS = (
    Section("has_digest", DIGEST, lambda f: f.digest is not None, _digest_in, _digest_out),
    Section("has_extensions", EXTENSIONS, lambda f: bool(f.extensions), _extensions_in, _extensions_out),
    Section("saving_pixels", PIXEL_PAYLOAD, lambda f: f.pixels is not None, _pixels_in, _pixels_out),
    Section("saving_model", MODEL_PAYLOAD, lambda f: f.model_payload is not None, _model_in, _model_out),
)


def present_flags(f: AigifFile) -> dict[str, bool]:
    """The core's flags for the sections ``f`` holds."""
    return {s.flag: s.present(f) for s in SECTIONS}


def read_sections(reg: Registry, flags: dict, f: AigifFile, data: bytes, pos: int, end: int) -> int:
    """Read the sections the core's ``flags`` announce into ``f``; returns where the text block starts."""
    stream = wire.ByteReader(data, pos, end)
    for s in SECTIONS:
        if flags[s.flag]:
            s.into_file(reg, f, wire.parse(s.layout, stream, reg=reg, size=(f.width, f.height)), data)
    return stream.pos


def write_sections(reg: Registry, f: AigifFile) -> bytes:
    out = io.BytesIO()
    for s in SECTIONS:
        if s.present(f):
            s.layout.build_stream(s.from_file(reg, f), out, reg=reg, size=(f.width, f.height))
    return out.getvalue()
