"""AIGIF prompt text coder (static-model range coder).

Maps a list of N Unicode strings to bytes and back.  The normative description
is SPEC.md Appendix E; this module is the reference implementation.

Public interface::

    encode(strings: list[str]) -> bytes
    decode(data: bytes, count: int, limit: int = 65536) -> list[str]
    MODEL_SHA256: str
    TextCoderError(code, message)   # code in E_TEXT_CORRUPT, E_TEXT_LIMIT,
                                    #         E_TEXT_NONCANONICAL

Design in one paragraph: every string is cut into *pieces* (an optional single
leading space plus a lowercase/Capitalised/UPPER ASCII letter run, one ASCII
digit, or one other code point).  Pieces map to symbols of a static model
(``prompt_model.bin``): word symbols (a space-prefixed lowercase word), other
symbols, escapes that spell unknown words letter by letter or code a raw code
point, case/space modifier symbols, and EOS.  Symbols are coded with an order-2
/ order-1 context model that backs off to an order-0 table (the tail of the
word list is coded as bucket + uniform index), all with integer frequencies,
and a 32-bit range coder whose termination emits the shortest byte string.
The decoder accepts only the exact bytes ``encode`` would produce (it checks
the tokenisation, escapes and the termination instead of re-encoding), so
every list of strings has exactly one valid encoding.
"""
from __future__ import annotations

import hashlib
import os
import re
from bisect import bisect_right

__all__ = ["encode", "decode", "MODEL_SHA256", "TextCoderError", "MODEL_PATH"]

def _model_path() -> str:
    """The model file is spec data beside the registry (``registry/prompt_model.bin``;
    ``aigif/_registry`` in a wheel), so implementations other than this one find it there."""
    from ..registry import registry_dir
    return os.path.join(registry_dir(), "prompt_model.bin")


MODEL_PATH = _model_path()

def _registered_sha256() -> str:
    """The model file's SHA-256 as the registry's ``text_coders`` entry pins it."""
    from ..registry import load
    return load().table("text_coders").entry("prompt")["model_sha256"]


MODEL_SHA256 = _registered_sha256()

MAGIC = b"AIGIFTXT"
VERSION = 1

TOP = 1 << 32
BOT = 1 << 24
MAX_TOTAL = 1 << 16

# Fixed symbol ids (see spec section "Symbol alphabet").
EOS = 0
ESC_OTHER = 1
ESC_OTHER_SP = 2
FIRST_OTHER = 3

# modifier offsets (added to the first modifier id)
M_NOSP, M_CAP, M_UPPER, M_NOSP_CAP, M_NOSP_UPPER = range(5)
_MOD_OF = {(True, 0): None, (True, 1): M_CAP, (True, 2): M_UPPER,
           (False, 0): M_NOSP, (False, 1): M_NOSP_CAP, (False, 2): M_NOSP_UPPER}
_MOD_SP = (False, True, True, False, False)
_MOD_CASE = (0, 1, 2, 1, 2)

# Piece regex: see spec "Tokenisation".  ASCII classes only.
_PIECE_RE = re.compile(r" ?(?:[a-z]+|[A-Z][a-z]+|[A-Z]+(?![a-z])|[0-9]|[^ A-Za-z0-9])| ", re.S)

# Code point classes for ESC_OTHER: (first code point, size)
_CP_CLASSES = ((0, 0x80), (0x80, 0x780), (0x800, 0xF800), (0x10000, 0x100000))


class TextCoderError(ValueError):
    """Raised for any invalid input to :func:`decode`."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------- model file

def _uvar(buf: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128, at most 4 bytes (values < 2**28), minimal form."""
    v = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 21:
            raise ValueError("bad varint in model")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            if b == 0 and shift:
                raise ValueError("non-minimal varint in model")
            return v, pos
        shift += 7


class _Table:
    """A frequency table: sorted symbol ids, frequencies, cumulative counts."""

    __slots__ = ("syms", "cum", "total", "index", "wlo", "whi", "wbase", "wtot")

    def __init__(self, syms: list[int], freqs: list[int], first_w: int, first_m: int):
        cum = [0]
        c = 0
        for f in freqs:
            if f <= 0:
                raise ValueError("zero frequency in model table")
            c += f
            cum.append(c)
        if not syms or c > MAX_TOTAL:
            raise ValueError("bad table total")
        self.syms = syms
        self.cum = cum
        self.total = c
        self.index = {s: i for i, s in enumerate(syms)}
        # word-class sub-range [wlo, whi): entries with first_w <= id < first_m
        self.wlo = bisect_right(syms, first_w - 1)
        self.whi = bisect_right(syms, first_m - 1)
        self.wbase = cum[self.wlo]
        self.wtot = cum[self.whi] - self.wbase


class _Model:
    def __init__(self, blob: bytes):
        if blob[:8] != MAGIC or len(blob) < 9 or blob[8] != VERSION:
            raise ValueError("not an AIGIF text model v1")
        pos = 9
        n_other, pos = _uvar(blob, pos)
        others: list[str] = []
        for _ in range(n_other):
            ln, pos = _uvar(blob, pos)
            others.append(blob[pos:pos + ln].decode("utf-8"))
            pos += ln
        n_words, pos = _uvar(blob, pos)
        words: list[str] = []
        prev = b""
        for _ in range(n_words):
            keep, pos = _uvar(blob, pos)
            ln, pos = _uvar(blob, pos)
            cur = prev[:keep] + blob[pos:pos + ln]
            pos += ln
            words.append(cur.decode("ascii"))
            prev = cur
        n_buckets, pos = _uvar(blob, pos)
        n_top, pos = _uvar(blob, pos)
        bsizes: list[int] = []
        for _ in range(n_buckets):
            v, pos = _uvar(blob, pos)
            bsizes.append(v)
        if n_top + sum(bsizes) != n_words or any(not (0 < b <= MAX_TOTAL) for b in bsizes):
            raise ValueError("bad bucket layout")

        self.others = others
        self.words = words
        self.backoff = FIRST_OTHER + n_other
        self.esc_word = self.backoff + 1
        self.first_word = self.esc_word + 1
        self.first_bucket = self.first_word + n_words
        self.first_mod = self.first_bucket + n_buckets
        self.bos = self.first_mod + 5  # BOS0, BOS1, BOS2 (context ids only)
        self.n_ids = self.bos + 3
        self.n_top = n_top
        starts = []
        s = self.first_word + n_top
        for b in bsizes:
            starts.append(s)
            s += b
        self.bucket_start = starts
        self.bucket_size = bsizes

        fw, fm = self.backoff, self.first_mod

        def read_table(pos: int) -> tuple[_Table, int]:
            n, pos = _uvar(blob, pos)
            syms: list[int] = []
            freqs: list[int] = []
            sid = -1
            for _ in range(n):
                d, pos = _uvar(blob, pos)
                f, pos = _uvar(blob, pos)
                sid += d + 1
                syms.append(sid)
                freqs.append(f)
            return _Table(syms, freqs, fw, fm), pos

        self.order0, pos = read_table(pos)
        n_ctx, pos = _uvar(blob, pos)
        ctx1: dict[int, _Table] = {}
        prev_c = -1
        for _ in range(n_ctx):
            d, pos = _uvar(blob, pos)
            prev_c += d + 1
            ctx1[prev_c], pos = read_table(pos)
        n_ctx2, pos = _uvar(blob, pos)
        ctx2_raw: list[tuple[int, int, _Table]] = []
        for _ in range(n_ctx2):
            a, pos = _uvar(blob, pos)
            b, pos = _uvar(blob, pos)
            t, pos = read_table(pos)
            ctx2_raw.append((a, b, t))
        letters: list[_Table] = []
        for _ in range(27):
            t, pos = read_table(pos)
            letters.append(t)
        self.cpclass, pos = read_table(pos)
        if pos != len(blob):
            raise ValueError("trailing bytes in model")
        self.ctx1 = ctx1
        ctx2: dict[int, _Table] = {}
        last = (-1, -1)
        for a, b, t in ctx2_raw:
            if (a, b) <= last or a >= self.n_ids or b >= self.n_ids:
                raise ValueError("order-2 contexts must be strictly increasing")
            last = (a, b)
            ctx2[a * self.n_ids + b] = t
        self.ctx2 = ctx2
        self.letters = letters
        # validate: order0 contains no BACKOFF and every non-word symbol id
        o0 = self.order0.syms
        expect = list(range(0, self.backoff)) + [self.esc_word] \
            + list(range(self.first_word, self.first_word + n_top)) \
            + list(range(self.first_bucket, self.first_mod + 5))
        if o0 != expect:
            raise ValueError("order-0 table must list exactly the codable symbols")
        for t in list(ctx1.values()) + list(ctx2.values()):
            if self.backoff not in t.index or t.syms[-1] >= self.first_mod + 5 \
                    or any(self.first_bucket <= x < self.first_mod for x in t.syms):
                raise ValueError("context table without BACKOFF or with a bad id")
        if letters[0].syms != list(range(1, 27)) or any(t.syms != list(range(27)) for t in letters[1:]):
            raise ValueError("bad letter table")
        if self.cpclass.syms != [0, 1, 2, 3]:
            raise ValueError("bad code point class table")
        self.word_id = {w: self.first_word + i for i, w in enumerate(words)}
        self.other_id = {o: FIRST_OTHER + i for i, o in enumerate(others)}
        self.piece_cache: dict[str, tuple[int, ...]] = {}
        # decoded text for every main symbol id that emits text directly
        self.text_of: dict[int, str] = {FIRST_OTHER + i: o for i, o in enumerate(others)}
        self.wtext = [" " + w for w in words]

    # ------------------------------------------------------------ tokeniser
    def piece_symbols(self, p: str) -> tuple:
        """Symbols for one piece: tuple of ints; ESC_WORD / ESC_OTHER*
        are followed by a payload (str of letters / code point int)."""
        sp = p[0] == " " and len(p) > 1
        core = p[1:] if sp else p
        c0 = core[0]
        if c0 < "\x80" and c0.isalpha():
            if core.islower():
                case = 0
            elif len(core) >= 2 and core.isupper():
                case = 2
            else:
                case = 1
            low = core.lower()
            m = _MOD_OF[(sp, case)]
            wid = self.word_id.get(low)
            out: tuple = () if m is None else (self.first_mod + m,)
            if wid is None:
                return out + (self.esc_word, low)
            return out + (wid,)
        if p == " ":
            sid = self.other_id.get(" ")
            if sid is None:
                return (ESC_OTHER, 0x20)
            return (sid,)
        sid = self.other_id.get(p)
        if sid is not None:
            return (sid,)
        return ((ESC_OTHER_SP if sp else ESC_OTHER), ord(core))

    def symbols(self, s: str) -> list:
        if not s:
            return []
        cache = self.piece_cache
        out: list = []
        for p in _PIECE_RE.findall(" " + s):
            v = cache.get(p)
            if v is None:
                v = self.piece_symbols(p)
                if len(p) <= 24 and len(cache) < 100000:
                    cache[p] = v
            out.extend(v)
        return out

    # ------------------------------------------------------------ encoder
    def encode(self, strings: list[str], trace: list | None = None) -> bytes:
        """Encode; if ``trace`` is a list, (cum, freq, total) of every coding
        step is appended to it (for writing other implementations)."""
        out = bytearray()
        low = 0
        rng = 0xFFFFFFFF
        ctx1 = self.ctx1
        ctx2 = self.ctx2
        order0 = self.order0
        first_word = self.first_word
        n_top = self.n_top
        first_bucket = self.first_bucket
        first_mod = self.first_mod
        backoff = self.backoff
        esc_word = self.esc_word
        letters = self.letters
        n_ids = self.n_ids

        def put(cum: int, freq: int, tot: int) -> None:
            nonlocal low, rng
            if trace is not None:
                trace.append((cum, freq, tot))
            r = rng // tot
            low += r * cum
            rng = r * freq
            if low >= TOP:
                low -= TOP
                i = len(out) - 1
                while out[i] == 0xFF:
                    out[i] = 0
                    i -= 1
                out[i] += 1
            while rng < BOT:
                out.append(low >> 24)
                low = (low << 8) & 0xFFFFFFFF
                rng <<= 8

        def put_symbol(t: _Table, j: int, restrict: bool) -> None:
            """Code entry ``j`` of table ``t``; ``restricted`` after a modifier: only the word range counts (Appendix E.5)."""
            if restrict:
                put(t.cum[j] - t.wbase, t.cum[j + 1] - t.cum[j], t.wtot)
            else:
                put(t.cum[j], t.cum[j + 1] - t.cum[j], t.total)

        for si, s in enumerate(strings):
            if not isinstance(s, str):
                raise TypeError("strings must be str")
            try:
                s.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ValueError("string is not encodable as UTF-8 (lone surrogate)") from e
            syms = self.symbols(s)
            syms.append(EOS)
            p1 = self.bos + (si if si < 2 else 2)
            p2 = -1
            restrict = False
            i = 0
            n = len(syms)
            while i < n:
                sym = syms[i]
                i += 1
                # --- code `sym` through the context chain (order-2, order-1, order-0)
                t = ctx2.get(p2 * n_ids + p1) if p2 >= 0 else None
                lvl = 2
                if t is None:
                    t = ctx1.get(p1)
                    lvl = 1
                while t is not None:
                    j = t.index.get(sym)
                    hit = j is not None
                    if j is None:
                        j = t.index[backoff]
                    put_symbol(t, j, restrict)
                    if hit:
                        break
                    if lvl == 2:
                        t = ctx1.get(p1)
                        lvl = 1
                    else:
                        t = None
                if t is None:
                    t = order0
                    tail = first_word + n_top <= sym < first_bucket
                    if tail:
                        k = bisect_right(self.bucket_start, sym) - 1
                        j = t.index[first_bucket + k]
                    else:
                        j = t.index[sym]
                    put_symbol(t, j, restrict)
                    if tail:
                        put(sym - self.bucket_start[k], 1, self.bucket_size[k])
                # --- payloads and context update
                if sym >= first_mod:
                    restrict = True
                    continue
                restrict = False
                if sym == esc_word:
                    word = syms[i]
                    i += 1
                    prev = 0
                    for ch in word:
                        c = ord(ch) - 96
                        lt = letters[prev]
                        j = lt.index[c]
                        put(lt.cum[j], lt.cum[j + 1] - lt.cum[j], lt.total)
                        prev = c
                    lt = letters[prev]
                    j = lt.index[0]
                    put(lt.cum[j], lt.cum[j + 1] - lt.cum[j], lt.total)  # END
                elif sym == ESC_OTHER or sym == ESC_OTHER_SP:
                    cp = syms[i]
                    i += 1
                    k = 0 if cp < 0x80 else 1 if cp < 0x800 else 2 if cp < 0x10000 else 3
                    ct = self.cpclass
                    put(ct.cum[k], ct.cum[k + 1] - ct.cum[k], ct.total)
                    base, size = _CP_CLASSES[k]
                    v = cp - base
                    if k == 3:
                        put(v >> 10, 1, 1024)
                        put(v & 1023, 1, 1024)
                    else:
                        put(v, 1, size)
                p2 = p1
                p1 = sym
        # termination: the shortest tail (see spec "Termination")
        if low + rng > TOP:
            # the value 2**32 (a carry, no tail byte) lies in the interval
            i = len(out) - 1
            while out[i] == 0xFF:
                out[i] = 0
                i -= 1
            out[i] += 1
        elif low:
            out.append((low + 0xFFFFFF) >> 24)
        while out and out[-1] == 0:
            out.pop()
        return bytes(out)

    # ------------------------------------------------------------ decoder
    def decode(self, data: bytes, count: int, limit: int) -> list[str]:
        if not isinstance(data, bytes):
            data = bytes(data)
        ln = len(data)
        if ln and data[-1] == 0:
            raise TextCoderError("E_TEXT_NONCANONICAL", "trailing zero byte")
        code = int.from_bytes(data[:4].ljust(4, b"\0"), "big")
        pos = 4
        rng = 0xFFFFFFFF
        low = 0  # the encoder's low register, tracked for the termination check
        ctx1 = self.ctx1
        ctx2 = self.ctx2
        order0 = self.order0
        first_word = self.first_word
        first_bucket = self.first_bucket
        first_mod = self.first_mod
        backoff = self.backoff
        esc_word = self.esc_word
        n_ids = self.n_ids
        text_of = self.text_of
        wtext = self.wtext
        words = self.words
        word_case = self._case
        total_out = 0
        result: list[str] = []
        corrupt = "E_TEXT_CORRUPT"

        def uniform(size: int) -> int:
            """Decode a value coded with put(v, 1, size)."""
            nonlocal code, rng, low, pos
            r = rng // size
            v = code // r
            if v >= size:
                raise TextCoderError(corrupt, "code value outside uniform range")
            code -= r * v
            low = (low + r * v) & 0xFFFFFFFF
            rng = r
            while rng < BOT:
                code = (code << 8) | (data[pos] if pos < ln else 0)
                low = (low << 8) & 0xFFFFFFFF
                pos += 1
                rng <<= 8
            return v

        def small(t: _Table) -> int:
            """Decode one symbol of a small table (letters, code point class)."""
            nonlocal code, rng, low, pos
            r = rng // t.total
            v = code // r
            if v >= t.total:
                raise TextCoderError(corrupt, "code value outside table")
            cum = t.cum
            j = bisect_right(cum, v) - 1
            c0 = cum[j]
            code -= r * c0
            low = (low + r * c0) & 0xFFFFFFFF
            rng = r * (cum[j + 1] - c0)
            while rng < BOT:
                code = (code << 8) | (data[pos] if pos < ln else 0)
                low = (low << 8) & 0xFFFFFFFF
                pos += 1
                rng <<= 8
            return t.syms[j]

        for si in range(count):
            p1 = self.bos + (si if si < 2 else 2)
            p2 = -1
            mod = -1
            parts: list[str] = []
            rec: list = []
            while True:
                # ---- decode one main symbol (order-2, order-1, order-0)
                t = ctx2.get(p2 * n_ids + p1) if p2 >= 0 else None
                lvl = 2
                if t is None:
                    lvl = 1
                    t = ctx1.get(p1)
                    if t is None:
                        t = order0
                        lvl = 0
                escaped = None
                while True:
                    if mod >= 0:
                        tot = t.wtot
                        base = t.wbase
                    else:
                        tot = t.total
                        base = 0
                    r = rng // tot
                    v = code // r
                    if v >= tot:
                        raise TextCoderError(corrupt, "code value outside table")
                    cum = t.cum
                    j = bisect_right(cum, v + base) - 1
                    c0 = cum[j]
                    code -= r * (c0 - base)
                    low = (low + r * (c0 - base)) & 0xFFFFFFFF
                    rng = r * (cum[j + 1] - c0)
                    while rng < BOT:
                        code = (code << 8) | (data[pos] if pos < ln else 0)
                        low = (low << 8) & 0xFFFFFFFF
                        pos += 1
                        rng <<= 8
                    sym = t.syms[j]
                    if sym != backoff:
                        break
                    if escaped is None:
                        escaped = [t]
                    else:
                        escaped.append(t)
                    if lvl == 2:
                        lvl = 1
                        t = ctx1.get(p1)
                        if t is None:
                            t = order0
                            lvl = 0
                    else:
                        t = order0
                        lvl = 0
                if sym >= first_bucket:
                    if sym < first_mod:
                        k = sym - first_bucket
                        sym = self.bucket_start[k] + uniform(self.bucket_size[k])
                if escaped is not None:
                    for t in escaped:
                        if sym in t.index:
                            raise TextCoderError("E_TEXT_NONCANONICAL", "symbol coded after an escape from a table that has it")
                if sym >= first_mod:
                    mod = sym - first_mod
                    rec.append(sym)
                    continue
                if sym == EOS:
                    break
                rec.append(sym)
                # ---- text of the symbol
                if sym >= first_word:
                    if mod < 0:
                        piece = wtext[sym - first_word]
                    else:
                        piece = word_case(words[sym - first_word], mod)
                elif sym == esc_word:
                    buf = []
                    letters = self.letters
                    # the word's leading space counts, except the implied space of a string's first piece (E.8)
                    lead = 1 if parts and (mod < 0 or _MOD_SP[mod]) else 0
                    c = small(letters[0])
                    while c:
                        buf.append(chr(96 + c))
                        if total_out + lead + len(buf) > limit:
                            raise TextCoderError("E_TEXT_LIMIT", "decoded text exceeds limit")
                        c = small(letters[c])
                    w = "".join(buf)
                    rec.append(w)
                    piece = word_case(w, mod)
                elif sym == ESC_OTHER or sym == ESC_OTHER_SP:
                    k = small(self.cpclass)
                    base, size = _CP_CLASSES[k]
                    if k == 3:
                        val = uniform(1024) << 10
                        val |= uniform(1024)
                    else:
                        val = uniform(size)
                    cp = base + val
                    if 0xD800 <= cp <= 0xDFFF:
                        raise TextCoderError(corrupt, "surrogate code point")
                    rec.append(cp)
                    piece = (" " if sym == ESC_OTHER_SP else "") + chr(cp)
                else:
                    piece = text_of[sym]
                mod = -1
                if not parts:
                    if piece[0] != " ":
                        raise TextCoderError("E_TEXT_NONCANONICAL", "string does not start with its implied space")
                    total_out -= 1
                total_out += len(piece) if piece.isascii() else len(piece.encode("utf-8"))
                if total_out > limit:
                    raise TextCoderError("E_TEXT_LIMIT", "decoded text exceeds limit")
                parts.append(piece)
                p2 = p1
                p1 = sym
            s = "".join(parts)[1:]
            if self.symbols(s) != rec:
                raise TextCoderError("E_TEXT_NONCANONICAL", "symbols are not the canonical tokenisation")
            result.append(s)
        # termination: the data must be exactly the shortest tail (spec "Termination")
        if low == 0:
            exp = 0
        elif low + rng > TOP:
            exp = TOP - low
        else:
            exp = (((low + 0xFFFFFF) >> 24) << 24) - low
        if code != exp or ln > pos:
            raise TextCoderError("E_TEXT_NONCANONICAL", "bytes are not the canonical encoding of the decoded strings")
        return result

    @staticmethod
    def _case(w: str, mod: int) -> str:
        if mod < 0:
            return " " + w
        sp = " " if _MOD_SP[mod] else ""
        c = _MOD_CASE[mod]
        if c == 1:
            return sp + w[0].upper() + w[1:]
        if c == 2:
            return sp + w.upper()
        return sp + w


_model: _Model | None = None
_blob: bytes | None = None


def model_blob() -> bytes:
    """The model file's bytes, checked against MODEL_SHA256 (RuntimeError if they differ)."""
    global _blob
    if _blob is None:
        with open(MODEL_PATH, "rb") as f:
            blob = f.read()
        if hashlib.sha256(blob).hexdigest() != MODEL_SHA256:
            raise RuntimeError("prompt_model.bin does not match MODEL_SHA256")
        _blob = blob
    return _blob


def _load() -> _Model:
    global _model
    if _model is None:
        _model = _Model(model_blob())
    return _model


def encode(strings: list[str]) -> bytes:
    """Encode a list of strings into its unique canonical byte sequence."""
    return _load().encode(list(strings))


def decode(data: bytes, count: int, limit: int = 65536) -> list[str]:
    """Decode exactly ``count`` strings; total UTF-8 output must be <= limit."""
    if count < 0:
        raise TextCoderError("E_TEXT_CORRUPT", "negative string count")
    from .. import _fast  # the accelerator (aigif/_speedups.c), when built: this decoder's result, or None
    if _fast.ENABLED and isinstance(data, bytes):
        m = _fast.prompt_model()
        if m is not None:
            got = _fast._speedups.decode_prompt(m, data, count, limit)
            if isinstance(got, tuple):  # (code, message): the check of Appendix E that fails first
                raise TextCoderError(*got)
            if got is not None:
                return got
    try:
        return _load().decode(data, count, limit)
    except TextCoderError:
        raise
    except (IndexError, KeyError, UnicodeError, OverflowError, ValueError, AssertionError) as e:
        raise TextCoderError("E_TEXT_CORRUPT", f"invalid text data ({type(e).__name__})") from e
