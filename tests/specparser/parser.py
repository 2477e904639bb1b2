"""A minimal AIGIF 1.0 decoder written from SPEC.md alone (stdlib only).

``parse(data) -> dict`` returns the JSON field representation of SPEC §17 or
raises ``SpecError(code, message)`` with the first error of the decoding
procedure of SPEC §9.  Section numbers in comments refer to SPEC.md.

Where SPEC.md is silent or ambiguous the choice made here is marked
``# OPEN`` (or cites the item) and logged in ``tests/specparser/NOTES.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_DIR = ROOT / "registry"

MAGIC = b"AIG"
FORMAT_VERSION = 1
MAX_BODY = 2**32 - 1  # §11
MAX_SIZE = 16384  # §5, §11
TEXT_LIMIT = 65536  # §7.1, §11
MAX_EXTENSIONS = 32  # §6.2, §11
PIXEL_LIMIT = 256 * 1024 * 1024  # §11
MODEL_LIMIT = 2 * 1024**3  # §11
EXPCODE_MAX_UNITS = 16  # §3.3
EG_MAX_ZEROS = 32  # §3.4
DIGEST_LENGTHS = (8, 16, 32)  # §6.1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class SpecError(Exception):
    """An AIGIF error: ``code`` is one of the strings of SPEC §10."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------
# Registry (§8)
# ---------------------------------------------------------------------------


class Registry:
    def __init__(self, directory: Path = REGISTRY_DIR):
        def load(name):
            with open(directory / f"{name}.json", encoding="utf-8") as fh:
                return json.load(fh)

        self.tables: dict[str, dict[int, dict]] = {}
        self.coded_as: dict[str, str] = {}
        # §8: the index names the tables; families and extensions have their own shapes
        for name in (t for t in load("registry")["tables"] if t not in ("families", "extensions")):
            doc = load(name)
            self.tables[name] = {e["id"]: e for e in doc["entries"]}
            self.coded_as[name] = doc.get("coded_as", "exp-code")
        fam = load("families")
        self.families = {e["key"]: e for e in fam["entries"]}
        self.core_strings = [f["name"] for f in fam.get("core_strings", [])] or ["prompt", "negative_prompt"]
        ext = load("extensions")
        self.extensions = {e["tag"]: e for e in ext["entries"]}

    def lookup(self, table: str, ident: int) -> dict:
        entry = self.tables[table].get(ident)
        if entry is None:
            raise SpecError("E_UNKNOWN_ID", f"{table} has no ID {ident}")
        return entry


_REGISTRY: Registry | None = None


def load_registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


# ---------------------------------------------------------------------------
# Primitive readers (§3)
# ---------------------------------------------------------------------------


class BitReader:
    """MSB-first bit reader over ``data[start:end]`` (§1)."""

    def __init__(self, data: bytes, start: int, end: int):
        self.data = data
        self.start = start
        self.end = end
        self.pos = start * 8  # absolute bit position

    def bits_left(self) -> int:
        return self.end * 8 - self.pos

    def u(self, n: int) -> int:
        if n == 0:
            return 0
        if self.pos + n > self.end * 8:
            raise SpecError("E_OVERRUN", "bit field runs past the end of its container")
        value = 0
        pos = self.pos
        # fast path for aligned whole bytes
        while n >= 8 and pos % 8 == 0:
            value = (value << 8) | self.data[pos // 8]
            pos += 8
            n -= 8
        while n > 0:
            byte = self.data[pos // 8]
            value = (value << 1) | ((byte >> (7 - pos % 8)) & 1)
            pos += 1
            n -= 1
        self.pos = pos
        return value

    def ue(self) -> int:
        # §3.4: z zero bits, a 1, z bits.
        z = 0
        while True:
            if self.u(1):
                break
            z += 1
            if z > EG_MAX_ZEROS:
                raise SpecError("E_EXPGOLOMB_OVERLONG", "more than 32 leading zeros")
        b = self.u(z)
        return (1 << z) - 1 + b

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)

    def expcode(self) -> int:
        # §3.3: k escapes (0xFF) then a terminal unit t; ID = 255k + t; <= 16 units.
        k = 0
        while True:
            unit = self.u(8)
            if unit != 0xFF:
                return 255 * k + unit
            k += 1
            if k >= EXPCODE_MAX_UNITS:
                raise SpecError("E_EXPCODE_OVERLONG", "exp-code longer than 16 units")

    def byte_aligned(self) -> bool:
        return self.pos % 8 == 0

    def padding(self) -> None:
        # §3.10: zero bits up to the next byte boundary.
        r = self.pos % 8
        if r:
            if self.u(8 - r) != 0:
                raise SpecError("E_NONZERO_PADDING", "padding bits are not zero")

    def byte_pos(self) -> int:
        assert self.pos % 8 == 0
        return self.pos // 8

    def take_bytes(self, n: int) -> bytes:
        # caller guarantees alignment
        assert self.pos % 8 == 0
        p = self.pos // 8
        if n > self.end - p:
            raise SpecError("E_OVERRUN", f"{n} bytes declared, {self.end - p} remain")
        self.pos += 8 * n
        return bytes(self.data[p : p + n])

    def uvarint(self, overrun_code: str = "E_OVERRUN") -> int:
        """§3.2, byte-aligned."""
        assert self.pos % 8 == 0
        p = self.pos // 8
        value, p2 = read_uvarint(self.data, p, self.end, overrun_code)
        self.pos = p2 * 8
        return value


def read_uvarint(data: bytes, p: int, end: int, overrun_code: str = "E_OVERRUN") -> tuple[int, int]:
    """§3.2: unsigned LEB128, canonical, <= 10 bytes, < 2^64."""
    value = 0
    shift = 0
    n = 0
    while True:
        if p >= end:
            raise SpecError(overrun_code, "uvarint runs past the end of its container")
        byte = data[p]
        p += 1
        n += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if n == 10 and (byte & 0x80):
            raise SpecError("E_VARINT", "uvarint longer than 10 bytes")
        if not byte & 0x80:
            if byte == 0 and n > 1:
                raise SpecError("E_VARINT", "overlong uvarint")
            if value >= 1 << 64:
                raise SpecError("E_VARINT", "uvarint >= 2^64")
            return value, p


def double_from_bits(r: int) -> float:
    return struct.unpack(">d", r.to_bytes(8, "big"))[0]


def bits_of_double(x: float) -> int:
    return int.from_bytes(struct.pack(">d", x), "big")


def _dec_has_decimal_form(value: float) -> bool:
    """§3.6: is some e' in 0..6, m' = round(value*10^e') with |m'| < 2^32 exact?"""
    fv = Fraction(value)
    vb = bits_of_double(value)
    for e in range(7):
        m = round(fv * 10**e)  # exact; ties cannot matter here (see notes)
        if abs(m) < 2**32 and bits_of_double(m / 10**e) == vb:
            return True
    return False


def read_dec(r: BitReader, lo, hi) -> float:
    """§3.6 with the §9 per-field order: read, range, canonical."""
    e = r.u(3)
    if e <= 6:
        m = r.se()
        value = m / 10**e  # int/int true division is correctly rounded (half-even)
        if lo is not None and not (lo <= value <= hi):
            raise SpecError("E_RANGE", f"dec value {value!r} outside [{lo}, {hi}]")
        if m == 0 and e != 0:
            raise SpecError("E_NONCANONICAL", "dec zero with e != 0")
        if e > 0 and m % 10 == 0:
            raise SpecError("E_NONCANONICAL", "dec mantissa divisible by 10")
        return value
    bits = r.u(64)
    value = double_from_bits(bits)
    if value != value or value in (float("inf"), float("-inf")):
        raise SpecError("E_RANGE", "dec NaN or infinity")
    if lo is not None and not (lo <= value <= hi):
        raise SpecError("E_RANGE", f"dec value {value!r} outside [{lo}, {hi}]")
    if _dec_has_decimal_form(value):
        raise SpecError("E_NONCANONICAL", "binary dec with a decimal form")
    return value


def read_seed(r: BitReader) -> int:
    c = r.u(2)
    w = 8 << c
    s = r.u(w)
    if c > 0 and s < (1 << (w // 2)):
        raise SpecError("E_NONCANONICAL", "seed not in its smallest class")
    return s


def check_utf8(b: bytes) -> str:
    try:
        return b.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise SpecError("E_UTF8", str(exc)) from None


def read_field(r: BitReader, fd: dict, reg: Registry, inline_str: bool):
    """One registry field descriptor (§8.3). Returns (present, value)."""
    t = fd["type"]
    if t == "ref":
        # §3.9: coded as the table's `coded_as` says (exp-code, ue or u(4))
        how = reg.coded_as[fd["table"]]
        if how == "ue":
            ident = r.ue()
        elif how == "u4":
            ident = r.u(4)
        else:
            ident = r.expcode()
        return True, reg.lookup(fd["table"], ident)["key"]
    if t == "uint":
        v = r.ue() + fd["min"]
        if v > fd["max"]:
            raise SpecError("E_RANGE", f"{fd['name']} = {v} > {fd['max']}")
        return True, v
    if t == "dec":
        return True, read_dec(r, fd.get("min"), fd.get("max"))
    if t == "bool":
        return True, bool(r.u(1))
    if t == "bytes":
        n = r.ue()
        # §9 item 7: a declared length is checked against its maximum before
        # against the bytes that remain (notes A1).
        if n > fd["max_len"]:
            raise SpecError("E_RANGE", f"{fd['name']} length {n} > {fd['max_len']}")
        data = bytes(r.u(8) for _ in range(n)) if n <= r.bits_left() // 8 else _overrun()
        return True, data.hex()
    if t == "str":
        if not inline_str:
            return False, None  # core strings live in the text block (§5.2)
        n = r.ue()
        # §3.8: an inline `str` is at most 65,536 bytes (E_RANGE), checked
        # before the bytes are read (notes A2).
        if n > fd.get("max_len", TEXT_LIMIT):
            raise SpecError("E_RANGE", f"{fd['name']} length {n} > {fd.get('max_len', TEXT_LIMIT)}")
        if n * 8 > r.bits_left():
            _overrun()
        data = bytes(r.u(8) for _ in range(n))
        return True, check_utf8(data)
    raise SpecError("E_UNSUPPORTED", f"field type {t!r}")


def _overrun():
    raise SpecError("E_OVERRUN", "field runs past the end of its container")


# ---------------------------------------------------------------------------
# DEFLATE (RFC 1951) inflater with an output limit, and the canonical deflater (§7.3)
# ---------------------------------------------------------------------------

_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
_CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


class _Corrupt(Exception):
    pass


class _LsbReader:
    """LSB-first bit reader (RFC 1951 §3.1.1) with a small bit buffer."""

    def __init__(self, data: bytes):
        self.data = data
        self.nbytes = len(data)
        self.bytepos = 0
        self.buf = 0
        self.nbuf = 0

    @property
    def pos(self) -> int:  # bits consumed
        return self.bytepos * 8 - self.nbuf

    def align(self) -> None:
        drop = self.nbuf % 8
        self.buf >>= drop
        self.nbuf -= drop

    def bits(self, n: int) -> int:
        while self.nbuf < n:
            if self.bytepos >= self.nbytes:
                raise _Corrupt("input ends inside the stream")
            self.buf |= self.data[self.bytepos] << self.nbuf
            self.bytepos += 1
            self.nbuf += 8
        v = self.buf & ((1 << n) - 1)
        self.buf >>= n
        self.nbuf -= n
        return v

    def bit(self) -> int:
        if not self.nbuf:
            if self.bytepos >= self.nbytes:
                raise _Corrupt("input ends inside the stream")
            self.buf = self.data[self.bytepos]
            self.bytepos += 1
            self.nbuf = 8
        v = self.buf & 1
        self.buf >>= 1
        self.nbuf -= 1
        return v


class _Huffman:
    """Canonical Huffman decoding table (RFC 1951 §3.2.2)."""

    def __init__(self, lengths: list[int], kind: str):
        self.max = max(lengths) if lengths else 0
        count = [0] * 16
        for l in lengths:
            count[l] += 1
        count[0] = 0
        # check over-subscribed / incomplete (zlib's rules)
        left = 1
        for l in range(1, 16):
            left <<= 1
            left -= count[l]
            if left < 0:
                raise _Corrupt("over-subscribed code")
        if left > 0:
            # incomplete: zlib accepts it only for a lit/len or distance code
            # whose longest code is 1 bit (a single code), or an empty distance code.
            if kind == "codes" or self.max > 1:
                raise _Corrupt("incomplete code")
        # puff.c-style canonical decoding tables
        self.count = count
        offs = [0] * 16
        for l in range(1, 15):
            offs[l + 1] = offs[l] + count[l]
        self.symbol = [0] * sum(count[1:])
        for sym, l in enumerate(lengths):
            if l:
                self.symbol[offs[l]] = sym
                offs[l] += 1

    def decode(self, r: _LsbReader) -> int:
        code = first = index = 0
        count = self.count
        for l in range(1, self.max + 1):
            code |= r.bit()
            c = count[l]
            if code - c < first:
                return self.symbol[index + (code - first)]
            index += c
            first += c
            first <<= 1
            code <<= 1
        raise _Corrupt("invalid Huffman code")


_FIXED_LIT = None
_FIXED_DIST = None


def _fixed_tables():
    global _FIXED_LIT, _FIXED_DIST
    if _FIXED_LIT is None:
        lengths = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
        _FIXED_LIT = _Huffman(lengths, "lens")
        _FIXED_DIST = _Huffman([5] * 30 + [5] * 2, "dists")
    return _FIXED_LIT, _FIXED_DIST


class TextLimit(Exception):
    pass


def inflate_limited(data: bytes, limit: int = TEXT_LIMIT) -> tuple[bytes, int]:
    """Raw DEFLATE decode; returns (output, bits consumed).

    Raises _Corrupt for invalid streams and TextLimit as soon as the output would
    exceed ``limit``.
    """
    r = _LsbReader(data)
    out = bytearray()
    while True:
        bfinal = r.bit()
        btype = r.bits(2)
        if btype == 0:
            r.align()
            ln = r.bits(16)
            nln = r.bits(16)
            if ln != (~nln & 0xFFFF):
                raise _Corrupt("stored block length mismatch")
            # whole bytes may still sit in the bit buffer after alignment
            for _ in range(ln):
                if r.nbuf == 0 and r.bytepos >= r.nbytes:
                    raise _Corrupt("stored block runs past the input")
                if len(out) + 1 > limit:
                    raise TextLimit()
                out.append(r.bits(8))
        elif btype in (1, 2):
            if btype == 1:
                lit, dist = _fixed_tables()
            else:
                hlit = r.bits(5) + 257
                hdist = r.bits(5) + 1
                hclen = r.bits(4) + 4
                if hlit > 286 or hdist > 30:
                    raise _Corrupt("too many length or distance symbols")
                cl = [0] * 19
                for i in range(hclen):
                    cl[_CLEN_ORDER[i]] = r.bits(3)
                clh = _Huffman(cl, "codes")
                lengths: list[int] = []
                while len(lengths) < hlit + hdist:
                    sym = clh.decode(r)
                    if sym < 16:
                        lengths.append(sym)
                    elif sym == 16:
                        if not lengths:
                            raise _Corrupt("repeat with no previous length")
                        rep = 3 + r.bits(2)
                        lengths += [lengths[-1]] * rep
                    elif sym == 17:
                        lengths += [0] * (3 + r.bits(3))
                    else:
                        lengths += [0] * (11 + r.bits(7))
                    if len(lengths) > hlit + hdist:
                        raise _Corrupt("too many code lengths")
                if lengths[256] == 0:
                    raise _Corrupt("missing end-of-block code")
                lit = _Huffman(lengths[:hlit], "lens")
                dist = _Huffman(lengths[hlit:], "dists")
            while True:
                sym = lit.decode(r)
                if sym < 256:
                    if len(out) + 1 > limit:
                        raise TextLimit()
                    out.append(sym)
                elif sym == 256:
                    break
                else:
                    sym -= 257
                    if sym >= 29:
                        raise _Corrupt("invalid length symbol")
                    length = _LEN_BASE[sym] + r.bits(_LEN_EXTRA[sym])
                    if dist.max == 0:
                        raise _Corrupt("distance code used but none defined")
                    ds = dist.decode(r)
                    if ds >= 30:
                        raise _Corrupt("invalid distance symbol")
                    d = _DIST_BASE[ds] + r.bits(_DIST_EXTRA[ds])
                    if d > len(out):
                        raise _Corrupt("distance too far back")
                    if len(out) + length > limit:
                        raise TextLimit()
                    start = len(out) - d
                    for k in range(length):
                        out.append(out[start + k])
        else:
            raise _Corrupt("reserved block type 3")
        if bfinal:
            return bytes(out), r.pos


class _LsbWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, value: int, n: int):
        self.acc |= value << self.n
        self.n += n
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def huff(self, code: int, n: int):
        # Huffman codes are packed starting with their most significant bit
        rev = 0
        for _ in range(n):
            rev = (rev << 1) | (code & 1)
            code >>= 1
        self.bits(rev, n)

    def finish(self) -> bytes:
        if self.n:
            self.out.append(self.acc & 0xFF)
            self.acc = 0
            self.n = 0
        return bytes(self.out)


def _fixed_lit(w: _LsbWriter, sym: int):
    if sym < 144:
        w.huff(0x30 + sym, 8)
    elif sym < 256:
        w.huff(0x190 + sym - 144, 9)
    elif sym < 280:
        w.huff(sym - 256, 7)
    else:
        w.huff(0xC0 + sym - 280, 8)


def _len_symbol(length: int) -> tuple[int, int, int]:
    if length == 258:
        return 285, 0, 0
    for i in range(28, -1, -1):
        if _LEN_BASE[i] <= length and i != 28:
            return 257 + i, length - _LEN_BASE[i], _LEN_EXTRA[i]
    raise AssertionError(length)


def _dist_symbol(d: int) -> tuple[int, int, int]:
    for i in range(29, -1, -1):
        if _DIST_BASE[i] <= d:
            return i, d - _DIST_BASE[i], _DIST_EXTRA[i]
    raise AssertionError(d)


def canonical_deflate(t: bytes) -> bytes:
    """The canonical deflater of §7.3."""
    n = len(t)
    w = _LsbWriter()
    w.bits(1, 1)  # BFINAL
    w.bits(1, 2)  # BTYPE = 01
    chains: dict[bytes, list[int]] = {}
    inserted = 0  # positions < inserted are in chains

    def insert_upto(i):
        nonlocal inserted
        while inserted < i:
            p = inserted
            if p + 3 <= n:
                chains.setdefault(t[p : p + 3], []).append(p)
            inserted += 1

    i = 0
    while i < n:
        best_len, best_dist = 0, 0
        if i + 3 <= n:
            insert_upto(i)
            lst = chains.get(t[i : i + 3])
            if lst:
                maxlen = min(258, n - i)
                seen = 0
                for idx in range(len(lst) - 1, -1, -1):
                    p = lst[idx]
                    if i - p > 32768 or seen >= 32:
                        break
                    seen += 1
                    k = 3
                    while k < maxlen and t[p + k] == t[i + k]:
                        k += 1
                    if k > best_len:
                        best_len, best_dist = k, i - p
                        if k == maxlen:
                            break
        if best_len >= 3:
            sym, ev, en = _len_symbol(best_len)
            _fixed_lit(w, sym)
            if en:
                w.bits(ev, en)
            ds, dv, dn = _dist_symbol(best_dist)
            w.huff(ds, 5)
            if dn:
                w.bits(dv, dn)
            i += best_len
        else:
            _fixed_lit(w, t[i])
            i += 1
    _fixed_lit(w, 256)
    return w.finish()


# ---------------------------------------------------------------------------
# Prompt coder (§7.4, Appendix E)
# ---------------------------------------------------------------------------

# Appendix E's model file is spec data beside the registry; it is loaded here
# as opaque data and checked against the registry's model_sha256 (notes P0).
PROMPT_MODEL_PATH = REGISTRY_DIR / "prompt_model.bin"
PROMPT_PIECE_RE = None  # compiled lazily


class _PCError(Exception):
    def __init__(self, code, msg=""):
        super().__init__(msg)
        self.code = code


class _Table:
    __slots__ = ("ids", "freqs", "cums", "total", "index", "a", "z")

    def __init__(self, ids, freqs, w_lo, m_lo):
        self.ids = ids
        self.freqs = freqs
        cums = [0]
        for f in freqs:
            cums.append(cums[-1] + f)
        self.cums = cums
        self.total = cums[-1]
        self.index = {sid: k for k, sid in enumerate(ids)}
        n = len(ids)
        self.a = next((k for k, sid in enumerate(ids) if sid >= w_lo), n)
        self.z = next((k for k, sid in enumerate(ids) if sid >= m_lo), n)


class PromptModel:
    def __init__(self, blob: bytes):
        self.blob = blob
        self.p = 0
        if blob[:8] != b"AIGIFTXT" or blob[8] != 1:
            raise ValueError("not an aigif-tc/1 model")
        self.p = 9
        n_other = self._uvar()
        self.others = [self._bytes(self._uvar()).decode("utf-8") for _ in range(n_other)]
        n_words = self._uvar()
        words = []
        prev = b""
        for _ in range(n_words):
            keep = self._uvar()
            tail = self._bytes(self._uvar())
            w = prev[:keep] + tail
            words.append(w.decode("ascii"))
            prev = w
        self.words = words
        self.word_index = {w: i for i, w in enumerate(words)}
        n_buckets = self._uvar()
        self.n_top = self._uvar()
        self.bucket_sizes = [self._uvar() for _ in range(n_buckets)]
        self.bucket_starts = []
        start = self.n_top
        for size in self.bucket_sizes:
            self.bucket_starts.append(start)
            start += size
        # symbol ids (draft §3)
        self.BACKOFF = 3 + n_other
        self.ESC_WORD = self.BACKOFF + 1
        self.FIRST_WORD = self.BACKOFF + 2
        self.FIRST_BUCKET = self.FIRST_WORD + n_words
        self.FIRST_MOD = self.FIRST_BUCKET + n_buckets
        self.NOSP, self.CAP, self.UPPER, self.NOSP_CAP, self.NOSP_UPPER = range(self.FIRST_MOD, self.FIRST_MOD + 5)
        self.BOS = self.FIRST_MOD + 5
        self.N_IDS = self.BOS + 3
        self.other_index = {t: 3 + i for i, t in enumerate(self.others)}
        self.order0 = self._table()
        self.ctx1 = {}
        c = -1
        for _ in range(self._uvar()):
            c = c + self._uvar() + 1
            self.ctx1[c] = self._table()
        self.ctx2 = {}
        for _ in range(self._uvar()):
            p2 = self._uvar()
            p1 = self._uvar()
            self.ctx2[(p2, p1)] = self._table()
        self.letters = [self._table() for _ in range(27)]
        self.cpclass = self._table()
        if self.p != len(blob):
            raise ValueError("trailing bytes in the model file")
        del self.blob

    def _uvar(self) -> int:
        v, p2 = read_uvarint(self.blob, self.p, len(self.blob))
        if p2 - self.p > 4:
            raise ValueError("model uvar longer than 4 bytes")
        self.p = p2
        return v

    def _bytes(self, n: int) -> bytes:
        b = self.blob[self.p : self.p + n]
        if len(b) != n:
            raise ValueError("model file truncated")
        self.p += n
        return b

    def _table(self) -> _Table:
        n = self._uvar()
        ids, freqs = [], []
        prev = -1
        for _ in range(n):
            prev = prev + self._uvar() + 1
            ids.append(prev)
            freqs.append(self._uvar())
        return _Table(ids, freqs, self.BACKOFF, self.FIRST_MOD)

    # -- tokenisation (draft §4) ------------------------------------------

    def tokenise(self, s: str) -> list[tuple]:
        """symbols of one string: (sid,) or (sid, payload); EOS appended."""
        import re

        global PROMPT_PIECE_RE
        if PROMPT_PIECE_RE is None:
            PROMPT_PIECE_RE = re.compile(r" ?(?:[a-z]+|[A-Z][a-z]+|[A-Z]+(?![a-z])|[0-9]|[^ A-Za-z0-9])| ")
        out: list[tuple] = []
        if s:
            t = " " + s
            pieces = PROMPT_PIECE_RE.findall(t)
            assert "".join(pieces) == t
            for piece in pieces:
                if piece == " ":
                    sp, core = False, " "
                elif piece[0] == " ":
                    sp, core = True, piece[1:]
                else:
                    sp, core = False, piece
                if "a" <= core[0].lower() <= "z" and core[0].isascii() and core.isalpha():
                    if core.islower():
                        case = "lower"
                    elif len(core) >= 2 and core.isupper():
                        case = "upper"
                    else:
                        case = "cap"
                    mod = {
                        (True, "lower"): None,
                        (True, "cap"): self.CAP,
                        (True, "upper"): self.UPPER,
                        (False, "lower"): self.NOSP,
                        (False, "cap"): self.NOSP_CAP,
                        (False, "upper"): self.NOSP_UPPER,
                    }[(sp, case)]
                    if mod is not None:
                        out.append((mod,))
                    w = core.lower()
                    wi = self.word_index.get(w)
                    if wi is not None:
                        out.append((self.FIRST_WORD + wi,))
                    else:
                        out.append((self.ESC_WORD, w))
                else:
                    oi = self.other_index.get(piece)
                    if oi is not None:
                        out.append((oi,))
                    else:
                        out.append((2 if sp else 1, ord(core)))
        out.append((0,))
        return out

    def _chain(self, p1: int, p2) -> list:
        """The context tables tried before order0 (draft §5): those that exist
        among ctx2[(p2, p1)] (only if p2 is set) and ctx1[p1], in this order.
        (An earlier reference build used only one of them: notes P1.)"""
        chain = []
        if p2 is not None and (p2, p1) in self.ctx2:
            chain.append(self.ctx2[(p2, p1)])
        if p1 in self.ctx1:
            chain.append(self.ctx1[p1])
        return chain

    # -- encoder (draft §5, §6) -------------------------------------------

    def encode(self, strings: list[str]) -> bytes:
        enc = _RangeEncoder()
        for i, s in enumerate(strings):
            p1, p2, restricted = self.BOS + min(i, 2), None, False
            for sym in self.tokenise(s):
                sid = sym[0]
                chain = self._chain(p1, p2)
                for T in chain:
                    k = T.index.get(sid)
                    if k is not None:
                        self._put(enc, T, k, restricted)
                        break
                    self._put(enc, T, T.index[self.BACKOFF], restricted)
                else:
                    T = self.order0
                    wi = sid - self.FIRST_WORD
                    if self.FIRST_WORD <= sid < self.FIRST_BUCKET and wi >= self.n_top:
                        b = self._bucket_of(wi)
                        self._put(enc, T, T.index[self.FIRST_BUCKET + b], restricted)
                        enc.put(wi - self.bucket_starts[b], 1, self.bucket_sizes[b])
                    else:
                        self._put(enc, T, T.index[sid], restricted)
                if self.FIRST_MOD <= sid < self.FIRST_MOD + 5:
                    restricted = True
                    continue
                if sid == self.ESC_WORD:
                    prev = 0
                    for ch in sym[1]:
                        c = ord(ch) - 96
                        L = self.letters[prev]
                        self._put(enc, L, L.index[c], False)
                        prev = c
                    L = self.letters[prev]
                    self._put(enc, L, L.index[0], False)
                elif sid in (1, 2):
                    self._put_cp(enc, sym[1])
                if sid == 0:
                    break
                restricted, p2, p1 = False, p1, sid
        return enc.finish()

    def _bucket_of(self, wi: int) -> int:
        import bisect

        return bisect.bisect_right(self.bucket_starts, wi) - 1

    @staticmethod
    def _put(enc, T: _Table, k: int, restricted: bool):
        if restricted:
            base = T.cums[T.a]
            enc.put(T.cums[k] - base, T.freqs[k], T.cums[T.z] - base)
        else:
            enc.put(T.cums[k], T.freqs[k], T.total)

    def _put_cp(self, enc, u: int):
        k = 0 if u < 0x80 else 1 if u < 0x800 else 2 if u < 0x10000 else 3
        self._put(enc, self.cpclass, self.cpclass.index[k], False)
        base, size = ((0, 0x80), (0x80, 0x780), (0x800, 0xF800), (0x10000, 0x100000))[k]
        if k < 3:
            enc.put(u - base, 1, size)
        else:
            enc.put((u - base) >> 10, 1, 1024)
            enc.put((u - base) & 1023, 1, 1024)

    # -- decoder (draft §5, §6, §8) -----------------------------------------

    def decode(self, data: bytes, count: int, limit: int) -> list[str]:
        import bisect

        dec = _RangeDecoder(data)
        strings: list[str] = []
        total_bytes = 0  # UTF-8 bytes of finished strings

        def sym_in(T: _Table, restricted: bool) -> int:
            if restricted:
                base = T.cums[T.a]
                tot = T.cums[T.z] - base
                if tot <= 0:
                    raise _PCError("E_TEXT_CORRUPT", "empty restricted table")
                v = dec.get(tot) + base
                k = bisect.bisect_right(T.cums, v) - 1
                dec.consume(T.cums[k] - base, T.freqs[k])
            else:
                v = dec.get(T.total)
                k = bisect.bisect_right(T.cums, v) - 1
                dec.consume(T.cums[k], T.freqs[k])
            return T.ids[k]

        def uniform(n: int) -> int:
            v = dec.get(n)
            dec.consume(v, 1)
            return v

        for i in range(count):
            p1, p2, restricted = self.BOS + min(i, 2), None, False
            text = []  # pieces
            cur = 0  # bytes of pieces so far (incl. the implied space)
            mod = None

            def running(extra: int) -> None:
                have = cur + extra - (1 if text and text[0].startswith(" ") else 0)
                if extra and not text:
                    have -= 1  # the implied space of the first piece (being spelled)
                if total_bytes + max(have, 0) > limit:
                    raise _PCError("E_TEXT_LIMIT", "decoded text over the limit")

            while True:
                chain = self._chain(p1, p2)
                sid = None
                for T in chain:
                    sid = sym_in(T, restricted)
                    if sid != self.BACKOFF:
                        break
                    sid = None
                if sid is None:
                    sid = sym_in(self.order0, restricted)
                    if self.FIRST_BUCKET <= sid < self.FIRST_MOD:
                        b = sid - self.FIRST_BUCKET
                        sid = self.FIRST_WORD + self.bucket_starts[b] + uniform(self.bucket_sizes[b])
                if sid == self.BACKOFF or sid >= self.BOS:
                    raise _PCError("E_TEXT_CORRUPT", f"symbol {sid} cannot be decoded here")
                if sid == 0:
                    break
                if self.FIRST_MOD <= sid < self.FIRST_MOD + 5:
                    mod = sid
                    restricted = True
                    continue
                if sid == self.ESC_WORD or self.FIRST_WORD <= sid < self.FIRST_BUCKET:
                    sp = mod not in (self.NOSP, self.NOSP_CAP, self.NOSP_UPPER)
                    if sid == self.ESC_WORD:
                        letters = []
                        prev = 0
                        while True:
                            c = sym_in(self.letters[prev], False)
                            if c == 0:
                                break
                            if not 1 <= c <= 26:
                                raise _PCError("E_TEXT_CORRUPT", "bad letter id")
                            letters.append(chr(96 + c))
                            running(len(letters) + (1 if sp else 0))
                            prev = c
                        w = "".join(letters)
                    else:
                        w = self.words[sid - self.FIRST_WORD]
                    if mod in (self.CAP, self.NOSP_CAP):
                        w = w[0].upper() + w[1:]
                    elif mod in (self.UPPER, self.NOSP_UPPER):
                        w = w.upper()
                    piece = (" " if sp else "") + w
                elif sid in (1, 2):
                    k = sym_in(self.cpclass, False)
                    if k == 3:
                        u = 0x10000 + (uniform(1024) << 10 | uniform(1024))
                    elif 0 <= k < 3:
                        base, size = ((0, 0x80), (0x80, 0x780), (0x800, 0xF800))[k]
                        u = base + uniform(size)
                    else:
                        raise _PCError("E_TEXT_CORRUPT", "bad code point class")
                    if 0xD800 <= u <= 0xDFFF:
                        raise _PCError("E_TEXT_CORRUPT", "surrogate code point")
                    piece = (" " if sid == 2 else "") + chr(u)
                elif 3 <= sid < self.BACKOFF:
                    piece = self.others[sid - 3]
                else:
                    raise _PCError("E_TEXT_CORRUPT", f"symbol {sid}")
                text.append(piece)
                cur += len(piece.encode("utf-8"))
                running(0)
                mod = None
                restricted, p2, p1 = False, p1, sid
            s = "".join(text)
            if s.startswith(" "):
                s = s[1:]
            total_bytes += len(s.encode("utf-8"))
            strings.append(s)
        return strings


class _RangeEncoder:
    def __init__(self):
        self.low = 0
        self.range = 0xFFFFFFFF
        self.out = bytearray()

    def _carry(self):
        self.low -= 1 << 32
        i = len(self.out) - 1
        while self.out[i] == 0xFF:
            self.out[i] = 0
            i -= 1
        self.out[i] += 1

    def put(self, cum: int, freq: int, total: int):
        r = self.range // total
        self.low += r * cum
        self.range = r * freq
        if self.low >= 1 << 32:
            self._carry()
        while self.range < 1 << 24:
            self.out.append(self.low >> 24)
            self.low = (self.low << 8) & 0xFFFFFFFF
            self.range <<= 8

    def finish(self) -> bytes:
        if self.low + self.range > 1 << 32:
            self._carry()
        elif self.low != 0:
            self.out.append((self.low + 0xFFFFFF) >> 24)
        out = bytes(self.out)
        return out.rstrip(b"\x00")


class _RangeDecoder:
    def __init__(self, data: bytes):
        self.data = data
        self.code = int.from_bytes((data[:4] + b"\x00\x00\x00\x00")[:4], "big")
        self.pos = 4
        self.range = 0xFFFFFFFF
        self.low = 0
        self.r = 1

    def get(self, total: int) -> int:
        self.r = self.range // total
        v = self.code // self.r
        if v >= total:
            raise _PCError("E_TEXT_CORRUPT", "code value outside the table")
        return v

    def consume(self, cum: int, freq: int):
        r = self.r
        self.code -= r * cum
        self.low = (self.low + r * cum) & 0xFFFFFFFF
        self.range = r * freq
        while self.range < 1 << 24:
            b = self.data[self.pos] if self.pos < len(self.data) else 0
            self.code = (self.code << 8) | b
            self.pos += 1
            self.low = (self.low << 8) & 0xFFFFFFFF
            self.range <<= 8


_PROMPT_MODEL: PromptModel | None = None


def prompt_model() -> PromptModel:
    """The model file of Appendix E, pinned by text_coders.json `model_sha256`."""
    global _PROMPT_MODEL
    if _PROMPT_MODEL is None:
        if not PROMPT_MODEL_PATH.exists():
            raise SpecError("E_UNSUPPORTED", "prompt text coder: model file missing")
        blob = PROMPT_MODEL_PATH.read_bytes()
        want = next(
            (e.get("model_sha256") for e in load_registry().tables["text_coders"].values() if e["key"] == "prompt"),
            None,
        )
        if want and hashlib.sha256(blob).hexdigest() != want:
            raise SpecError("E_UNSUPPORTED", "prompt model file does not match the registry's model_sha256")
        _PROMPT_MODEL = PromptModel(blob)
    return _PROMPT_MODEL


def decode_prompt_coder(block: bytes, nstrings: int) -> list[str]:
    model = prompt_model()
    try:
        strings = model.decode(block, nstrings, TEXT_LIMIT)
    except _PCError as exc:
        raise SpecError(exc.code, str(exc)) from None
    # SPEC §7.4: "the framed-text limit of §7.1 applies to what it decodes"
    # (E.8's running limit counts only the strings' bytes; notes N3).
    framed = sum(len(uvarint_bytes(len(s.encode("utf-8")))) + len(s.encode("utf-8")) for s in strings)
    if framed > TEXT_LIMIT:
        raise SpecError("E_TEXT_LIMIT", "framed text over 65,536 bytes")
    if model.encode(strings) != block:
        # E.7 (re-encode and compare); E.1 and §7.4: E_NONCANONICAL
        raise SpecError("E_NONCANONICAL", "prompt-coded text is not the canonical encoding")
    return strings


def uvarint_bytes(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# ---------------------------------------------------------------------------
# Text block (§7)
# ---------------------------------------------------------------------------


def split_framed(text: bytes, nstrings: int) -> list[bytes]:
    """§7.2 framing: N × (uvarint len, bytes); nothing left over."""
    out = []
    p = 0
    end = len(text)
    for _ in range(nstrings):
        n, p = read_uvarint(text, p, end, "E_OVERRUN")
        if n > end - p:
            raise SpecError("E_OVERRUN", "string runs past the end of the text")
        out.append(bytes(text[p : p + n]))
        p += n
    if p != end:
        raise SpecError("E_OVERRUN", f"{end - p} bytes left after the last string")
    return out


def decode_text_block(block: bytes, coder: str, nstrings: int) -> list[str]:
    if coder == "none":
        if len(block) > TEXT_LIMIT:
            raise SpecError("E_TEXT_LIMIT", "framed text over 65,536 bytes")
        raw = split_framed(block, nstrings)
        return [check_utf8(s) for s in raw]
    if coder == "deflate":
        try:
            text, used = inflate_limited(block, TEXT_LIMIT)
        except _Corrupt as exc:
            raise SpecError("E_TEXT_CORRUPT", str(exc)) from None
        except TextLimit:
            raise SpecError("E_TEXT_LIMIT", "decompressed text over 65,536 bytes") from None
        # OPEN (notes A7; §7.3 "MUST end exactly at the end of the text block"): whole
        # bytes after the end of the final block are E_TEXT_CORRUPT (decoding
        # stage, as the reference does); non-zero bits in the last byte after the
        # end-of-block code are caught by the canonical check (E_NONCANONICAL).
        if (used + 7) // 8 < len(block):
            raise SpecError("E_TEXT_CORRUPT", f"{len(block) - (used + 7) // 8} bytes follow the DEFLATE stream")
        raw = split_framed(text, nstrings)
        strings = [check_utf8(s) for s in raw]
        if canonical_deflate(text) != block:
            raise SpecError("E_NONCANONICAL", "deflate stream is not the canonical deflater's output")
        return strings
    if coder == "prompt":
        return decode_prompt_coder(block, nstrings)
    raise SpecError("E_UNSUPPORTED", f"text coder {coder!r}")


# ---------------------------------------------------------------------------
# Pixel payload header (§6.3)
# ---------------------------------------------------------------------------


def check_png_header(data: bytes, width: int, height: int) -> None:
    # OPEN (notes A5; §6.3, §9, §11): which header checks, in which order, with which codes.
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" or data[8:12] != b"\x00\x00\x00\x0d":
        raise SpecError("E_PAYLOAD", "pixel payload is not a PNG with an IHDR chunk")
    pw, ph = struct.unpack(">II", data[16:24])
    depth, ctype, _comp, _filt, interlace = data[24:29]
    # Resolved against the reference: the format (8-bit RGB, non-interlaced)
    # is checked before the dimensions; a PNG larger than 16384 is simply a
    # dimension mismatch (E_PAYLOAD), so the E_LIMIT of §11 cannot occur here.
    # The IHDR CRC, compression and filter method bytes are not checked.
    if depth != 8 or ctype != 2 or interlace != 0:
        raise SpecError("E_PAYLOAD", "PNG is not 8-bit RGB non-interlaced")
    if (pw, ph) != (width, height):
        raise SpecError("E_PAYLOAD", f"PNG is {pw}x{ph}, file says {width}x{height}")


# ---------------------------------------------------------------------------
# The decoder (§9)
# ---------------------------------------------------------------------------


def crc32(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _crc_table()
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_CRC_TABLE = None


def _crc_table():
    global _CRC_TABLE
    if _CRC_TABLE is None:
        t = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            t.append(c)
        _CRC_TABLE = t
    return _CRC_TABLE


def parse(data: bytes, reg: Registry | None = None) -> dict:
    reg = reg or load_registry()
    data = bytes(data)
    n = len(data)

    # 1. magic (§4.1)
    if n < 3:
        # §4.1: a non-empty proper prefix of the magic is E_TRUNCATED; an empty
        # file or any other short file is E_MAGIC (the empty case was
        # ambiguous in the first draft: notes N1)
        if n and MAGIC.startswith(data):
            raise SpecError("E_TRUNCATED", "file shorter than the magic")
        raise SpecError("E_MAGIC", "not an AIGIF file")
    if data[:3] != MAGIC:
        raise SpecError("E_MAGIC", "not an AIGIF file")
    # 2. version
    if n < 4:
        raise SpecError("E_TRUNCATED", "no version byte")
    if data[3] != FORMAT_VERSION:
        raise SpecError("E_VERSION", f"format version {data[3]}")
    # 3. body length (§4.2)
    body_len, body_start = read_uvarint(data, 4, n, "E_TRUNCATED")
    if body_len < 1 or body_len > MAX_BODY:
        raise SpecError("E_LIMIT", f"body length {body_len}")
    # 4. file size
    total = body_start + body_len + 4
    if n < total:
        raise SpecError("E_TRUNCATED", f"file is {n} bytes, header says {total}")
    if n > total:
        raise SpecError("E_TRAILING_DATA", f"file is {n} bytes, header says {total}")
    # 5. CRC-32 (§4.3)
    body_end = body_start + body_len
    stored = int.from_bytes(data[body_end:], "little")
    if crc32(data[:body_end]) != stored:
        raise SpecError("E_CHECKSUM", "CRC-32 mismatch")

    # 6. the core (§5)
    r = BitReader(data, body_start, body_end)
    saving_pixels = r.u(1)
    saving_model = r.u(1)
    has_digest = r.u(1)
    has_extensions = r.u(1)
    text_coder = reg.lookup("text_coders", r.u(4))["key"]
    device_entry = reg.lookup("devices", r.u(4))
    platform = {}
    for fd in device_entry.get("fields", []):
        present, v = read_field(r, fd, reg, inline_str=False)
        if present:
            platform[fd["name"]] = v
    model_entry = reg.lookup("models", r.expcode())
    family = reg.families[model_entry["family"]]
    dtype = reg.lookup("dtypes", r.u(4))["key"]
    noise = reg.lookup("noise_sources", r.u(4))["key"]
    g = family["size_multiple"]
    size_unit = r.u(1)
    unit = 64 if size_unit else g
    height = (r.ue() + 1) * unit
    if not (g <= height <= MAX_SIZE):
        raise SpecError("E_RANGE", f"height {height}")
    width = height + r.se() * unit
    if not (g <= width <= MAX_SIZE):
        raise SpecError("E_RANGE", f"width {width}")
    # §5: size_unit = 1 exactly when both are multiples of 64 ("checked after
    # the width is read"; here: after the width's range check)
    if size_unit != (height % 64 == 0 and width % 64 == 0):
        raise SpecError("E_NONCANONICAL", "size_unit does not match the size")
    seed = read_seed(r)
    fields: dict = {}
    model_fields: dict = {}
    str_names: list[tuple[str, str]] = []  # (where, name)
    for fd in family["fields"]:
        present, v = read_field(r, fd, reg, inline_str=False)
        if fd["type"] == "ref" and fd["table"] == "schedulers":
            # §5.2 (added after notes N2): a scheduler whose registry `kind`
            # is neither "any" nor the family's `scheduler_kind` is E_RANGE,
            # checked after the ID lookup.
            entry = next(e for e in reg.tables["schedulers"].values() if e["key"] == v)
            kind = entry.get("kind", "any")
            if kind != "any" and kind != family.get("scheduler_kind", kind):
                raise SpecError("E_RANGE", f"{v} is a {kind} scheduler; family needs {family['scheduler_kind']}")
        if present:
            fields[fd["name"]] = v
        elif fd["type"] == "str":
            str_names.append(("fields", fd["name"]))
    for fd in model_entry.get("fields", []):
        present, v = read_field(r, fd, reg, inline_str=False)
        if present:
            model_fields[fd["name"]] = v
        elif fd["type"] == "str":
            str_names.append(("model_fields", fd["name"]))
    r.padding()

    # 7. sections (§6)
    digest = None
    if has_digest:
        dl = r.u(8)
        if dl not in DIGEST_LENGTHS:
            raise SpecError("E_RANGE", f"digest length {dl}")
        digest = r.take_bytes(dl).hex()

    extensions = []
    if has_extensions:
        count = r.uvarint()
        if count == 0:
            raise SpecError("E_NONCANONICAL", "empty extensions section")
        if count > MAX_EXTENSIONS:
            raise SpecError("E_LIMIT", f"{count} extensions")
        prev = -1
        for _ in range(count):
            tag = r.uvarint()
            # §6.2: the order check comes before the critical check (notes A3).
            if tag <= prev:
                raise SpecError("E_EXTENSION_ORDER", f"tag {tag} after {prev}")
            prev = tag
            critical = bool(tag & 1)
            known = reg.extensions.get(tag)
            if known is None and critical:
                raise SpecError("E_UNKNOWN_CRITICAL_EXTENSION", f"tag {tag}")
            length = r.uvarint()
            body = r.take_bytes(length)
            if known is None:
                extensions.append({"tag": tag, "critical": critical, "raw": body.hex()})
                continue
            er = BitReader(body, 0, len(body))
            ef = {}
            for fd in known["fields"]:
                _, v = read_field(er, fd, reg, inline_str=True)
                ef[fd["name"]] = v
            er.padding()
            if er.bits_left():
                raise SpecError("E_OVERRUN", f"extension {tag}: {er.bits_left() // 8} bytes left")
            # §6.2.3: the registry's value rules, `when` first, then `not_all_default`
            for fd in known["fields"]:
                w = fd.get("when")
                if w and ef[w["field"]] not in w["in"] and ef[fd["name"]] != fd["default"]:
                    raise SpecError("E_RANGE", f"extension {tag}: {fd['name']} only with {w['field']} in {w['in']}")
            if known.get("not_all_default") and all(ef[fd["name"]] == fd["default"] for fd in known["fields"]):
                raise SpecError("E_NONCANONICAL", f"extension {tag} with every field at its default")
            extensions.append({"tag": tag, "critical": critical, "key": known["key"], "fields": ef})

    pixels = None
    if saving_pixels:
        codec = reg.lookup("pixel_codecs", r.expcode())["key"]
        length = r.uvarint()
        # §6.3: length 0 is E_RANGE (notes A4).
        if length == 0:
            raise SpecError("E_RANGE", "pixel payload length 0")
        if length > PIXEL_LIMIT:
            raise SpecError("E_LIMIT", "pixel payload over 256 MiB")
        pdata = r.take_bytes(length)
        if codec == "png":
            check_png_header(pdata, width, height)
        pixels = {"codec": codec, "data": base64.b64encode(pdata).decode("ascii")}

    model_payload = None
    if saving_model:
        comp = reg.lookup("model_compressors", r.expcode())["key"]
        length = r.uvarint()
        if length == 0:
            raise SpecError("E_RANGE", "model payload length 0")
        # §6.4: the 2 GiB limit applies to the stored length (notes A6).
        if length > MODEL_LIMIT:
            raise SpecError("E_LIMIT", "model payload over 2 GiB")
        sha = r.take_bytes(32)
        mdata = r.take_bytes(length)
        # §6.4: for `none` the SHA-256 is checked when the section is read.
        if comp == "none" and hashlib.sha256(mdata).digest() != sha:
            raise SpecError("E_PAYLOAD", "model payload does not match its SHA-256")
        model_payload = {
            "compressor": comp,
            "sha256": sha.hex(),
            "data": base64.b64encode(mdata).decode("ascii"),
        }

    # 8. text block (§7)
    block = data[r.byte_pos() : body_end]
    nstrings = len(reg.core_strings) + len(str_names)
    strings = decode_text_block(block, text_coder, nstrings)

    result = {
        "format": "aigif",
        "version": FORMAT_VERSION,
        "text_coder": text_coder,
        "device": device_entry["key"],
        "platform": platform,
        "model": model_entry["key"],
        "dtype": dtype,
        "noise": noise,
        "height": height,
        "width": width,
        "seed": seed,
        "prompt": strings[0],
        "negative_prompt": strings[1],
        "fields": fields,
        "model_fields": model_fields,
        "digest": digest,
        "extensions": extensions,
        "pixels": pixels,
        "model_payload": model_payload,
    }
    for (where, name), s in zip(str_names, strings[2:]):
        result[where][name] = s
    # keep registry order of fields
    result["fields"] = {fd["name"]: result["fields"][fd["name"]] for fd in family["fields"]}
    result["model_fields"] = {
        fd["name"]: result["model_fields"][fd["name"]] for fd in model_entry.get("fields", [])
    }
    return result
