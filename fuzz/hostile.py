"""Hostile AIGIF inputs, built by hand, and a harness that measures them.

Used by tests/test_hostile.py (limits of SPEC.md §11 at and just past their
values, bombs, peak memory) and on its own:

    python fuzz/hostile.py                  # table: time and peak memory of every hostile input
                                            # ("read": codec.read as aigif-validate does; "full": also
                                            #  write, bit_table, to_json as aigif info [--bits] do)
    python fuzz/hostile.py --json           # the same as JSON
    python fuzz/hostile.py --write DIR      # write the inputs as files (e.g. for aigif-validate)

Everything here builds bytes with the conformance bit writer
(``aigif.conformance.bitwriter``, shared with the vector builder) rather than
with ``codec.write``, because the writer refuses to produce invalid files.
"""
from __future__ import annotations

import functools
import json
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

from aigif.conformance.bitwriter import DeflateWriter, frame, pack, pixel_section, se, size_fields, u, ue, uvarint, wrap
from aigif.conformance.bitwriter import dec_decimal as dec
from aigif.conformance.bitwriter import expc as expcode
from aigif.conformance.bitwriter import ref_bits as ref
from aigif.conformance.bitwriter import seed_bits as seed
from aigif.png import SIGNATURE, ihdr_chunk
from aigif.png import chunk as png_chunk

MB = 1 << 20


def framed(*strings: bytes) -> bytes:
    return frame(strings)


# ---------------------------------------------------------------- the core of an sd-1.5 file


def sd_fields(scheduler: int = 1, steps: int = 50, guidance: str | None = None, clip_skip: int = 0) -> str:
    """sd family fields: scheduler (1 = default), steps, guidance (7.5), clip_skip."""
    return ref("schedulers", scheduler) + ue(steps - 1) + (dec(75, 1) if guidance is None else guidance) + ue(clip_skip)


def size_bits(h: int, w: int, g: int = 8) -> dict:
    """size_unit, height, width (SPEC.md §5) as core() arguments."""
    return dict(size_fields(h, w, g))


side_bits = size_bits  # the name tests/test_hostile.py uses for pixel-payload sizes


def core(*, pixels=0, model_payload=0, digest=0, extensions=0, coder=0, device="0000", model=expcode(0),
         dtype=1, noise=0, size_unit="1", height=ue(512 // 64 - 1), width=se(0), seed_bits=seed(42),
         fields=None, model_fields="") -> str:
    """The core's bits (SPEC.md §5); defaults: sd-1.5 512x512, cpu, coder none.
    Any argument may be replaced by arbitrary bits."""
    fields = sd_fields() if fields is None else fields
    return (u(pixels, 1) + u(model_payload, 1) + u(digest, 1) + u(extensions, 1) + u(coder, 4) + device
            + model + u(dtype, 4) + u(noise, 4) + size_unit + height + width + seed_bits + fields + model_fields)


def aigif(core_bits: str | None = None, sections: bytes = b"", text: bytes | None = None, **kw) -> bytes:
    """A whole file: core (padded) + sections + text block (default: two empty strings, coder none)."""
    return wrap(pack(core(**kw) if core_bits is None else core_bits) + sections + (framed(b"", b"") if text is None else text))


# ---------------------------------------------------------------- DEFLATE bomb (fixed Huffman, RFC 1951)


def deflate_bomb(stream_bytes: int = MB) -> tuple[bytes, int]:
    """A raw DEFLATE stream of about ``stream_bytes`` that inflates to
    ``(stream_bytes / 13) * 8 * 258`` zero bytes (about 159x) — one fixed
    Huffman block: literal 0, then matches (258, distance 1). Built in O(size):
    after 24 bits the stream repeats every 8 matches (13 bytes).
    Returns (stream, inflated size)."""
    head = DeflateWriter()
    head.block(True, 1)
    head.literal(0)
    head.match(258, 1)
    assert head.n == 24
    pat = DeflateWriter()
    for _ in range(8):
        pat.match(258, 1)
    assert pat.n == 104
    reps = max(1, (stream_bytes - 4) // 13)
    tail = DeflateWriter()
    tail.eob()
    stream = head.getvalue() + pat.getvalue() * reps + tail.getvalue()
    return stream, 1 + 258 * (1 + 8 * reps)


# ---------------------------------------------------------------- PNG


def png(width: int, height: int, idat: bytes, depth=8, colour=2, interlace=0) -> bytes:
    """A PNG of one IDAT chunk holding ``idat`` as given (any zlib stream, or none)."""
    return SIGNATURE + ihdr_chunk(width, height, depth, colour, interlace) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_rgb(width: int, height: int, fill: int = 0) -> bytes:
    """A real RGB PNG of the given size (zlib level 1)."""
    raw = (b"\x00" + bytes([fill]) * (3 * width)) * height
    return png(width, height, zlib.compress(raw, 1))


def png_stored(width: int, height: int) -> bytes:
    """An RGB PNG with stored (uncompressed) blocks: about 3 bytes per pixel."""
    raw = (b"\x00" + bytes(range(256)) * (3 * width // 256) + bytes(3 * width % 256)) * height
    return png(width, height, zlib.compress(raw, 0))


def png_idat_bomb(width: int, height: int, stream_bytes: int = 512 * 1024) -> bytes:
    """IHDR says width x height (it can match the file); IDAT is a zlib stream
    of about ``stream_bytes`` that inflates to ~160x as many zero bytes
    (all-zero rows: filter 0, black pixels)."""
    raw, inflated = deflate_bomb(stream_bytes)
    adler = 1
    zero = bytes(MB)
    left = inflated
    while left:
        n = min(left, MB)
        adler = zlib.adler32(zero[:n], adler)
        left -= n
    return png(width, height, b"\x78\x01" + raw + struct.pack(">I", adler))


# ---------------------------------------------------------------- the hostile set (each <= 1 MiB)


@functools.lru_cache(maxsize=1)
def hostile_inputs() -> dict[str, bytes]:
    rnd = random.Random(7)
    out: dict[str, bytes] = {}
    out["random-1MiB"] = rnd.randbytes(MB)
    out["random-body-1MiB (valid header and CRC)"] = wrap(rnd.randbytes(MB - 16))
    bomb, _ = deflate_bomb(MB - 64)
    out["deflate-bomb-1MiB (~160 MiB inflated)"] = aigif(coder=1, text=bomb)
    out["none-text-1MiB"] = aigif(text=framed(b"a" * (MB - 64), b""))
    out["none-text-65536 (at the limit, valid)"] = aigif(text=framed(b"a" * 65532, b""))
    out["utf8-invalid-65536"] = aigif(text=framed(b"\xff" * 65532, b""))
    # 32 unknown ignorable extensions of 32 KiB each: a valid 1 MiB file
    exts = uvarint(32) + b"".join(uvarint(2 * t) + uvarint(32000) + rnd.randbytes(32000) for t in range(3, 35))
    out["extensions-32x32KiB (valid)"] = aigif(extensions=1, sections=exts)
    # a registered extension (software, tag 2) whose body is 1 MiB: parsed bit by bit
    sw = pack(ue(65536) + "0" * (8 * 65536))
    out["software-extension-1MiB"] = aigif(extensions=1, sections=uvarint(1) + uvarint(2) + uvarint(MB - 64) + sw + bytes(MB - 64 - len(sw)))
    out["pixel-png-1MiB (valid, 560x560 stored)"] = aigif(pixels=1, sections=pixel_section(png_stored(560, 560)), **side_bits(560, 560))
    out["pixel-png-ihdr-100000x100000"] = aigif(pixels=1, sections=pixel_section(png(100000, 100000, zlib.compress(b""))))
    out["pixel-png-idat-bomb-8x8 (valid at parse)"] = aigif(pixels=1, sections=pixel_section(png_idat_bomb(8, 8)), **side_bits(8, 8))
    out["pixel-declared-256MiB"] = aigif(pixels=1, sections=b"\x00" + uvarint(256 * MB) + b"x")
    out["model-declared-2GiB"] = aigif(model_payload=1, sections=b"\x00" + uvarint(2 << 30) + bytes(32) + b"x")
    out["header-claims-4GiB"] = b"AIG\x01" + uvarint((1 << 32) - 1) + bytes(MB - 16)
    out["core-then-1MiB-garbage"] = aigif(text=framed(b"", b"") + rnd.randbytes(MB - 64))
    out["expgolomb-33-zeros"] = aigif(core_bits=core(height="0" * 33 + "1" + "0" * 33))
    out["deflate-worst-reencode (valid)"] = aigif(coder=1, text=_deflate_of(framed((b"a" * 256 + b"b") * 254 + b"a" * 250, b"")))
    return out


def _deflate_of(data: bytes) -> bytes:
    from aigif.text.deflate import deflate
    return deflate(data)


# ---------------------------------------------------------------- measuring


def read_check(data: bytes) -> str:
    """What a validator does: codec.read. Returns the error code or 'valid'."""
    from aigif import codec
    from aigif.errors import AigifError
    try:
        codec.read(data)
    except AigifError as e:
        return e.code
    return "valid"


def full_check(data: bytes) -> str:
    """What the JSON tools do on top: on success also write, bit_table
    (``aigif info --bits``) and to_json (``aigif info``)."""
    from aigif import bits, codec, jsonform
    from aigif.errors import AigifError
    try:
        f = codec.read(data)
    except AigifError as e:
        return e.code
    codec.write(f)
    bits.bit_table(data)
    json.dumps(jsonform.to_json(f))
    return "valid"


def _traced(fn, data: bytes) -> tuple[str, float, int]:
    import tracemalloc
    tracemalloc.start()
    t = time.perf_counter()
    result = fn(data)
    dt = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, dt, peak


def _one(name: str) -> None:
    """Subprocess body: baseline max RSS after warm-up, then the input, first
    through read_check, then through full_check (ru_maxrss only grows)."""
    import resource
    data = hostile_inputs()[name]
    from aigif import codec, jsonform
    warm = codec.write(jsonform.new("sd-1.5", height=8, width=8, seed=0, text_coder="deflate", prompt="warm"))
    full_check(warm)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731  (KiB on Linux)
    base = rss()
    t = time.perf_counter()
    result = read_check(data)
    dt_read = time.perf_counter() - t
    rss_read = rss()
    t = time.perf_counter()
    full_check(data)
    dt_full = time.perf_counter() - t
    rss_full = rss()
    _, _, tm_read = _traced(read_check, data)
    _, _, tm_full = _traced(full_check, data)
    print(json.dumps({"name": name, "size": len(data), "result": result, "baseline_rss_kib": base,
                      "read": {"seconds": dt_read, "rss_above_base_kib": rss_read - base, "tracemalloc_peak": tm_read},
                      "full": {"seconds": dt_full, "rss_above_base_kib": rss_full - base, "tracemalloc_peak": tm_full}}))


def measure_all(names: list[str] | None = None) -> list[dict]:
    """Each input in a fresh interpreter (ru_maxrss is a high-water mark).
    The input bytes are built before the baseline is taken."""
    rows = []
    for name in names or list(hostile_inputs()):
        r = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True, timeout=600)
        if r.returncode:
            rows.append({"name": name, "error": r.stderr[-2000:]})
        else:
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        _one(argv[1])
        return 0
    if argv[:1] == ["--write"]:
        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        for i, (name, data) in enumerate(hostile_inputs().items()):
            (out / f"{i:02d}.aigif").write_bytes(data)
            print(f"{i:02d}.aigif  {name}")
        return 0
    rows = measure_all()
    if argv[:1] == ["--json"]:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'input':44} {'size':>8} {'result':>21} | {'read ms':>8} {'RSS+MiB':>7} {'tm MiB':>6} | {'full ms':>8} {'RSS+MiB':>7} {'tm MiB':>6}")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:44} CRASH {r['error'].splitlines()[-1]}")
            continue
        a, b = r["read"], r["full"]
        print(f"{r['name'][:44]:44} {r['size']:>8} {r['result']:>21} | {1000 * a['seconds']:>8.1f} "
              f"{a['rss_above_base_kib'] / 1024:>7.1f} {a['tracemalloc_peak'] / MB:>6.1f} | {1000 * b['seconds']:>8.1f} "
              f"{b['rss_above_base_kib'] / 1024:>7.1f} {b['tracemalloc_peak'] / MB:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
