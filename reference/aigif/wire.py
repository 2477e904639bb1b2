"""Primitive encodings of SPEC.md §3, as construct classes.

Bit-mode constructs parse a stream in which every byte holds one bit (0 or 1),
as construct's ``Bitwise`` does, most significant bit first (SPEC.md §1).
Each raises :class:`AigifError` with the spec's code and the bit position
where the field started; the caller turns that into a file offset.
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction

from construct import Construct, SizeofError

from .errors import AigifError

_BITCHARS = bytes.maketrans(b"\x00\x01", b"01")
EXPCODE_MAX_UNITS = 16
EXPGOLOMB_MAX_ZEROS = 32
DEC_MAX_E = 6
DEC_M_LIMIT = 1 << 32
SEED_WIDTHS = (8, 16, 32, 64)


# ---------------------------------------------------------------- bit helpers
def read_bits(stream, n: int, start: int) -> int:
    """Read ``n`` bits as an unsigned integer; ``E_OVERRUN`` past the end."""
    if n == 0:
        return 0
    data = stream.read(n)
    if len(data) != n:
        raise AigifError("E_OVERRUN", f"field needs {n} more bits than remain", bit=start)
    return int(data.translate(_BITCHARS), 2)


_TO_BITS = bytes.maketrans(b"01", b"\x00\x01")


def bytes_to_bits(data: bytes) -> bytes:
    """One byte (0 or 1) per bit, most significant first: the bit view construct
    parses. Same result as ``construct.lib.bytes2bits`` at about 25 bytes of
    peak memory per input byte instead of about 96 (bytes2bits joins one
    8-byte object per input byte, and ``bytes.join`` allocates an 80-byte
    buffer descriptor per item)."""
    if not data:
        return b""
    return format(int.from_bytes(data, "big"), f"0{8 * len(data)}b").encode("ascii").translate(_TO_BITS)


def bits_of(value: int, n: int) -> bytes:
    """``value`` as ``n`` bit-bytes, most significant first."""
    if n == 0:
        return b""
    return format(value, f"0{n}b").encode().translate(bytes.maketrans(b"01", b"\x00\x01"))


class _Prim(Construct):
    """Base: no static size; subclasses define _p(stream, start) and _b(value) -> bits."""

    def _parse(self, stream, context, path):
        return self._p(stream, stream.tell())

    def _build(self, obj, stream, context, path):
        stream.write(self._b(obj))
        return obj

    def _sizeof(self, context, path):
        raise SizeofError("variable-length AIGIF field")


# ---------------------------------------------------------------- u(n)
class UBits(_Prim):
    """``u(n)`` (SPEC.md §3.1)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def _p(self, stream, start):
        return read_bits(stream, self.n, start)

    def _b(self, value):
        if not 0 <= value < (1 << self.n):
            raise AigifError("E_RANGE", f"{value} does not fit in {self.n} bits")
        return bits_of(value, self.n)


# ---------------------------------------------------------------- exp-code
def expcode_units(ident: int) -> list[int]:
    """The canonical units of an exp-code (SPEC.md §3.3)."""
    if ident < 0:
        raise AigifError("E_RANGE", f"exp-code ID {ident} is negative")
    k, t = divmod(ident, 255)
    if k + 1 > EXPCODE_MAX_UNITS:
        raise AigifError("E_EXPCODE_OVERLONG", f"ID {ident} needs {k + 1} exp-code units (limit {EXPCODE_MAX_UNITS})")
    return [0xFF] * k + [t]


class ExpCode(_Prim):
    """exp-code in 8-bit units inside bit fields (SPEC.md §3.3)."""

    def _p(self, stream, start):
        ident = 0
        for _ in range(EXPCODE_MAX_UNITS):
            unit = read_bits(stream, 8, start)
            if unit != 0xFF:
                return ident + unit
            ident += 255
        raise AigifError("E_EXPCODE_OVERLONG", f"exp-code longer than {EXPCODE_MAX_UNITS} units", bit=start)

    def _b(self, ident):
        return b"".join(bits_of(u, 8) for u in expcode_units(ident))


def read_expcode_bytes(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """exp-code in byte-aligned sections; returns (ID, new position)."""
    ident = 0
    for _ in range(EXPCODE_MAX_UNITS):
        if pos >= end:
            raise AigifError("E_OVERRUN", "exp-code runs past the end of its section", offset=pos)
        unit = data[pos]
        pos += 1
        if unit != 0xFF:
            return ident + unit, pos
        ident += 255
    raise AigifError("E_EXPCODE_OVERLONG", f"exp-code longer than {EXPCODE_MAX_UNITS} units", offset=pos - 1)


def expcode_bytes(ident: int) -> bytes:
    return bytes(expcode_units(ident))


# ---------------------------------------------------------------- Exp-Golomb
def _read_ue(stream, start) -> int:
    zeros = 0
    while True:
        bit = stream.read(1)
        if not bit:
            raise AigifError("E_OVERRUN", "Exp-Golomb code runs past the end", bit=start)
        if bit == b"\x01":
            break
        zeros += 1
        if zeros > EXPGOLOMB_MAX_ZEROS:
            raise AigifError("E_EXPGOLOMB_OVERLONG", f"Exp-Golomb code with more than {EXPGOLOMB_MAX_ZEROS} leading zeros", bit=start)
    return (1 << zeros) - 1 + read_bits(stream, zeros, start)


def ue_bits(value: int) -> bytes:
    if value < 0:
        raise AigifError("E_RANGE", f"ue value {value} is negative")
    z = (value + 1).bit_length() - 1
    if z > EXPGOLOMB_MAX_ZEROS:
        raise AigifError("E_RANGE", f"value {value} is too large for an Exp-Golomb code")
    return bits_of(0, z) + bits_of(value + 1, z + 1)


def se_to_ue(v: int) -> int:
    return 2 * v - 1 if v > 0 else -2 * v


def ue_to_se(k: int) -> int:
    return (k + 1) // 2 if k & 1 else -(k // 2)


class UE(_Prim):
    """``ue`` (SPEC.md §3.4)."""

    def _p(self, stream, start):
        return _read_ue(stream, start)

    def _b(self, value):
        return ue_bits(value)


class SE(_Prim):
    """``se`` (SPEC.md §3.4)."""

    def _p(self, stream, start):
        return ue_to_se(_read_ue(stream, start))

    def _b(self, value):
        return ue_bits(se_to_ue(value))


class UInt(_Prim):
    """A registry ``uint`` field: ue(value − min), range checked (SPEC.md §3.5)."""

    def __init__(self, name: str, lo: int, hi: int):
        super().__init__()
        self.fname, self.lo, self.hi = name, lo, hi

    def _p(self, stream, start):
        v = _read_ue(stream, start) + self.lo
        if v > self.hi:
            raise AigifError("E_RANGE", f"{self.fname} = {v} is above its maximum {self.hi}", bit=start)
        return v

    def _b(self, value):
        if not isinstance(value, int) or isinstance(value, bool) or not self.lo <= value <= self.hi:
            raise AigifError("E_RANGE", f"{self.fname} = {value!r} is outside [{self.lo}, {self.hi}]")
        return ue_bits(value - self.lo)


class Bool(_Prim):
    def _p(self, stream, start):
        return bool(read_bits(stream, 1, start))

    def _b(self, value):
        return b"\x01" if value else b"\x00"


# ---------------------------------------------------------------- dec
def _f64_bits(x: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def dec_decimal_form(x: float) -> tuple[int, int] | None:
    """(m, e) of the decimal form of ``x`` with the smallest e, or None (SPEC.md §3.6)."""
    if not math.isfinite(x):
        return None
    fx = Fraction(x)
    xb = _f64_bits(x)
    for e in range(DEC_MAX_E + 1):
        m = round(fx * 10 ** e)
        if abs(m) >= DEC_M_LIMIT:
            return None
        # int / int is correctly rounded in Python: the binary64 nearest to m / 10^e.
        if _f64_bits(m / 10 ** e) == xb:
            return m, e
    return None


class Dec(_Prim):
    """``dec``: exact decimal-or-binary64 float (SPEC.md §3.6), with a range."""

    def __init__(self, name: str, lo: float | None = None, hi: float | None = None):
        super().__init__()
        self.fname, self.lo, self.hi = name, lo, hi

    def _range(self, x, start):
        if not math.isfinite(x):
            raise AigifError("E_RANGE", f"{self.fname} is not finite", bit=start)
        if (self.lo is not None and x < self.lo) or (self.hi is not None and x > self.hi):
            raise AigifError("E_RANGE", f"{self.fname} = {x!r} is outside [{self.lo}, {self.hi}]", bit=start)

    def _p(self, stream, start):
        e = read_bits(stream, 3, start)
        if e == 7:
            x = struct.unpack(">d", read_bits(stream, 64, start).to_bytes(8, "big"))[0]
            self._range(x, start)
            if dec_decimal_form(x) is not None:
                raise AigifError("E_NONCANONICAL", f"{self.fname} = {x!r} has a decimal form but is written as binary64", bit=start)
            return x
        m = ue_to_se(_read_ue(stream, start))
        x = m / 10 ** e
        self._range(x, start)
        if (m == 0 and e != 0) or (e > 0 and m % 10 == 0):
            raise AigifError("E_NONCANONICAL", f"{self.fname}: decimal form {m}e-{e} is not the shortest", bit=start)
        return x

    def _b(self, x):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise AigifError("E_RANGE", f"{self.fname} = {x!r} is not a number")
        x = float(x)
        self._range(x, None)
        form = dec_decimal_form(x)
        if form is None:
            return bits_of(7, 3) + bits_of(_f64_bits(x), 64)
        m, e = form
        return bits_of(e, 3) + ue_bits(se_to_ue(m))


# ---------------------------------------------------------------- seed
class Seed(_Prim):
    """``seed``: width class u(2) + u(w) (SPEC.md §3.7)."""

    def _p(self, stream, start):
        c = read_bits(stream, 2, start)
        s = read_bits(stream, SEED_WIDTHS[c], start)
        if c > 0 and s < (1 << SEED_WIDTHS[c - 1]):
            raise AigifError("E_NONCANONICAL", f"seed {s} written with {SEED_WIDTHS[c]} bits; it fits in {SEED_WIDTHS[c - 1]}", bit=start)
        return s

    def _b(self, s):
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < (1 << 64):
            raise AigifError("E_RANGE", f"seed {s!r} is not an unsigned 64-bit integer")
        c = next(i for i, w in enumerate(SEED_WIDTHS) if s < (1 << w))
        return bits_of(c, 2) + bits_of(s, SEED_WIDTHS[c])


# ---------------------------------------------------------------- bytes / str
class BytesField(_Prim):
    """``bytes``: ue(len) + len × u(8) (SPEC.md §3.8); ``str`` adds UTF-8."""

    def __init__(self, name: str, max_len: int, text: bool = False):
        super().__init__()
        self.fname, self.max_len, self.text = name, max_len, text

    def _p(self, stream, start):
        n = _read_ue(stream, start)
        if n > self.max_len:
            raise AigifError("E_RANGE", f"{self.fname}: length {n} exceeds {self.max_len}", bit=start)
        raw = read_bits(stream, 8 * n, start).to_bytes(n, "big") if n else b""
        if self.text:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise AigifError("E_UTF8", f"{self.fname} is not valid UTF-8", bit=start) from None
        return raw

    def _b(self, value):
        raw = value.encode("utf-8") if self.text else bytes(value)
        if len(raw) > self.max_len:
            raise AigifError("E_RANGE", f"{self.fname}: length {len(raw)} exceeds {self.max_len}")
        return ue_bits(len(raw)) + (bits_of(int.from_bytes(raw, "big"), 8 * len(raw)) if raw else b"")


# ---------------------------------------------------------------- uvarint (byte mode)
def read_uvarint(data: bytes, pos: int, end: int, *, truncated_code: str = "E_OVERRUN") -> tuple[int, int]:
    """Canonical unsigned LEB128 (SPEC.md §3.2); returns (value, new position)."""
    start = pos
    value = shift = 0
    for i in range(10):
        if pos >= end:
            raise AigifError(truncated_code, "uvarint runs past the end", offset=start)
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b == 0 and i > 0:
                raise AigifError("E_VARINT", "overlong uvarint (last byte 0x00)", offset=start)
            if value >= 1 << 64:
                raise AigifError("E_VARINT", "uvarint value is 2^64 or more", offset=start)
            return value, pos
    raise AigifError("E_VARINT", "uvarint longer than 10 bytes", offset=start)


def uvarint(value: int) -> bytes:
    if not 0 <= value < 1 << 64:
        raise AigifError("E_RANGE", f"uvarint value {value} out of range")
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
