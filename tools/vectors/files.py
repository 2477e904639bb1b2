"""A file as its parts, field by field (SPEC.md §4–§7), written with the bit
writer independently of the reference writer, so that a reject vector can
change exactly one part; :func:`raw_of` checks that both writers agree."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

from aigif import codec, text
from aigif.conformance.bitwriter import (
    bits_to_bytes,
    bytes_bits,
    dec_bits,
    model_section,
    pack,
    pixel_section,
    ref_bits,
    seed_bits,
    size_fields,
    u,
    ue,
    uvarint,
    with_crc,
)
from aigif.file import AigifFile

from .common import REG, BuildError, ident, table


@dataclass
class Raw:
    """``core`` is a list of [name, bits]; the sections are their exact bytes."""
    core: list
    digest: bytes = b""
    exts: bytes = b""
    pixels: bytes = b""
    model: bytes = b""
    text: bytes = b""
    pad: str | None = None          # padding bits; None: zeros to the byte boundary
    version: int = 1
    length: bytes | None = None     # the body-length field; None: canonical uvarint
    crc: bytes | None = None        # None: the correct CRC-32, little-endian

    def copy(self, **kw) -> Raw:
        r = Raw([list(x) for x in self.core], self.digest, self.exts, self.pixels, self.model, self.text,
                self.pad, self.version, self.length, self.crc)
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    def set(self, name: str, bits: str) -> Raw:
        r = self.copy()
        for x in r.core:
            if x[0] == name:
                x[1] = bits
                return r
        raise KeyError(name)

    def sized(self, h: int, w: int, g: int, unit: int | None = None) -> Raw:
        """The size fields of an h x w image (``unit`` forces the unit)."""
        r = self
        for name, bits in size_fields(h, w, g, unit):
            r = r.set(name, bits)
        return r

    def core_bits(self) -> str:
        bits = "".join(b for _, b in self.core)
        return bits + (("0" * (-len(bits) % 8)) if self.pad is None else self.pad)

    def pad_bits(self) -> int:
        """How many padding bits the core has."""
        return -len("".join(b for _, b in self.core)) % 8

    def body(self) -> bytes:
        return bits_to_bytes(self.core_bits()) + self.digest + self.exts + self.pixels + self.model + self.text

    def bytes(self) -> bytes:
        body = self.body()
        head = b"AIG" + bytes([self.version]) + (uvarint(len(body)) if self.length is None else self.length)
        out = head + body
        return out + (zlib.crc32(out).to_bytes(4, "little") if self.crc is None else self.crc)


def cut_core(r: Raw, field_name: str, tail: str) -> bytes:
    """A file whose body is the core of ``r`` up to ``field_name``, then the
    bits ``tail`` and zeros to the byte boundary: the body ends there."""
    names = [n for n, _ in r.core]
    body = pack("".join(b for _, b in r.core[:names.index(field_name)]) + tail)
    return with_crc(b"AIG\x01" + uvarint(len(body)) + body)


def field_bits(fld, value) -> str:
    if fld.type == "uint":
        return ue(value - fld.min)
    if fld.type == "dec":
        return dec_bits(float(value))
    if fld.type == "ref":
        return ref_bits(fld.table, ident(fld.table, value))
    if fld.type == "bytes":
        return bytes_bits(value)
    if fld.type == "bool":
        return "1" if value else "0"
    raise BuildError(fld.type)


def core_of(f: AigifFile) -> list:
    """The core of ``f`` field by field (SPEC.md §5)."""
    fam = REG.family_of(f.model)
    core = [["saving_pixels", u(f.pixels is not None, 1)], ["saving_model", u(f.model_payload is not None, 1)],
            ["has_digest", u(f.digest is not None, 1)], ["has_extensions", u(bool(f.extensions), 1)],
            ["text_coder", u(ident("text_coders", f.text_coder), 4)], ["device", u(ident("devices", f.device), 4)]]
    core += [[f"platform.{x.name}", field_bits(x, f.platform[x.name])] for x in REG.device_fields(f.device)]
    core += [["model", ref_bits("models", ident("models", f.model))], ["dtype", u(ident("dtypes", f.dtype), 4)],
             ["noise", u(ident("noise_sources", f.noise), 4)]]
    core += size_fields(f.height, f.width, fam.size_multiple)
    core += [["seed", seed_bits(f.seed)]]
    core += [[f"fields.{x.name}", field_bits(x, f.fields[x.name])] for x in fam.fields if x.type != "str"]
    core += [[f"model_fields.{x.name}", field_bits(x, f.model_fields[x.name])] for x in REG.model_fields(f.model) if x.type != "str"]
    return core


def strings_of(f: AigifFile) -> list[str]:
    """The file's strings in text-block order (SPEC.md §7.1)."""
    return [getattr(f, n) if n in ("prompt", "negative_prompt") else f.fields.get(n, f.model_fields.get(n, ""))
            for n in REG.string_fields(f.model)]


def extension_body(tag: int, fields: dict) -> bytes:
    """A registered extension's body (SPEC.md §6.2): its fields in registry
    order — inline ``str`` (§3.8), ``uint`` as ue(value − min) (§3.5), ``ref``
    as the table's ID coding (§3.9) — padded to a byte."""
    bits = []
    for x in REG.extensions.by_id[tag]["fields"]:
        v = fields[x["name"]]
        if x["type"] == "str":
            bits.append(bytes_bits(v.encode("utf-8")))
        elif x["type"] == "uint":
            bits.append(ue(v - x["min"]))
        elif x["type"] == "ref":
            bits.append(ref_bits(x["table"], REG.table(x["table"]).by_key[v]["id"]))
        else:
            raise BuildError(f"extension {tag}: no bit builder for field {x['name']} ({x['type']})")
    return pack("".join(bits))


def extension_records(*records: tuple[int, bytes], count: bytes | None = None) -> bytes:
    """The extensions section from (tag, body) records; ``count`` replaces the count's bytes."""
    return (uvarint(len(records)) if count is None else count) + b"".join(uvarint(t) + uvarint(len(b)) + b for t, b in records)


def raw_of(f: AigifFile) -> Raw:
    """``f`` as a Raw, checked byte for byte against the reference writer."""
    r = Raw(core_of(f), text=text.encode(f.text_coder, strings_of(f)))
    if f.digest is not None:
        r.digest = bytes([len(f.digest)]) + f.digest
    if f.extensions:
        r.exts = extension_records(*((e.tag, e.raw if e.tag not in REG.extensions.by_id else extension_body(e.tag, e.fields))
                                     for e in sorted(f.extensions, key=lambda e: e.tag)))
    if f.pixels is not None:
        r.pixels = pixel_section(f.pixels.data, table("pixel_codecs").id_of(f.pixels.codec))
    if f.model_payload is not None:
        mp = f.model_payload
        r.model = model_section(mp.data, mp.sha256, table("model_compressors").id_of(mp.compressor))
    if r.bytes() != codec.write(f, REG):
        raise BuildError(f"the builder's own writer disagrees with the reference for {f}")
    return r
