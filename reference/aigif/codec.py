"""read / write / validate (SPEC.md §4–§7, §9).

``read`` follows the decoding procedure of SPEC.md §9 step by step and
reports the first error with its code and byte offset. ``write`` produces
the canonical form, so ``write(read(b)) == b`` for every valid ``b``.
"""
from __future__ import annotations

import io
import zlib

from construct.lib import bits2bytes

from . import sections, text, wire
from .errors import AigifError
from .file import AigifFile
from .registry import Registry, load
from .syntax import compiled_core, core_struct

MAGIC = b"AIG"
VERSION = 1
MAX_BODY = (1 << 32) - 1


# ------------------------------------------------------------------ container
def _container(data: bytes) -> tuple[int, int]:
    """Steps 1–5 of SPEC.md §9; returns (body start, body end)."""
    if len(data) < 3:
        code = "E_TRUNCATED" if MAGIC.startswith(data) and data else "E_MAGIC"
        raise AigifError(code, "file too short for the magic", offset=0)
    if data[:3] != MAGIC:
        raise AigifError("E_MAGIC", "not an AIGIF file (magic is not 'AIG')", offset=0)
    if len(data) < 4:
        raise AigifError("E_TRUNCATED", "file ends before the format version", offset=3)
    if data[3] != VERSION:
        raise AigifError("E_VERSION", f"format version {data[3]} is not supported (this decoder reads version {VERSION})", offset=3)
    body_len, start = wire.read_uvarint(data, 4, len(data), truncated_code="E_TRUNCATED")
    if body_len < 1 or body_len > MAX_BODY:
        raise AigifError("E_LIMIT", f"body length {body_len} is outside 1..{MAX_BODY}", offset=4)
    expected = start + body_len + 4
    if len(data) < expected:
        raise AigifError("E_TRUNCATED", f"file has {len(data)} bytes; its header says {expected}", offset=len(data))
    if len(data) > expected:
        raise AigifError("E_TRAILING_DATA", f"{len(data) - expected} bytes after the end of the file", offset=expected)
    crc = int.from_bytes(data[-4:], "little")
    if zlib.crc32(data[:-4]) != crc:
        raise AigifError("E_CHECKSUM", "CRC-32 mismatch: the file is corrupted", offset=len(data) - 4)
    return start, start + body_len


# ------------------------------------------------------------------ read
def _plain(obj) -> dict:
    """A construct Container of leaf fields -> a plain dict (without construct's private keys)."""
    return {k: v for k, v in obj.items() if k[0] != "_"}


CORE_WINDOW = 512  # bytes: far more than any real core; payloads stay out of the bit view


def parse_core(reg: Registry, body: bytes):
    """Parse the bit-packed core; returns (Container, core length in bytes).
    Only a window of the body is expanded to one byte per bit, so a large
    payload does not cost eight times its size in memory."""
    try:
        return _parse_core(reg, body[:CORE_WINDOW])
    except AigifError as err:
        if err.code != "E_OVERRUN" or len(body) <= CORE_WINDOW:
            raise
    return _parse_core(reg, body)  # a pathological core longer than the window


def _parse_core(reg: Registry, body: bytes):
    stream = io.BytesIO(wire.bytes_to_bits(body))
    core = compiled_core(reg).parse_stream(stream)
    pos = stream.tell()
    pad = -pos % 8
    if wire.read_bits(stream, pad, pos):
        raise AigifError("E_NONZERO_PADDING", "padding bits after the core are not zero", bit=pos)
    return core, (pos + pad) // 8


def read(data: bytes, reg: Registry | None = None) -> AigifFile:
    reg = reg or load()
    data = bytes(data)
    start, end = _container(data)
    body = data[start:end]
    try:
        core, pos = parse_core(reg, body)
    except AigifError as err:
        if err.offset is None:
            err.offset = start + (err.bit or 0) // 8
        raise
    f = AigifFile(
        model=core.model, height=core.size[0], width=core.size[1], seed=core.seed,
        fields=_plain(core.fields), model_fields=_plain(core.model_fields),
        device=core.device, platform=_plain(core.platform), dtype=core.dtype,
        noise=core.noise, text_coder=core.text_coder,
    )
    pos = sections.read_sections(reg, core, f, data, start + pos, end)
    names = reg.string_fields(f.model)
    try:
        strings = text.decode(f.text_coder, data[pos:end], len(names))
    except AigifError as err:
        err.offset = pos if err.offset is None else pos + err.offset
        raise
    _assign_strings(reg, f, names, strings)
    return f


def _assign_strings(reg: Registry, f: AigifFile, names: list[str], strings: list[str]) -> None:
    family = {x.name for x in reg.family_of(f.model).fields}
    for name, s in zip(names, strings):
        if name in ("prompt", "negative_prompt"):
            setattr(f, name, s)
        elif name in family:
            f.fields[name] = s
        else:
            f.model_fields[name] = s


def validate(data: bytes, reg: Registry | None = None) -> AigifError | None:
    """None if ``data`` is a valid AIGIF file, else the first error."""
    try:
        read(data, reg)
    except AigifError as err:
        return err
    return None


# ------------------------------------------------------------------ write
def _strings(reg: Registry, f: AigifFile) -> list[str]:
    """The file's strings in text-block order; each must be encodable as UTF-8."""
    out = []
    for name in reg.string_fields(f.model):
        if name in ("prompt", "negative_prompt"):
            v = getattr(f, name)
        else:
            v = f.fields.get(name, f.model_fields.get(name, ""))
        if not isinstance(v, str):
            raise AigifError("E_RANGE", f"{name} must be a string")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form exists
            raise AigifError("E_UTF8", f"{name} holds a code point that UTF-8 cannot encode") from None
        out.append(v)
    return out


def write(f: AigifFile, reg: Registry | None = None) -> bytes:
    """The canonical bytes of ``f``; raises AigifError for values the format
    cannot hold (same codes a decoder would report)."""
    reg = reg or load()
    if f.model not in reg.table("models"):
        raise AigifError("E_UNKNOWN_ID", f"models has no entry {f.model!r}")
    str_names = set(reg.string_fields(f.model))
    bit_fields = {k: v for k, v in f.fields.items() if k not in str_names}
    bit_model_fields = {k: v for k, v in f.model_fields.items() if k not in str_names}
    _check_keys("fields", bit_fields, [x.name for x in reg.family_of(f.model).fields if x.type != "str"])
    _check_keys("model_fields", bit_model_fields, [x.name for x in reg.model_fields(f.model) if x.type != "str"])
    if f.device not in reg.table("devices"):
        raise AigifError("E_UNKNOWN_ID", f"devices has no entry {f.device!r}")
    _check_keys("platform", f.platform, [x.name for x in reg.device_fields(f.device)])
    core = dict(
        saving_pixels=f.pixels is not None, saving_model=f.model_payload is not None,
        has_digest=f.digest is not None, has_extensions=bool(f.extensions),
        text_coder=f.text_coder, device=f.device, platform=f.platform, model=f.model,
        dtype=f.dtype, noise=f.noise, size=(f.height, f.width), seed=f.seed,
        fields=bit_fields, model_fields=bit_model_fields,
    )
    stream = io.BytesIO()
    core_struct(reg).build_stream(core, stream)
    bits = stream.getvalue()
    bits += b"\x00" * (-len(bits) % 8)
    body = bits2bytes(bits) + sections.write_sections(reg, f) + text.encode(f.text_coder, _strings(reg, f))
    head = MAGIC + bytes([VERSION]) + wire.uvarint(len(body))
    out = head + body
    return out + zlib.crc32(out).to_bytes(4, "little")


def _check_keys(what: str, given: dict, expected: list[str]) -> None:
    if sorted(given) != sorted(expected):
        missing = sorted(set(expected) - set(given))
        extra = sorted(set(given) - set(expected))
        raise AigifError("E_FIELDS", f"{what}: missing {missing}, unexpected {extra}")
