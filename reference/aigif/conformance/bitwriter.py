"""Files crafted by hand: the primitives of SPEC.md §3 as MSB-first bit
strings ("0"/"1", SPEC.md §1), the container of §4, and an RFC 1951
fixed-Huffman writer.

Shared by the vector builder (``python -m tools.vectors``) and the fuzz
seeds and hostile inputs (``fuzz/``). Written from SPEC.md, not with the
reference writer: the writer refuses to produce invalid files, and a builder
that checks the reference must not share its code. Nothing here validates a
value beyond what its encoding needs, so any field can be given bits no
valid file has.
"""
from __future__ import annotations

import functools
import json
import math
import struct
import zlib
from bisect import bisect_right
from fractions import Fraction

SEED_WIDTHS = (8, 16, 32, 64)
DEC_MAX_E = 6            # SPEC.md §3.6: the decimal form's largest exponent
DEC_M_LIMIT = 1 << 32    # ... and the bound on |m|
DEC_BINARY = 7           # the e code of the binary64 form
SIZE_UNIT = 64           # SPEC.md §5: size_unit 1 means units of 64


# ---------------------------------------------------------------- bit strings (MSB first)
def u(v: int, n: int) -> str:
    """u(n): ``v`` in ``n`` bits."""
    if not 0 <= v < (1 << n):
        raise ValueError(f"{v} does not fit in {n} bits")
    return format(v, f"0{n}b") if n else ""


def ue(v: int) -> str:
    """Exp-Golomb (SPEC.md §3.4): z zeros, then v + 1 in z + 1 bits."""
    z = (v + 1).bit_length() - 1
    return "0" * z + format(v + 1, "b")


def se(v: int) -> str:
    """Signed Exp-Golomb: 0, 1, -1, 2, -2, … as ue 0, 1, 2, 3, 4, …"""
    return ue(2 * v - 1 if v > 0 else -2 * v)


def expc(ident: int) -> str:
    """Exp-code (SPEC.md §3.3): one 0xFF unit per 255, then the rest."""
    k, t = divmod(ident, 255)
    return "11111111" * k + u(t, 8)


def seed_bits(s: int, c: int | None = None) -> str:
    """The seed (SPEC.md §3.7): a 2-bit width class, then the seed; ``c``
    forces the class (by default the smallest that holds ``s``)."""
    if c is None:
        c = next(i for i, w in enumerate(SEED_WIDTHS) if s < (1 << w))
    return u(c, 2) + u(s, SEED_WIDTHS[c])


def f64_bits(x: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def decimal_form(x: float) -> tuple[int, int] | None:
    """(m, e) with the smallest e such that the binary64 nearest m / 10^e is
    ``x`` (SPEC.md §3.6), or None: ``x`` then has only the binary form."""
    if not math.isfinite(x):
        return None
    for e in range(DEC_MAX_E + 1):
        m = round(Fraction(x) * 10 ** e)
        if abs(m) >= DEC_M_LIMIT:
            return None
        if f64_bits(m / 10 ** e) == f64_bits(x):  # int / int is correctly rounded
            return m, e
    return None


def dec_decimal(m: int, e: int = 0) -> str:
    """A ``dec`` in decimal form m / 10^e, canonical or not."""
    return u(e, 3) + se(m)


def dec_binary(x: float) -> str:
    """A ``dec`` in binary64 form, canonical or not."""
    return u(DEC_BINARY, 3) + u(f64_bits(x), 64)


def dec_bits(x: float) -> str:
    """A ``dec`` in its canonical form."""
    form = decimal_form(x)
    return dec_binary(x) if form is None else dec_decimal(*form)


def bytes_bits(b: bytes) -> str:
    """A ``bytes`` field: ue length, then the bytes."""
    return ue(len(b)) + "".join(format(x, "08b") for x in b)


@functools.cache
def coded_as(table: str) -> str:
    """How a registry table's IDs are coded (SPEC.md §3.9): its ``coded_as``."""
    from aigif.registry import registry_dir
    return json.loads((registry_dir() / f"{table}.json").read_text(encoding="utf-8"))["coded_as"]


def ref_bits(table: str, ident: int) -> str:
    """A reference to entry ``ident`` of ``table``, coded as its table is."""
    c = coded_as(table)
    if c == "u4":
        return u(ident, 4)
    if c == "ue":
        return ue(ident)
    if c == "exp-code":
        return expc(ident)
    raise ValueError(f"table {table} is coded as {c!r}, which this writer does not know")


def size_fields(h: int, w: int, g: int, unit: int | None = None) -> list[list[str]]:
    """``size_unit``, ``height``, ``width`` (SPEC.md §5) of an h x w image
    in a family of size multiple ``g``, as [name, bits]; ``unit`` forces the
    unit (64 or ``g``), canonical or not."""
    if unit is None:
        unit = SIZE_UNIT if h % SIZE_UNIT == 0 and w % SIZE_UNIT == 0 and SIZE_UNIT % g == 0 else g
    return [["size_unit", u(unit == SIZE_UNIT, 1)], ["height", ue(h // unit - 1)], ["width", se((w - h) // unit)]]


def bits_to_bytes(bits: str) -> bytes:
    """A bit string of whole bytes as bytes."""
    if len(bits) % 8:
        raise ValueError("not a whole number of bytes")
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def pack(bits: str) -> bytes:
    """A bit string padded with zero bits to a byte boundary (SPEC.md §3.10)."""
    return bits_to_bytes(bits + "0" * (-len(bits) % 8))


# ---------------------------------------------------------------- bytes
def uvarint(v: int) -> bytes:
    """LEB128 (SPEC.md §3.2), without the < 2^64 check, for crafting bad files."""
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def expcode_bytes(ident: int) -> bytes:
    """An exp-code in the byte-aligned sections (payload codecs, compressors)."""
    return bits_to_bytes(expc(ident))


def pixel_section(data: bytes, codec_id: int = 0, length: int | None = None) -> bytes:
    """A pixel payload (SPEC.md §6.3): codec exp-code, length (``length``
    replaces the true one), data."""
    return expcode_bytes(codec_id) + uvarint(len(data) if length is None else length) + data


def model_section(data: bytes, sha256: bytes, compressor: int = 0, length: int | None = None) -> bytes:
    """A model payload (SPEC.md §6.4): compressor exp-code, length, SHA-256, data."""
    return expcode_bytes(compressor) + uvarint(len(data) if length is None else length) + sha256 + data


def frame(strings) -> bytes:
    """Framed strings (SPEC.md §7.1): each its uvarint byte length, then its
    UTF-8 (``str``) or raw (``bytes``) bytes."""
    return b"".join(uvarint(len(s)) + s for s in (x.encode("utf-8") if isinstance(x, str) else x for x in strings))


def with_crc(prefix: bytes) -> bytes:
    """``prefix`` followed by its CRC-32, little-endian (SPEC.md §4.3)."""
    return prefix + zlib.crc32(prefix).to_bytes(4, "little")


def wrap(body: bytes, version: int = 1) -> bytes:
    """The container around a body (SPEC.md §4): magic, version, body length, CRC-32."""
    return with_crc(b"AIG" + bytes([version]) + uvarint(len(body)) + body)


# ---------------------------------------------------------------- DEFLATE, symbol by symbol
_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
              2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]


class DeflateWriter:
    """RFC 1951 bit packing (LSB first; Huffman codes MSB first), fixed
    Huffman codes only: any stream, canonical or not, valid or not."""

    def __init__(self):
        self.acc, self.n = 0, 0

    def bits(self, value: int, n: int):
        self.acc |= value << self.n
        self.n += n

    def huff(self, code: int, length: int):
        self.bits(int(format(code, f"0{length}b")[::-1], 2), length)

    def block(self, final: bool, btype: int):
        self.bits(int(final), 1)
        self.bits(btype, 2)

    def sym(self, s: int):
        if s < 144:
            self.huff(0x30 + s, 8)
        elif s < 256:
            self.huff(0x190 + s - 144, 9)
        elif s < 280:
            self.huff(s - 256, 7)
        else:
            self.huff(0xC0 + s - 280, 8)

    def literal(self, b: int):
        self.sym(b)

    def match(self, length: int, dist: int):
        i = 28 if length == 258 else bisect_right(_LEN_BASE, length) - 1
        self.sym(257 + i)
        self.bits(length - _LEN_BASE[i], _LEN_EXTRA[i])
        d = bisect_right(_DIST_BASE, dist) - 1
        self.huff(d, 5)
        self.bits(dist - _DIST_BASE[d], _DIST_EXTRA[d])

    def eob(self):
        self.sym(256)

    def pad_to_byte(self, fill: int = 0):
        k = -self.n % 8
        self.bits(fill & ((1 << k) - 1), k)

    def getvalue(self) -> bytes:
        return self.acc.to_bytes((self.n + 7) // 8, "little")
