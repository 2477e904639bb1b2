"""Primitive encodings of SPEC.md §3, as construct classes.

Bit-mode constructs read a :class:`BitReader` and write a :class:`BitWriter`,
most significant bit first (SPEC.md §1). The reader takes bits straight from
the bytes of the file — nothing is expanded to one byte per bit — so a field
costs what it reads, however long the body behind it. A reader knows the
file offset of its first byte, so every error carries its file offset when
it is raised; nothing patches offsets afterwards.

Byte-mode helpers (uvarint, exp-code in byte units) serve the container and
the sections (SPEC.md §4, §6).
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction

from construct import Construct, Container, SizeofError

from .errors import AigifError

EXPCODE_MAX_UNITS = 16
EXPGOLOMB_MAX_ZEROS = 32
DEC_MAX_E = 6
DEC_M_LIMIT = 1 << 32
SEED_WIDTHS = (8, 16, 32, 64)


def parse(con: Construct, stream, **params):
    """``con.parse_stream(stream, **params)``, with the context made in one
    call instead of four attribute assignments (a fifth of the container's
    parse time). Parameters are ``context._params``."""
    context = Container(params, _parsing=True, _building=False, _sizing=False)
    context["_params"] = context
    return con._parsereport(stream, context, "(parsing)")


# ---------------------------------------------------------------- bit streams
class BitReader:
    """Bits of ``data[start:end]``, MSB first; ``tell()`` is the bit position
    from ``start``, which is byte ``start`` of the file.

    The first :data:`HEAD_BYTES` bytes are also held as one integer, so the
    fields there (the whole core of any real file) are read with a shift and
    a mask; fields past it are read from slices of the bytes. Either way no
    bit is expanded and a long body costs nothing until it is read."""

    __slots__ = ("data", "start", "pos", "nbits", "head", "head_bits")
    HEAD_BYTES = 64

    def __init__(self, data: bytes, start: int = 0, end: int | None = None, nbits: int | None = None):
        self.data = data
        self.start = start
        self.pos = 0
        self.nbits = 8 * ((len(data) if end is None else end) - start) if nbits is None else nbits
        head = min(self.HEAD_BYTES, (self.nbits + 7) // 8)
        self.head = int.from_bytes(data[start:start + head], "big")
        self.head_bits = 8 * head

    def tell(self) -> int:
        return self.pos

    def error(self, code: str, message: str, bit: int) -> AigifError:
        return AigifError(code, message, offset=self.start + bit // 8, bit=bit)

    def peek(self, n: int) -> int:
        """The next ``n`` bits (``n`` ≤ what remains) without consuming them."""
        e = self.pos + n
        if e <= self.head_bits:
            return (self.head >> (self.head_bits - e)) & ((1 << n) - 1)
        b = self.start
        return (int.from_bytes(self.data[b + (self.pos >> 3):b + ((e + 7) >> 3)], "big") >> (-e & 7)) & ((1 << n) - 1)

    def uint_at(self, bit: int, n: int) -> int:
        """``n`` bits from bit ``bit`` (for showing raw bits; no bounds error)."""
        self.pos = bit
        return self.peek(n)

    def uint(self, n: int, start: int) -> int:
        """``u(n)``; ``E_OVERRUN`` (at the field's first bit ``start``) past the end."""
        e = self.pos + n
        if e > self.nbits:
            raise self.error("E_OVERRUN", f"field needs {n} more bits than remain", start)
        if e <= self.head_bits:
            self.pos = e
            return (self.head >> (self.head_bits - e)) & ((1 << n) - 1)
        v = self.peek(n) if n else 0
        self.pos = e
        return v

    def ue(self, start: int) -> int:
        """Exp-Golomb ``ue`` (SPEC.md §3.4): at most 32 zeros, a one, as many bits again."""
        k = min(self.nbits - self.pos, EXPGOLOMB_MAX_ZEROS + 1)
        head = self.peek(k) if k else 0
        if head == 0:
            if k > EXPGOLOMB_MAX_ZEROS:
                raise self.error("E_EXPGOLOMB_OVERLONG", f"Exp-Golomb code with more than {EXPGOLOMB_MAX_ZEROS} leading zeros", start)
            raise self.error("E_OVERRUN", "Exp-Golomb code runs past the end", start)
        zeros = k - head.bit_length()
        self.pos += zeros + 1
        return (1 << zeros) - 1 + self.uint(zeros, start)

    def padding_is_zero(self) -> bool:
        """Consume the zero bits up to the next byte boundary (SPEC.md §3.10)."""
        pad = -self.pos % 8
        return self.uint(min(pad, self.nbits - self.pos), self.pos) == 0

    def bytes_used(self) -> int:
        return (self.pos + 7) // 8


class BitWriter:
    """Accumulates bit fields MSB first; ``getvalue()`` pads with zero bits."""

    __slots__ = ("acc", "n")

    def __init__(self):
        self.acc = 0
        self.n = 0

    def write(self, value: int, n: int) -> None:
        self.acc = (self.acc << n) | value
        self.n += n

    def tell(self) -> int:
        return self.n

    def getvalue(self) -> bytes:
        pad = -self.n % 8
        return (self.acc << pad).to_bytes((self.n + pad) // 8, "big")


class Prim(Construct):
    """A leaf field: subclasses define ``read(stream)`` and ``write(w, value)``.

    ``read`` is also the subclass's construct ``_parse`` (it ignores the
    context and path construct passes): one call per field on the hot path."""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "read" in cls.__dict__:
            cls._parse = cls._parsereport = cls.read

    def _build(self, obj, stream, context, path):
        self.write(stream, obj)
        return obj

    def _sizeof(self, context, path):
        raise SizeofError("variable-length AIGIF field")


# ---------------------------------------------------------------- u(n)
class UBits(Prim):
    """``u(n)`` (SPEC.md §3.1)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def read(self, stream, *_):
        start = stream.pos
        return stream.uint(self.n, start)

    def write(self, w, value):
        if not 0 <= value < (1 << self.n):
            raise AigifError("E_RANGE", f"{value} does not fit in {self.n} bits")
        w.write(value, self.n)


class Bool(Prim):
    """``u(1)`` as a flag."""

    def read(self, stream, *_):
        start = stream.pos
        return bool(stream.uint(1, start))

    def write(self, w, value):
        w.write(1 if value else 0, 1)


# ---------------------------------------------------------------- exp-code
def expcode_units(ident: int) -> list[int]:
    """The canonical units of an exp-code (SPEC.md §3.3)."""
    if ident < 0:
        raise AigifError("E_RANGE", f"exp-code ID {ident} is negative")
    k, t = divmod(ident, 255)
    if k + 1 > EXPCODE_MAX_UNITS:
        raise AigifError("E_EXPCODE_OVERLONG", f"ID {ident} needs {k + 1} exp-code units (limit {EXPCODE_MAX_UNITS})")
    return [0xFF] * k + [t]


class ExpCode(Prim):
    """exp-code in 8-bit units inside bit fields (SPEC.md §3.3)."""

    def read(self, stream, *_):
        start = stream.pos
        ident = 0
        for _unit in range(EXPCODE_MAX_UNITS):  # not `_`: that is the ignored *args
            unit = stream.uint(8, start)
            if unit != 0xFF:
                return ident + unit
            ident += 255
        raise stream.error("E_EXPCODE_OVERLONG", f"exp-code longer than {EXPCODE_MAX_UNITS} units", start)

    def write(self, w, ident):
        for u in expcode_units(ident):
            w.write(u, 8)


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
def check_ue(value: int) -> int:
    """The number of leading zeros of ``ue(value)``; ``E_RANGE`` if it has no code."""
    if value < 0:
        raise AigifError("E_RANGE", f"ue value {value} is negative")
    z = (value + 1).bit_length() - 1
    if z > EXPGOLOMB_MAX_ZEROS:
        raise AigifError("E_RANGE", f"value {value} is too large for an Exp-Golomb code")
    return z


def write_ue(w: BitWriter, value: int) -> None:
    z = check_ue(value)
    w.write(value + 1, 2 * z + 1)  # z zeros, then value + 1 in z + 1 bits


def se_to_ue(v: int) -> int:
    return 2 * v - 1 if v > 0 else -2 * v


def ue_to_se(k: int) -> int:
    return (k + 1) // 2 if k & 1 else -(k // 2)


class UE(Prim):
    """``ue`` (SPEC.md §3.4)."""

    def read(self, stream, *_):
        start = stream.pos
        return stream.ue(start)

    def write(self, w, value):
        write_ue(w, value)


class SE(Prim):
    """``se`` (SPEC.md §3.4)."""

    def read(self, stream, *_):
        start = stream.pos
        return ue_to_se(stream.ue(start))

    def write(self, w, value):
        write_ue(w, se_to_ue(value))


class UInt(Prim):
    """A registry ``uint`` field: ue(value − min), range checked (SPEC.md §3.5)."""

    def __init__(self, name: str, lo: int, hi: int):
        super().__init__()
        self.fname, self.lo, self.hi = name, lo, hi

    def read(self, stream, *_):
        start = stream.pos
        v = stream.ue(start) + self.lo
        if v > self.hi:
            raise stream.error("E_RANGE", f"{self.fname} = {v} is above its maximum {self.hi}", start)
        return v

    def write(self, w, value):
        if not isinstance(value, int) or isinstance(value, bool) or not self.lo <= value <= self.hi:
            raise AigifError("E_RANGE", f"{self.fname} = {value!r} is outside [{self.lo}, {self.hi}]")
        write_ue(w, value - self.lo)


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


class Dec(Prim):
    """``dec``: exact decimal-or-binary64 float (SPEC.md §3.6), with a range."""

    def __init__(self, name: str, lo: float | None = None, hi: float | None = None):
        super().__init__()
        self.fname, self.lo, self.hi = name, lo, hi

    def _out_of_range(self, x) -> str | None:
        if not math.isfinite(x):
            return f"{self.fname} is not finite"
        if (self.lo is not None and x < self.lo) or (self.hi is not None and x > self.hi):
            return f"{self.fname} = {x!r} is outside [{self.lo}, {self.hi}]"
        return None

    def read(self, stream, *_):
        start = stream.pos
        e = stream.uint(3, start)
        if e == 7:
            x = struct.unpack(">d", stream.uint(64, start).to_bytes(8, "big"))[0]
            bad = self._out_of_range(x)
            if bad:
                raise stream.error("E_RANGE", bad, start)
            if dec_decimal_form(x) is not None:
                raise stream.error("E_NONCANONICAL", f"{self.fname} = {x!r} has a decimal form but is written as binary64", start)
            return x
        m = ue_to_se(stream.ue(start))
        x = m / 10 ** e
        bad = self._out_of_range(x)
        if bad:
            raise stream.error("E_RANGE", bad, start)
        if (m == 0 and e != 0) or (e > 0 and m % 10 == 0):
            raise stream.error("E_NONCANONICAL", f"{self.fname}: decimal form {m}e-{e} is not the shortest", start)
        return x

    def write(self, w, x):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise AigifError("E_RANGE", f"{self.fname} = {x!r} is not a number")
        x = float(x)
        bad = self._out_of_range(x)
        if bad:
            raise AigifError("E_RANGE", bad)
        form = dec_decimal_form(x)
        if form is None:
            w.write(7, 3)
            w.write(_f64_bits(x), 64)
            return
        m, e = form
        w.write(e, 3)
        write_ue(w, se_to_ue(m))


# ---------------------------------------------------------------- seed
class Seed(Prim):
    """``seed``: width class u(2) + u(w) (SPEC.md §3.7)."""

    def read(self, stream, *_):
        start = stream.pos
        c = stream.uint(2, start)
        s = stream.uint(SEED_WIDTHS[c], start)
        if c > 0 and s < (1 << SEED_WIDTHS[c - 1]):
            raise stream.error("E_NONCANONICAL", f"seed {s} written with {SEED_WIDTHS[c]} bits; it fits in {SEED_WIDTHS[c - 1]}", start)
        return s

    def write(self, w, s):
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < (1 << 64):
            raise AigifError("E_RANGE", f"seed {s!r} is not an unsigned 64-bit integer")
        c = next(i for i, width in enumerate(SEED_WIDTHS) if s < (1 << width))
        w.write(c, 2)
        w.write(s, SEED_WIDTHS[c])


# ---------------------------------------------------------------- bytes / str
class BytesField(Prim):
    """``bytes``: ue(len) + len × u(8) (SPEC.md §3.8); ``str`` adds UTF-8.
    The length is checked against its maximum before the bytes are read."""

    def __init__(self, name: str, max_len: int, text: bool = False):
        super().__init__()
        self.fname, self.max_len, self.text = name, max_len, text

    def read(self, stream, *_):
        start = stream.pos
        n = stream.ue(start)
        if n > self.max_len:
            raise stream.error("E_RANGE", f"{self.fname}: length {n} exceeds {self.max_len}", start)
        raw = stream.uint(8 * n, start).to_bytes(n, "big")
        if not self.text:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise stream.error("E_UTF8", f"{self.fname} is not valid UTF-8", start) from None

    def write(self, w, value):
        if self.text:
            try:
                raw = value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
                raise AigifError("E_UTF8", f"{self.fname} holds a code point that UTF-8 cannot encode") from None
        else:
            raw = bytes(value)
        if len(raw) > self.max_len:
            raise AigifError("E_RANGE", f"{self.fname}: length {len(raw)} exceeds {self.max_len}")
        write_ue(w, len(raw))
        w.write(int.from_bytes(raw, "big"), 8 * len(raw))


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


# ---------------------------------------------------------------- byte streams
class ByteReader:
    """Bytes ``data[pos:end]`` for the byte-aligned parts (SPEC.md §4, §6):
    positions and error offsets are file offsets."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def tell(self) -> int:
        return self.pos

    def u8(self, what: str) -> int:
        if self.pos >= self.end:
            raise AigifError("E_OVERRUN", f"{what} runs past the end of the body", offset=self.pos)
        self.pos += 1
        return self.data[self.pos - 1]

    def uvarint(self, truncated_code: str = "E_OVERRUN") -> int:
        value, self.pos = read_uvarint(self.data, self.pos, self.end, truncated_code=truncated_code)
        return value

    def expcode(self) -> int:
        ident, self.pos = read_expcode_bytes(self.data, self.pos, self.end)
        return ident

    def take(self, n: int, what: str) -> bytes:
        if n > self.end - self.pos:
            raise AigifError("E_OVERRUN", f"{what} of {n} bytes runs past the end of the body", offset=self.pos)
        self.pos += n
        return self.data[self.pos - n:self.pos]


class ByteField(Construct):
    """A byte-mode leaf: subclasses define ``read(stream, context, *_)`` and
    ``write(out, value, context)``; the context gives the fields read before.
    As with :class:`Prim`, ``read`` is the construct ``_parse`` itself."""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "read" in cls.__dict__:
            cls._parse = cls._parsereport = cls.read

    def _build(self, obj, stream, context, path):
        self.write(stream, obj, context)
        return obj

    def _sizeof(self, context, path):
        raise SizeofError("variable-length AIGIF field")
