"""DEFLATE streams symbol by symbol (RFC 1951: fixed Huffman codes, and
dynamic-Huffman block headers for the validity rules of SPEC.md §7.3), so the
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


# RFC 1951 §3.2.7: the order in which the code-length code's lengths are sent
CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)


def huffman_codes(lengths) -> dict:
    """RFC 1951 §3.2.2's canonical codes {symbol: (code, length)} for the
    non-zero ``lengths``; no completeness check, so any set can be written."""
    count = [0] * 16
    for n in lengths:
        count[n] += 1
    count[0], code, nxt = 0, 0, [0] * 16
    for bits in range(1, 16):
        code = (code + count[bits - 1]) << 1
        nxt[bits] = code
    out = {}
    for s, n in enumerate(lengths):
        if n:
            out[s] = (nxt[n], n)
            nxt[n] += 1
    return out


def dynamic_block(w: DeflateWriter, final: bool, litlen, dist, cl_items=None, cl_lengths=None):
    """A dynamic-Huffman block header (RFC 1951 §3.2.7) with the given code
    lengths, returning the lit/len and distance codes for the caller to write
    symbols with. The code lengths are sent one code-length symbol each
    (``cl_items``, default the lengths themselves: no repeat codes), with a
    code-length code of ``cl_lengths`` (default: a complete code over all
    19 code-length symbols). HLIT and HDIST are the lists' lengths, so
    counts RFC 1951's fields allow but zlib refuses (287, 31) can be written."""
    items = cl_items if cl_items is not None else [(n, 0, 0) for n in list(litlen) + list(dist)]
    if cl_lengths is None:
        # a complete code over all 19 code-length symbols: 13 of length 4 and 6 of length 5 (13/16 + 6/32 = 1)
        cl_lengths = [4] * 13 + [5] * 6
    hclen = max(i for i, s in enumerate(CL_ORDER) if cl_lengths[s]) + 1
    hclen = max(hclen, 4)
    w.block(final, 2)
    w.bits(len(litlen) - 257, 5)
    w.bits(len(dist) - 1, 5)
    w.bits(hclen - 4, 4)
    for s in CL_ORDER[:hclen]:
        w.bits(cl_lengths[s], 3)
    cl = huffman_codes(cl_lengths)
    for sym, extra, nbits in items:
        w.huff(*cl[sym])
        w.bits(extra, nbits)
    return huffman_codes(litlen), huffman_codes(dist)
