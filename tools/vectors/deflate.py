"""DEFLATE streams symbol by symbol (RFC 1951, fixed Huffman codes), so the
vectors do not depend on the zlib build: SPEC.md §7.3's canonical greedy
parse, with knobs to write what a wrong encoder would."""
from __future__ import annotations

import math
import struct
import zlib

from aigif import text
from aigif.conformance.bitwriter import DeflateWriter

from .common import BuildError


def greedy_parse(t: bytes, window=32768, max_candidates=32, max_match=258, nearest=True, insert_all=True):
    """SPEC.md §7.3's parse: ("l", byte) and ("m", length, distance) symbols."""
    n, i, out, chains = len(t), 0, [], {}
    while i < n:
        best_len = best_dist = 0
        if i + 3 <= n:
            cands = []
            for p in reversed(chains.get(t[i:i + 3], ())):
                if i - p > window or len(cands) == max_candidates:
                    break
                cands.append(p)
            for p in cands:
                length = 0
                while length < min(max_match, n - i) and t[p + length] == t[i + length]:
                    length += 1
                if length > best_len or (not nearest and length == best_len and length >= 3):
                    best_len, best_dist = length, i - p
        step = best_len if best_len >= 3 else 1
        out.append(("m", best_len, best_dist) if best_len >= 3 else ("l", t[i]))
        for j in (range(i, min(i + step, n - 2)) if insert_all else [i] if i <= n - 3 else []):
            chains.setdefault(t[j:j + 3], []).append(j)
        i += step
    return out


def emit(symbols, blocks=1, pad_fill=0) -> bytes:
    """Fixed-Huffman stream of ``symbols`` split into ``blocks`` blocks."""
    w = DeflateWriter()
    per = max(1, math.ceil(len(symbols) / blocks))
    parts = [symbols[k:k + per] for k in range(0, len(symbols), per)] or [[]]
    for bi, part in enumerate(parts):
        w.block(bi == len(parts) - 1, 1)
        for s in part:
            w.literal(s[1]) if s[0] == "l" else w.match(s[1], s[2])
        w.eob()
    w.pad_to_byte(pad_fill)
    return w.getvalue()


def one_block(*symbols, final=True) -> bytes:
    """One fixed block of the given symbols (an int: a literal; a pair: a
    match), end of block, zero padding; ``final`` is BFINAL."""
    w = DeflateWriter()
    w.block(final, 1)
    for s in symbols:
        w.literal(s) if isinstance(s, int) else w.match(*s)
    w.eob()
    w.pad_to_byte()
    return w.getvalue()


def canonical_deflate(t: bytes) -> bytes:
    out = emit(greedy_parse(t))
    if out != text.deflate.deflate(t):
        raise BuildError("the builder's canonical deflater disagrees with the reference")
    return out


def stored_deflate(t: bytes) -> bytes:
    return b"\x01" + struct.pack("<HH", len(t), len(t) ^ 0xFFFF) + t


def inflate_all(b: bytes) -> bytes:
    d = zlib.decompressobj(wbits=-15)
    return d.decompress(b) + d.flush()
