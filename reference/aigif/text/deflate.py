"""Text coder ``deflate`` (SPEC.md §7.3): raw DEFLATE from the canonical deflater.

Decoding uses zlib's inflater with an output cap, so a DEFLATE bomb stops at
the limit; canonicality is checked by re-encoding with :func:`deflate` (or
with the same deflater in C, ``aigif/_speedups.c``, when it is built).
"""
from __future__ import annotations

import zlib
from bisect import bisect_left, bisect_right

from ..errors import AigifError
from .framing import TEXT_LIMIT, frame, unframe

WINDOW = 32768
MAX_CANDIDATES = 32
MIN_MATCH, MAX_MATCH = 3, 258

_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
              2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]


def _rev(code: int, n: int) -> int:
    return int(format(code, f"0{n}b")[::-1], 2)


def _fixed_litlen(sym: int) -> tuple[int, int]:
    """RFC 1951 §3.2.6 fixed code of a literal/length symbol, bit-reversed for
    LSB-first packing (Huffman codes are sent most significant bit first)."""
    if sym < 144:
        return _rev(0x30 + sym, 8), 8
    if sym < 256:
        return _rev(0x190 + sym - 144, 9), 9
    if sym < 280:
        return _rev(sym - 256, 7), 7
    return _rev(0xC0 + sym - 280, 8), 8


_LITLEN = [_fixed_litlen(s) for s in range(288)]
# length 3..258 -> (code bits, code len, extra value, extra len), merged into one LSB-first write
_LENGTH = {}
for _l in range(MIN_MATCH, MAX_MATCH + 1):
    _i = 28 if _l == 258 else bisect_right(_LEN_BASE, _l) - 1
    _c, _n = _LITLEN[257 + _i]
    _LENGTH[_l] = (_c | ((_l - _LEN_BASE[_i]) << _n), _n + _LEN_EXTRA[_i])
_DIST_CODE = [(_rev(d, 5), 5) for d in range(30)]


def _dist(d: int) -> tuple[int, int]:
    i = bisect_right(_DIST_BASE, d) - 1
    c, n = _DIST_CODE[i]
    return c | ((d - _DIST_BASE[i]) << n), n + _DIST_EXTRA[i]


def deflate(data: bytes) -> bytes:
    """The canonical deflater of SPEC.md §7.3.

    At each position the candidates are the (at most) 32 most recent earlier
    positions with the same 3 bytes, within the window; the match is the
    longest of them (capped at 258 and at the end of the data), the nearest
    one on a tie. The positions of each 3-byte key are listed once, in one
    pass over the data, so the candidates at ``i`` are a slice of that list
    found by ``bisect`` (no per-byte chain update while coding). A candidate
    matters only if it is strictly longer than the best so far: the byte at
    ``best_len`` is checked, then the prefix as one slice compare, before the
    match is extended byte by byte (so a position costs at most 32 cheap
    checks plus its match length). :func:`deflate_straightforward` is the
    same deflater written as §7.3 reads; the two agree byte for byte
    (``tests/test_parse_bounds.py``), and so does ``aigif/_speedups.c``."""
    n = len(data)
    acc, nbits = 0b011, 3  # BFINAL=1, BTYPE=01 (fixed), LSB first
    chains: dict[bytes, list[int]] = {}  # 3-byte key -> its positions, ascending
    for j, key in enumerate([data[j:j + 3] for j in range(n - 2)]):
        chain = chains.get(key)
        if chain is None:
            chains[key] = [j]
        else:
            chain.append(j)
    litlen, lengths = _LITLEN, _LENGTH
    i = 0
    while i < n:
        best_len = best_dist = 0
        if i + MIN_MATCH <= n:
            chain = chains[data[i:i + 3]]
            k = bisect_left(chain, i)  # chain[:k]: the positions before i
            if k:
                limit = min(MAX_MATCH, n - i)
                lo = i - WINDOW
                for p in chain[k - 1:k - MAX_CANDIDATES - 1:-1] if k > MAX_CANDIDATES else chain[k - 1::-1]:
                    if p < lo:
                        break
                    if best_len:
                        if data[p + best_len] != data[i + best_len] or data[p:p + best_len] != data[i:i + best_len]:
                            continue
                        length = best_len + 1
                    else:
                        length = MIN_MATCH
                    while length < limit and data[p + length] == data[i + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_dist = length, i - p
                        if length == limit:
                            break
        if best_len:
            c, k = lengths[best_len]
            acc |= c << nbits
            nbits += k
            c, k = _dist(best_dist)
            i += best_len
        else:
            c, k = litlen[data[i]]
            i += 1
        acc |= c << nbits
        nbits += k
    c, k = _LITLEN[256]
    acc |= c << nbits
    nbits += k
    return acc.to_bytes((nbits + 7) // 8, "little")


def deflate_straightforward(data: bytes) -> bytes:
    """The same deflater as it reads in SPEC.md §7.3, candidate by candidate (slow on long
    inputs); ``tests/test_parse_bounds.py`` checks that :func:`deflate` gives its output."""
    n = len(data)
    acc, nbits = 0b011, 3
    chains: dict[bytes, list[int]] = {}
    i = 0
    while i < n:
        best_len = best_dist = 0
        if i + MIN_MATCH <= n:
            chain = chains.get(data[i:i + 3])
            if chain:
                limit = min(MAX_MATCH, n - i)
                for p in reversed(chain[-MAX_CANDIDATES:]):
                    if i - p > WINDOW:
                        break
                    length = 0
                    while length < limit and data[p + length] == data[i + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_dist = length, i - p
                        if length == limit:
                            break
        step = best_len if best_len >= MIN_MATCH else 1
        if best_len >= MIN_MATCH:
            c, k = _LENGTH[best_len]
            acc |= c << nbits
            nbits += k
            c, k = _dist(best_dist)
        else:
            c, k = _LITLEN[data[i]]
        acc |= c << nbits
        nbits += k
        for j in range(i, min(i + step, n - 2)):
            chains.setdefault(data[j:j + 3], []).append(j)
        i += step
    c, k = _LITLEN[256]
    acc |= c << nbits
    nbits += k
    return acc.to_bytes((nbits + 7) // 8, "little")


def inflate(block: bytes, limit: int = TEXT_LIMIT) -> bytes:
    """Inflate a raw DEFLATE stream, stopping at ``limit`` output bytes."""
    d = zlib.decompressobj(wbits=-15)
    try:
        out = d.decompress(block, limit + 1)
    except zlib.error as exc:
        raise AigifError("E_TEXT_CORRUPT", f"text block is not valid DEFLATE ({exc})") from None
    if len(out) > limit:
        raise AigifError("E_TEXT_LIMIT", f"text inflates past the limit of {limit} bytes")
    if not d.eof:
        raise AigifError("E_TEXT_CORRUPT", "DEFLATE stream ends before its final block")
    if d.unused_data:
        raise AigifError("E_TEXT_CORRUPT", f"{len(d.unused_data)} bytes follow the end of the DEFLATE stream")
    return out


def canonical(data: bytes) -> bytes:
    """:func:`deflate`, by the accelerator (``aigif/_speedups.c``, the same deflater in C) when it is built."""
    from .. import _fast
    if _fast.ENABLED and len(data) <= 1 << 24:  # framed text is at most 65,536 bytes (§7.1)
        return _fast._speedups.deflate(data)
    return deflate(data)


def encode(strings: list[str]) -> bytes:
    return canonical(frame(strings))


def decode(block: bytes, count: int, limit: int = TEXT_LIMIT) -> list[str]:
    framed = inflate(block, limit)
    strings = unframe(framed, count)
    if canonical(framed) != block:
        raise AigifError("E_NONCANONICAL", "DEFLATE stream is not the canonical deflater's output")
    return strings
