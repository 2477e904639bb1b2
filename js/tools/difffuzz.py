"""Differential fuzzing of the JavaScript implementation against the Python reference.

A seeded generator mutates the valid vector files (bit flips, byte edits,
inserts, deletes, truncation, splices, length-field edits, text-block
rewrites) and usually re-frames the result (body length and CRC-32 fixed),
so that mutations reach the core, sections and text coders instead of
stopping at E_CHECKSUM. Structured inputs too: fresh valid files from the
reference writer with random strings and values, and their text blocks
replaced by zlib's own (non-canonical) streams, stored blocks, random
dynamic-Huffman blocks (incomplete, over-subscribed, HLIT/HDIST over the
limits) or damaged prompt-coder bytes. For valid inputs the JS writer must
also reproduce the input byte for byte. Every input goes to one long-lived
`node bin/aigif.js batch` process and to the reference
(`aigif.codec.read` + `aigif.jsonform.to_json`); both must give the same
verdict, the same error code and, for valid inputs, the same fields.

    python js/tools/difffuzz.py --count 1000000 --seed 1
"""
from __future__ import annotations

import argparse
import base64
import json
import math
import random
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

JS = Path(__file__).resolve().parent.parent
ROOT = JS.parent


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def split(data: bytes):
    """(header end, body) of a well-formed file, or None."""
    if len(data) < 9 or data[:4] != b"AIG\x01":
        return None
    pos, L, shift = 4, 0, 0
    while pos < len(data) and pos < 14:
        b = data[pos]
        L |= (b & 0x7F) << shift
        shift += 7
        pos += 1
        if not b & 0x80:
            break
    else:
        return None
    if pos + L + 4 != len(data):
        return None
    return data[pos : pos + L]


def frame(body: bytes) -> bytes:
    head = b"AIG\x01" + uvarint(len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


def mutate_bytes(rng: random.Random, b: bytearray, corpus) -> bytearray:
    n = rng.randrange(1, 4)
    for _ in range(n):
        op = rng.randrange(9)
        if not b:
            b.append(rng.randrange(256))
            continue
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0, 0xFF, 0x7F, 0x80, 1, rng.randrange(256)))
        elif op == 2:
            b.insert(i, rng.randrange(256))
        elif op == 3:
            del b[i : i + rng.randrange(1, 4)]
        elif op == 4:
            del b[rng.randrange(len(b) + 1) :]
        elif op == 5:  # splice with another file's body
            other = rng.choice(corpus)
            j = rng.randrange(len(other) + 1)
            b[i:] = other[j:]
        elif op == 6:  # a uvarint-looking length edit
            b[i : i + 1] = uvarint(rng.choice((0, 1, 2, 31, 32, 33, 127, 128, 255, 65536, 2**31, 2**32, rng.randrange(2**20))))
        elif op == 7:  # duplicate a run
            j = rng.randrange(i, min(len(b), i + 16) + 1)
            b[i:i] = b[i:j]
        else:  # small arithmetic
            b[i] = (b[i] + rng.choice((-2, -1, 1, 2))) & 0xFF
    return b


def generate(rng: random.Random, files, bodies, templates):
    r = rng.random()
    if r < 0.4:  # structured: a fresh valid file, its text block rewritten, or mutated
        data = random_valid(rng, templates)
        if data is not None:
            k = rng.random()
            if k < 0.35:
                return data
            if k < 0.75:
                return rewrite_text(rng, data, rng.choice(("deflate", "prompt")))
            body = bytearray(split(data))
            return frame(bytes(mutate_bytes(rng, body, bodies)))
    src = rng.choice(files)
    r = rng.random()
    if r < 0.08:  # container-level damage, framing left as it is
        return bytes(mutate_bytes(rng, bytearray(src), files))
    body = split(src)
    if body is None:
        return bytes(mutate_bytes(rng, bytearray(src), files))
    body = bytearray(body)
    if r < 0.2 and len(body) > 8:  # rewrite only the tail (the text block, usually)
        k = rng.randrange(max(1, len(body) - 40), len(body))
        tail = mutate_bytes(rng, body[k:], bodies)
        body = body[:k] + tail
    else:
        body = mutate_bytes(rng, body, bodies)
    data = frame(bytes(body))
    if rng.random() < 0.03:  # then a framing fault on top
        data = bytes(mutate_bytes(rng, bytearray(data), files))
    return data



WORDS = ["a", "photo", "of", "cat", "Cat", "CAT", "iPhone", "HTMLParser", "ABc", "masterpiece", "zyxq",
         "qwrtzp", "best", "quality", "1girl", "8k", "(", ")", ":", "1.2", ",", ".", "!", "\n", "\t", "  ",
         "é", "☃", "😀", "日本", "\u00a0", "\x00", "\x7f", "Ünïcödé", "x" * 40, "BREAK", "[a|b]", "{x}",
         "ÆØÅ", "ß", "\u0301", "-", "_", "'", '"', "\\", "/", "\ufeff", "\U0010ffff", "0", "99"]


def random_string(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return ""
    parts = []
    for _ in range(rng.randrange(1, 14)):
        r = rng.random()
        if r < 0.7:
            parts.append(rng.choice(WORDS))
        elif r < 0.85:
            parts.append("".join(chr(rng.randrange(97, 123)) for _ in range(rng.randrange(1, 12))))
        else:
            cp = rng.choice((rng.randrange(0x20, 0x80), rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800),
                             rng.randrange(0xE000, 0x10000), rng.randrange(0x10000, 0x110000)))
            parts.append(chr(cp))
        parts.append(rng.choice((" ", " ", " ", "", ", ", "  ")))
    s = "".join(parts)
    return s.strip() if rng.random() < 0.7 else s


FLOATS = [0.0, -0.0, 7.5, 6.3, 100.0, 0.1, 1e-6, 1.0000001, 3.14159265358979, 5e-324, 99.99999999, 42.0]


def random_valid(rng: random.Random, templates):
    """A valid file made by the reference writer from a vector's fields, with random strings and values."""
    from aigif import codec, jsonform

    d = json.loads(json.dumps(rng.choice(templates)))
    d["text_coder"] = rng.choice(("none", "deflate", "prompt", "prompt"))
    d["prompt"] = random_string(rng)
    d["negative_prompt"] = random_string(rng)
    for k, v in list(d["fields"].items()):
        if isinstance(v, str) and k not in ("scheduler",):
            d["fields"][k] = random_string(rng)
        elif isinstance(v, float) and rng.random() < 0.5:
            d["fields"][k] = rng.choice(FLOATS + [rng.uniform(0, 100), round(rng.uniform(0, 100), rng.randrange(7))])
        elif isinstance(v, int) and not isinstance(v, bool) and k == "steps":
            d["fields"][k] = rng.randrange(1, 1001)
    d["seed"] = rng.choice((0, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, rng.randrange(2**rng.randrange(1, 65))))
    try:
        return codec.write(jsonform.from_json(d))
    except Exception:  # a value the template's family refuses
        return None


def deflate_variants(rng: random.Random, framed: bytes) -> bytes:
    """Non-canonical and damaged DEFLATE streams of a framed text: zlib's own
    output (dynamic and fixed blocks, several levels), stored blocks, then bit damage."""
    r = rng.random()
    if r < 0.4:
        c = zlib.compressobj(rng.choice((0, 1, 6, 9)), zlib.DEFLATED, -15, rng.choice((1, 8, 9)),
                             rng.choice((zlib.Z_DEFAULT_STRATEGY, zlib.Z_HUFFMAN_ONLY, zlib.Z_FIXED, zlib.Z_RLE)))
        out = bytearray(c.compress(framed) + c.flush())
    elif r < 0.55:
        out = bytearray(b"\x01" + struct.pack("<HH", len(framed), len(framed) ^ 0xFFFF) + framed)
    elif r < 0.7:  # a dynamic-block header with random fields, then random bits
        out = bytearray(rng.randrange(256) for _ in range(rng.randrange(3, 40)))
        out[0] = (out[0] & ~0x07) | 0x05  # BFINAL = 1, BTYPE = 10
    else:
        out = bytearray(dynamic_block(rng))
    for _ in range(rng.randrange(0, 3)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


class LsbBits:
    def __init__(self):
        self.out, self.buf, self.n = bytearray(), 0, 0

    def put(self, v, n, msb=False):
        for i in range(n):
            bit = (v >> (n - 1 - i)) & 1 if msb else (v >> i) & 1
            self.buf |= bit << self.n
            self.n += 1
            if self.n == 8:
                self.out.append(self.buf)
                self.buf, self.n = 0, 0

    def bytes(self):
        return bytes(self.out) + (bytes([self.buf]) if self.n else b"")


def canonical_codes(lengths):
    """RFC 1951 §3.2.2 codes of a length list (any lengths, complete or not)."""
    bl = [0] * 16
    for ln in lengths:
        bl[ln] += 1
    bl[0] = 0
    code, nxt = 0, [0] * 16
    for b in range(1, 16):
        code = (code + bl[b - 1]) << 1
        nxt[b] = code
    codes = {}
    for sym, ln in enumerate(lengths):
        if ln:
            codes[sym] = (nxt[ln] & ((1 << ln) - 1), ln)
            nxt[ln] += 1
    return codes


def random_lengths(rng, n, must=None, syms=None):
    """Code lengths from a random Huffman-ish shape, then perhaps damaged:
    a single code, one length changed (incomplete or over-subscribed)."""
    if syms is None:
        k = rng.choice((1, 2, 3, 5, 10, 30, n))
        syms = rng.sample(range(n), min(k, n))
        if must is not None and must not in syms:
            syms[0] = must
    syms = list(syms)
    lengths = [0] * n
    if len(syms) == 1:
        lengths[syms[0]] = 1
    else:
        # a complete code: split the interval greedily
        depth = max(1, (len(syms) - 1).bit_length())
        for sym in syms:
            lengths[sym] = depth
        extra = (1 << depth) - len(syms)
        for sym in syms[:extra]:
            lengths[sym] = depth - 1 if depth > 1 else 1
        # pairs at depth-1 each replace two at depth: fix completeness by recount
        total = sum(2.0 ** -lengths[s] for s in syms)
        while total > 1.0:
            s = rng.choice(syms)
            if lengths[s] < 15:
                total -= 2.0 ** -lengths[s]
                lengths[s] += 1
                total += 2.0 ** -lengths[s]
    if rng.random() < 0.15:
        s = rng.choice(syms)
        lengths[s] = max(1, min(15, lengths[s] + rng.choice((-1, 1))))
    return lengths


def dynamic_block(rng):
    """A BTYPE=10 block with random code lengths and random symbols: the
    cases §7.3 leaves to zlib (incomplete and over-subscribed codes, a single
    length-1 code, HLIT/HDIST over the limits, distances too far back)."""
    nlen = rng.choice((257, 258, 286, 286, 286, rng.randrange(257, 287), rng.randrange(257, 287), 287, 288))
    ndist = rng.choice((1, 1, 2, 30, 30, rng.randrange(1, 31), rng.randrange(1, 31), 31, 32))
    lit = random_lengths(rng, nlen, must=256 if rng.random() < 0.95 else None)
    dist = random_lengths(rng, ndist) if rng.random() < 0.9 else [0] * ndist
    all_lengths = lit + dist
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    cl_syms = sorted(set(all_lengths))
    cl = random_lengths(rng, 19, syms=cl_syms)  # every length value used has a code
    hclen = max(4, max(i for i, o in enumerate(order) if cl[o]) + 1)
    w = LsbBits()
    w.put(1, 1)
    w.put(2, 2)
    w.put(nlen - 257, 5)
    w.put(ndist - 1, 5)
    w.put(hclen - 4, 4)
    for i in range(hclen):
        w.put(min(cl[order[i]], 7), 3)
    clc = canonical_codes([min(x, 7) if i in [order[j] for j in range(hclen)] else 0 for i, x in enumerate(cl)])
    for ln in all_lengths:
        c = clc.get(ln)
        if c is None:
            break
        w.put(c[0], c[1], msb=True)
    lc, dc = canonical_codes(lit), canonical_codes(dist)
    lsyms = [s for s in lc if s != 256] or [256]
    for _ in range(rng.randrange(0, 30)):
        s = rng.choice(lsyms)
        w.put(lc[s][0], lc[s][1], msb=True)
        if s > 256 and dc:
            ds = rng.choice(list(dc))
            w.put(rng.randrange(32), 5)  # extra bits (too many is fine: random)
            w.put(dc[ds][0], dc[ds][1], msb=True)
    if 256 in lc:
        w.put(lc[256][0], lc[256][1], msb=True)
    return w.bytes()


def rewrite_text(rng: random.Random, data: bytes, coder: str):
    """Replace the text block of a valid file whose core ends where its `none`
    twin's framed text begins: deflate variants of the framed text, or
    damaged prompt-coder bytes."""
    from aigif import codec, jsonform

    d = jsonform.to_json(codec.read(data))
    d["text_coder"] = "none"
    plain = split(codec.write(jsonform.from_json(d)))
    d["text_coder"] = coder
    other = split(codec.write(jsonform.from_json(d)))
    # The two bodies differ only in the 4-bit text_coder field and the text block.
    framed = b"".join(uvarint(len(s.encode())) + s.encode() for s in strings_of(d))
    head = other[: len(plain) - len(framed)]
    block = other[len(head):]
    if coder == "deflate":
        block = deflate_variants(rng, framed)
    else:
        block = bytearray(block)
        for _ in range(rng.randrange(1, 4)):
            op = rng.randrange(5)
            if op == 0 and block:
                block[rng.randrange(len(block))] ^= 1 << rng.randrange(8)
            elif op == 1:
                block.append(rng.randrange(256))
            elif op == 2 and block:
                del block[-1]
            elif op == 3:
                block = bytearray(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
            elif block:
                block[rng.randrange(len(block))] = rng.randrange(256)
        block = bytes(block)
    return frame(head + block)


def strings_of(d):
    """The file's strings in text-block order (SPEC.md §7.1)."""
    return [d["prompt"], d["negative_prompt"]] + [v for k, v in d["fields"].items() if k in STR_FIELDS] + \
        [v for k, v in d["model_fields"].items() if k == "model_name"]


STR_FIELDS = set()
for _f in json.loads((ROOT / "registry" / "families.json").read_text())["entries"]:
    STR_FIELDS.update(x["name"] for x in _f["fields"] if x["type"] == "str")


def reference_verdict(data: bytes):
    from aigif import codec
    from aigif.errors import AigifError
    from aigif.jsonform import to_json

    try:
        f = codec.read(data)
        return {"valid": True, "info": json.loads(json.dumps(to_json(f)))}
    except AigifError as e:
        return {"valid": False, "code": e.code}
    except Exception as e:  # reported as a reference failure
        return {"valid": False, "code": f"UNCAUGHT {type(e).__name__}: {e}"}


def same(a, b) -> bool:
    """Equality that tells int from float from bool and compares floats bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


class Node:
    def __init__(self):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: the JavaScript implementation cannot be tested")
        self.p = subprocess.Popen([node, str(JS / "bin" / "aigif.js"), "batch"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, cwd=str(ROOT))

    def run(self, inputs):
        def feed():
            for d in inputs:
                self.p.stdin.write(base64.b64encode(d) + b"\n")
            self.p.stdin.flush()

        t = threading.Thread(target=feed)
        t.start()
        out = [json.loads(self.p.stdout.readline()) for _ in inputs]
        t.join()
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def corpus():
    files = [p.read_bytes() for p in sorted((ROOT / "vectors" / "parse").glob("*.aigif"))]
    # Small files first in the mix: they are where most distinct paths are.
    files = [f for f in files if len(f) < 100_000]
    bodies = [split(f) or f for f in files]
    templates = [json.loads(p.read_text()) for p in sorted((ROOT / "vectors" / "parse").glob("*.json"))]
    templates = [t for t in templates if len(json.dumps(t)) < 4000]
    return files, bodies, templates


def run(count: int, seed: int, batch: int = 500, report=None, max_failures: int = 20):
    files, bodies, templates = corpus()
    rng = random.Random(seed)
    node = Node()
    stats = {"count": 0, "valid": 0, "codes": {}, "failures": []}
    t0 = time.time()
    try:
        while stats["count"] < count:
            n = min(batch, count - stats["count"])
            inputs = [generate(rng, files, bodies, templates) for _ in range(n)]
            got = node.run(inputs)
            for data, js in zip(inputs, got):
                ref = reference_verdict(data)
                stats["count"] += 1
                key = "valid" if ref["valid"] else ref["code"]
                stats["codes"][key] = stats["codes"].get(key, 0) + 1
                if ref["valid"]:
                    stats["valid"] += 1
                ok = ref["valid"] == js["valid"] and (
                    same(ref["info"], js["info"]) and js["roundtrip"] if ref["valid"] else ref["code"] == js.get("code"))
                if not ok and len(stats["failures"]) < max_failures:
                    if report:
                        print("DISAGREEMENT", data.hex(), ref.get("code"), js.get("code"), file=sys.stderr, flush=True)
                    stats["failures"].append({"input": data.hex(), "reference": ref if not ref["valid"] else "valid",
                                              "js": js if not js["valid"] else "valid",
                                              "info_differs": ref["valid"] and js["valid"]})
            if report:
                report(stats, time.time() - t0)
    finally:
        node.close()
    stats["seconds"] = time.time() - t0
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--out", help="write the statistics and failures as JSON here")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "reference"))

    def report(s, dt):
        print(f"{s['count']} inputs, {s['valid']} valid, {len(s['failures'])} disagreements, {dt:.0f} s",
              file=sys.stderr, flush=True)

    s = run(a.count, a.seed, a.batch, report)
    summary = {k: s[k] for k in ("count", "valid", "seconds")}
    summary["disagreements"] = len(s["failures"])
    summary["codes"] = dict(sorted(s["codes"].items(), key=lambda kv: -kv[1]))
    print(json.dumps(summary, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(s, indent=1))
    for f in s["failures"][:5]:
        print(json.dumps(f), file=sys.stderr)
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
