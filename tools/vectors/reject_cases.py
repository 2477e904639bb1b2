"""Reject vectors: invalid files with exactly one fault, and the SPEC.md §10
code that §9 makes their first error. Each table is a list of rows

    (name, bytes or Raw, error code, fault, "SPEC.md sections, comma separated")

built from a few valid files (the paper's example first); every row is checked
against the reference as it is added, and a row the reference disagrees with
stops the build."""
from __future__ import annotations

import hashlib
import math
import struct
import zlib

from aigif import codec, text
from aigif.conformance.bitwriter import (
    DeflateWriter,
    bits_to_bytes,
    bytes_bits,
    coded_as,
    dec_binary,
    dec_decimal,
    expc,
    expcode_bytes,
    frame,
    model_section,
    pack,
    pixel_section,
    ref_bits,
    seed_bits,
    u,
    ue,
    with_crc,
)
from aigif.conformance.bitwriter import uvarint as uv
from aigif.conformance.png import png_from_raw
from aigif.file import Extension
from aigif.png import SIGNATURE, chunk

from . import prompt_streams as ps
from .common import REG, TEXT_LIMIT, BuildError, Vectors, dumps, ident, next_id, table
from .deflate import canonical_deflate, dynamic_block, emit, greedy_parse, one_block, stored_deflate
from .files import Raw, cut_core, extension_body, extension_records, raw_of
from .fixtures import PAPER, all_sections, ext, new, paper, png_rgb, tiny_safetensors, with_ext, with_model, with_pixels


def add_reject(vs: Vectors, name: str, data, error: str, fault: str, spec: str) -> None:
    data = data.bytes() if isinstance(data, Raw) else data
    try:
        err = codec.validate(data, REG)
    except Exception as exc:  # the reference crashed instead of reporting a code
        raise BuildError(f"reject/{name}: the reference crashes: {type(exc).__name__}: {exc}") from None
    got = None if err is None else err.code
    if got != error:
        raise BuildError(f"reject/{name}: the reference says {got} ({err}), the vector says {error}")
    vs.add("reject", name, fault, {"input": (f"{name}.aigif", data),
                                   "expected": (f"{name}.json", dumps({"error": error, "fault": fault, "spec": spec.split(", ")}))})


def flip(data: bytes, i: int, mask: int) -> bytes:
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1:]


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- the container (§4)
def container_rows(base: Raw) -> list:
    good, L = base.bytes(), len(base.body())
    crc = zlib.crc32(good[:-4])
    rows = [
        ("empty-file", b"", "E_MAGIC", "an empty file (SPEC.md §4.1: an empty file is not AIGIF)", "§4.1"),
        ("magic-prefix-1-byte", b"A", "E_TRUNCATED", "a 1-byte file that is a prefix of the magic", "§4.1"),
        ("magic-prefix-2-bytes", b"AI", "E_TRUNCATED", "a 2-byte file that is a prefix of the magic", "§4.1"),
        ("magic-1-byte-other", b"G", "E_MAGIC", "a 1-byte file that is not a prefix of the magic", "§4.1"),
        ("magic-wrong-third-byte", b"AIF" + good[3:], "E_MAGIC", "magic 41 49 46", "§4.1"),
        ("magic-lowercase", b"aig" + good[3:], "E_MAGIC", "magic in lower case", "§4.1"),
        ("magic-png-file", png_rgb(4, 4), "E_MAGIC", "a PNG file", "§4.1"),
        ("version-absent", b"AIG", "E_TRUNCATED", "the file ends after the magic", "§4.1"),
        *[(f"version-{v}", base.copy(version=v), "E_VERSION", f"format version {v}", "§4.1, §14") for v in (0, 2, 0x7F, 0xFF)],
        # body length (§4.2)
        ("body-length-absent", b"AIG\x01", "E_TRUNCATED", "the file ends before the body length", "§4.2"),
        ("body-length-cut-off", b"AIG\x01\x80", "E_TRUNCATED", "the file ends inside the body-length uvarint", "§4.2"),
        ("body-length-overlong", base.copy(length=bytes([L | 0x80, 0])), "E_VARINT",
         "body length written with a redundant 0x00 byte (overlong uvarint)", "§3.2, §4.2"),
        ("body-length-11-bytes", base.copy(length=b"\x80" * 10 + b"\x01"), "E_VARINT", "an 11-byte uvarint", "§3.2"),
        ("body-length-2pow64", base.copy(length=b"\xff" * 9 + b"\x02"), "E_VARINT", "a 10-byte uvarint of 2^64 or more", "§3.2"),
        ("body-length-0", base.copy(length=b"\x00"), "E_LIMIT", "body length 0 (at least 1)", "§4.2, §11"),
        ("body-length-2pow32", base.copy(length=uv(2**32)), "E_LIMIT", "body length 2^32: one past the limit", "§4.2, §11"),
        ("body-length-2pow64-1", base.copy(length=uv(2**64 - 1)), "E_LIMIT", "body length 2^64-1", "§4.2, §11"),
        ("body-length-2pow32-1", base.copy(length=uv(2**32 - 1)), "E_TRUNCATED",
         "body length 2^32-1 (the limit itself) in a short file: truncated, not over the limit", "§4.2, §11"),
        ("body-length-one-short", base.copy(length=uv(L - 1)), "E_TRAILING_DATA",
         "body length one less than the body: the file is one byte longer than its header says", "§4.2"),
        ("body-length-one-long", base.copy(length=uv(L + 1)), "E_TRUNCATED", "body length one more than the body", "§4.2"),
    ]
    rows += truncation_rows(good)
    rows += [
        ("trailing-zero-byte", good + b"\x00", "E_TRAILING_DATA", "one 0x00 byte after the CRC", "§4.2"),
        ("trailing-second-crc", good + good[-4:], "E_TRAILING_DATA", "the CRC written twice", "§4.2"),
        ("trailing-second-file", good + good, "E_TRAILING_DATA", "two files concatenated", "§4.2"),
        # checksum (§4.3)
        ("checksum-crc-bit-flip", flip(good, len(good) - 1, 0x01), "E_CHECKSUM", "one bit of the stored CRC flipped", "§4.3"),
        ("checksum-body-bit-flip", flip(good, len(good) // 2, 0x10), "E_CHECKSUM", "one bit of the body flipped", "§4.3"),
        ("checksum-text-byte-changed", flip(good, len(good) - 6, 0x20), "E_CHECKSUM",  # inside "worst quality"
         "one byte of the text block changed (still valid text), CRC not updated", "§4.3"),
        ("checksum-zero", good[:-4] + b"\x00" * 4, "E_CHECKSUM", "CRC field all zero", "§4.3"),
        ("checksum-big-endian", good[:-4] + crc.to_bytes(4, "big"), "E_CHECKSUM", "the CRC stored big-endian", "§1, §4.3"),
        ("checksum-body-only", good[:-4] + zlib.crc32(good[4 + len(uv(L)):-4]).to_bytes(4, "little"), "E_CHECKSUM",
         "CRC computed over the body only (it covers the magic, version and length too)", "§4.3"),
        ("checksum-crc32c", good[:-4] + crc32c(good[:-4]).to_bytes(4, "little"), "E_CHECKSUM",
         "CRC-32C (Castagnoli) instead of the ISO-HDLC CRC-32", "§4.3"),
        ("checksum-not-inverted", good[:-4] + (crc ^ 0xFFFFFFFF).to_bytes(4, "little"), "E_CHECKSUM", "CRC without the final XOR", "§4.3"),
    ]
    return rows


def truncation_rows(good: bytes) -> list:
    """all-sections cut at every section boundary and inside each; the paper example without its last byte."""
    allr = raw_of(all_sections())
    alld = allr.bytes()
    n_len = len(uv(len(allr.body())))
    if n_len < 2:
        raise BuildError("all-sections should have a 2-byte body length")
    head, core_len = 4 + n_len, len(bits_to_bytes(allr.core_bits()))
    cut = {"after-magic": 3, "after-version": 4, "within-body-length": 5, "after-body-length": head,
           "within-core": head + core_len // 2}
    pos = head + core_len
    cut.update({"after-core": pos, "within-digest": pos + 3})
    pos += len(allr.digest)
    cut.update({"after-digest": pos, "within-extensions": pos + len(allr.exts) // 2})
    pos += len(allr.exts)
    cut.update({"after-extensions": pos, "within-pixel-payload": pos + len(allr.pixels) // 2})
    pos += len(allr.pixels)
    cut.update({"after-pixel-payload": pos, "within-model-payload-hash": pos + 10, "within-model-payload": pos + len(allr.model) - 5})
    pos += len(allr.model)
    cut.update({"after-model-payload": pos, "within-text": pos + len(allr.text) // 2})
    pos += len(allr.text)
    if pos + 4 != len(alld):
        raise BuildError("layout of all-sections")
    cut.update({"before-crc": pos, "within-crc-1": pos + 1, "within-crc-3": pos + 3})
    return [(f"truncated-{name}", alld[:n], "E_TRUNCATED", f"all-sections cut to {n} of {len(alld)} bytes ({name.replace('-', ' ')})", "§4.2")
            for name, n in cut.items()] + [
        ("truncated-paper-last-byte", good[:-1], "E_TRUNCATED", "the paper example without its last byte", "§4.2")]


# ---------------------------------------------------------------- the core (§5, §9 step 6)
OVERLONG_UE = "0" * 33 + "1" + "0" * 33   # 33 leading zeros: one more than Exp-Golomb allows (§3.4)
LONGEST_UE = "0" * 32 + "1" + "0" * 32    # 32 leading zeros: the longest legal code

# (name, field, bits, error, fault, spec) on the paper example (text coder none)
CORE_FIELDS = [
    ("expcode-model-16-units", "model", "11111111" * 16, "E_EXPCODE_OVERLONG", "model exp-code of 16 units all 0xFF", "§3.3, §11"),
    ("expcode-model-17-units", "model", "11111111" * 16 + u(0, 8), "E_EXPCODE_OVERLONG",
     "model exp-code of 16 escapes then a terminal unit (17 units)", "§3.3"),
    ("expcode-model-max-16-units", "model", "11111111" * 15 + u(254, 8), "E_UNKNOWN_ID",
     "model ID 4079: the longest legal exp-code (16 units), not registered", "§3.3, App. B"),
]

SIZE_FIELDS = [
    ("height-expgolomb-32-zeros", "height", LONGEST_UE, "E_RANGE",
     "height coded with 32 leading zeros (the longest legal Exp-Golomb code): far over 16384", "§3.4, §5"),
    ("height-expgolomb-33-zeros", "height", OVERLONG_UE, "E_EXPGOLOMB_OVERLONG", "height coded with 33 leading zeros", "§3.4, §11"),
]

# (seed, width class, label): a seed in a wider class than it needs
NONCANONICAL_SEEDS = [(0, 1, "0-in-16-bits"), (255, 1, "255-in-16-bits"), (65535, 2, "65535-in-32-bits"),
                      (2**32 - 1, 3, "2pow32-1-in-64-bits"), (0, 3, "0-in-64-bits")]

FAMILY_FIELDS = [
    ("steps-1001", "fields.steps", ue(1000), "E_RANGE", "steps 1001 (max 1000)", "§3.5, §5.2"),
    ("steps-expgolomb-33-zeros", "fields.steps", OVERLONG_UE, "E_EXPGOLOMB_OVERLONG", "steps with 33 leading zeros", "§3.4"),
    ("clip-skip-13", "fields.clip_skip", ue(13), "E_RANGE", "clip_skip 13 (max 12)", "§3.5"),
    ("guidance-100.1", "fields.guidance", dec_decimal(1001, 1), "E_RANGE", "guidance 100.1 (decimal form)", "§3.6, §5.2"),
    ("guidance-100-plus-ulp", "fields.guidance", dec_binary(math.nextafter(100.0, 200.0)), "E_RANGE",
     "guidance: the double just above 100 (binary form)", "§3.6"),
    ("guidance-negative", "fields.guidance", dec_decimal(-5, 1), "E_RANGE", "guidance -0.5", "§3.6"),
    ("guidance-negative-subnormal", "fields.guidance", dec_binary(-5e-324), "E_RANGE", "guidance -5e-324 (binary form)", "§3.6"),
    ("guidance-nan", "fields.guidance", u(7, 3) + u(0x7FF8000000000000, 64), "E_RANGE", "guidance NaN (binary form)", "§3.6"),
    ("guidance-infinity", "fields.guidance", dec_binary(math.inf), "E_RANGE", "guidance +infinity", "§3.6"),
    ("dec-noncanonical-trailing-zero", "fields.guidance", dec_decimal(70, 1), "E_NONCANONICAL", "7 written as 70 / 10^1", "§3.6"),
    ("dec-noncanonical-zero-exponent", "fields.guidance", dec_decimal(0, 2), "E_NONCANONICAL", "0 written as 0 / 10^2", "§3.6"),
    ("dec-noncanonical-larger-exponent", "fields.guidance", dec_decimal(750, 2), "E_NONCANONICAL", "7.5 written as 750 / 10^2", "§3.6"),
    ("dec-noncanonical-binary-7.5", "fields.guidance", dec_binary(7.5), "E_NONCANONICAL", "7.5 in binary form", "§3.6"),
    ("dec-noncanonical-binary-6.3", "fields.guidance", dec_binary(6.3), "E_NONCANONICAL", "the double nearest 6.3 in binary form", "§3.6"),
    ("dec-noncanonical-binary-zero", "fields.guidance", dec_binary(0.0), "E_NONCANONICAL", "+0.0 in binary form", "§3.6"),
    ("dec-noncanonical-binary-0.000001", "fields.guidance", dec_binary(0.000001), "E_NONCANONICAL",
     "1e-6 (decimal e=6) in binary form", "§3.6"),
    ("dec-mantissa-2pow32-1", "fields.guidance", dec_decimal(2**32 - 1, 6), "E_RANGE",
     "decimal form with m = 2^32-1 (the largest), e=6: 4294.967295, over 100", "§3.6"),
    ("dec-mantissa-2pow32", "fields.guidance", dec_decimal(2**32, 6), "E_EXPGOLOMB_OVERLONG",
     "decimal form with m = 2^32: se needs 33 leading zeros", "§3.4, §3.6"),
]


def edits(r: Raw, table_rows) -> list:
    return [(name, r.set(fld, bits), error, fault, spec) for name, fld, bits, error, fault, spec in table_rows]


def core_rows(base: Raw) -> list:
    rows = [
        ("core-overrun-1-byte-body", with_crc(b"AIG\x01\x01\x00"), "E_OVERRUN", "a 1-byte body: the core ends before the device field", "§5, §9"),
        ("core-overrun-in-seed", cut_core(base, "seed", "11" + "0" * 18), "E_OVERRUN", "the body ends inside a 64-bit seed", "§3.7, §9"),
        *edits(base, CORE_FIELDS),
    ]
    for tbl, fld in [("schedulers", "fields.scheduler"), ("gpus", "platform.gpu"), ("cuda_versions", "platform.cuda")]:
        short = fld.split(".")[1]
        if coded_as(tbl) == "exp-code":
            rows.append((f"expcode-{short}-16-units", base.set(fld, "11111111" * 16), "E_EXPCODE_OVERLONG",
                         f"{short} exp-code of 16 units all 0xFF", "§3.3"))
        elif coded_as(tbl) == "ue":
            rows += [(f"{short}-expgolomb-33-zeros", base.set(fld, OVERLONG_UE), "E_EXPGOLOMB_OVERLONG",
                      f"{short} ID coded with 33 leading zeros", "§3.4, §3.9"),
                     (f"{short}-id-2pow33-2", base.set(fld, "0" * 32 + "1" * 33), "E_UNKNOWN_ID",
                      f"{short} ID 2^33-2: the largest ue (32 leading zeros), not registered", "§3.4, §3.9")]
    rows.append(("expcode-overrun-model", with_crc(b"AIG\x01\x03" + bits_to_bytes("0000" + "0000" + "0000" + "11111111" + "1111")),
                 "E_OVERRUN", "the body ends after an escape unit of the model exp-code", "§3.3"))
    rows += [(f"unknown-model-{mid}", base.set("model", ref_bits("models", mid)), "E_UNKNOWN_ID",
              f"model ID {mid} ({len(expc(mid)) // 8}-unit exp-code), not registered", "§3.3, §3.9, §8.4")
             for mid in sorted({next_id("models"), 254, 255, 509, 510, 764, 765})]
    rows += [(f"unknown-{what}-{next_id(tbl)}", base.set(fld, ref_bits(tbl, next_id(tbl))), "E_UNKNOWN_ID", fault, "§3.9")
             for what, tbl, fld, fault in [("scheduler", "schedulers", "fields.scheduler", "first unassigned scheduler ID"),
                                           ("gpu", "gpus", "platform.gpu", "first unassigned GPU ID"),
                                           ("cuda", "cuda_versions", "platform.cuda", "first unassigned CUDA version ID")]]
    cpu = raw_of(paper(device="cpu", platform={}, text_coder="none"))
    rows += [(f"unknown-{fld.replace('_', '-')}-{v}", cpu.set(fld, u(v, 4)), "E_UNKNOWN_ID", f"{fld} ID {v} (u(4)), not registered", "§3.9, §5")
             for t, fld in [("devices", "device"), ("dtypes", "dtype"), ("noise_sources", "noise"), ("text_coders", "text_coder")]
             for v in sorted({next_id(t), 15})]
    sd3 = raw_of(new("sd3-medium", text_coder="none"))
    big = raw_of(paper(height=16384, width=16384, text_coder="none"))
    rows += [
        ("scheduler-flow-in-discrete-family", base.set("fields.scheduler", ref_bits("schedulers", ident("schedulers", "flow-match-euler"))),
         "E_RANGE", "a flow scheduler (flow-match-euler) for sd-1.5, a discrete family (SPEC.md §5.2: a family's scheduler kind)", "§5.2"),
        ("scheduler-discrete-in-flow-family", sd3.set("fields.scheduler", ref_bits("schedulers", ident("schedulers", "ddim"))),
         "E_RANGE", "a discrete scheduler (ddim) for sd3-medium, a flow family", "§5.2"),
        # height / width (§5)
        ("height-16392", base.sized(16392, 16392, 8), "E_RANGE", "height 16392 (units of 8): one size multiple over 16384", "§5, §11"),
        ("height-16448", base.sized(16448, 16448, 8), "E_RANGE", "height 16448 (units of 64) over 16384", "§5, §11"),
        ("height-sd3-16400", sd3.sized(16400, 16400, 16), "E_RANGE", "sd3 height 16400 (units of 16) over 16384", "§5"),
        *edits(base, SIZE_FIELDS),
        ("height-expgolomb-overrun", cut_core(base, "height", "0" * 20), "E_OVERRUN",
         "the body ends inside the leading zeros of the height", "§3.4, §9"),
        ("width-16392", big.sized(16384, 16392, 8), "E_RANGE", "height 16384, width 16392 (units of 8)", "§5, §11"),
        ("width-16448", big.sized(16384, 16448, 8), "E_RANGE", "height 16384, width 16448 (units of 64)", "§5, §11"),
        ("width-0", base.sized(1024, 0, 8), "E_RANGE", "width 0 (height 1024, units of 64)", "§5"),
        ("width-negative", base.sized(1024, -8, 8, unit=8), "E_RANGE", "width -8 (height 1024, units of 8)", "§5"),
        ("width-sd3-16400", raw_of(new("sd3-medium", height=16384, width=16384, text_coder="none")).sized(16384, 16400, 16),
         "E_RANGE", "sd3 width 16400", "§5"),
        ("size-unit-noncanonical", base.sized(1024, 1024, 8, unit=8), "E_NONCANONICAL",
         "1024x1024 coded in units of 8: multiples of 64 must use size_unit 1", "§5"),
        ("size-unit-noncanonical-sana", raw_of(new("sana-1600m-1024", text_coder="none")).sized(64, 128, 32, unit=32), "E_NONCANONICAL",
         "sana (size multiple 32) 128x64 coded in units of 32", "§5"),
    ]
    rows += [(f"seed-noncanonical-{label}", base.set("seed", seed_bits(s, c)), "E_NONCANONICAL",
              f"seed {s} written in the {(8, 16, 32, 64)[c]}-bit class", "§3.7") for s, c, label in NONCANONICAL_SEEDS]
    rows += edits(base, FAMILY_FIELDS)
    flux = raw_of(new("flux.1-dev", text_coder="none"))
    unreg = raw_of(new("unregistered-sd", text_coder="none", model_fields={"weights_hash": "00" * 32, "model_name": "m"}))
    rows += [
        ("true-cfg-above-100", flux.set("fields.true_cfg", dec_decimal(1005, 1)), "E_RANGE", "flux true_cfg 100.5", "§3.6, §5.2"),
        ("weights-hash-33-bytes", unreg.set("model_fields.weights_hash", bytes_bits(bytes(33))), "E_RANGE",
         "unregistered model with a 33-byte weights hash (max_len 32)", "§3.8, §5.3, §11"),
        ("weights-hash-length-2000", unreg.set("model_fields.weights_hash", ue(2000)), "E_RANGE",
         "weights hash length 2000: over max_len, reported before reading (and running out of) its bytes", "§3.8, §11"),
    ]
    # padding (§3.10): a paper-like file whose core needs at least 2 padding bits (the steps change the core's length)
    padded = next(r for r in (raw_of(paper(text_coder="none", fields={**PAPER["fields"], "steps": n})) for n in (50, 20, 70, 8, 150, 1, 4))
                  if r.pad_bits() >= 2)
    pad = padded.pad_bits()
    rows += [
        ("padding-nonzero-core", padded.copy(pad="0" * (pad - 1) + "1"), "E_NONZERO_PADDING", "last padding bit of the core is 1", "§3.10"),
        ("padding-nonzero-core-first", padded.copy(pad="1" + "0" * (pad - 1)), "E_NONZERO_PADDING", "first padding bit of the core is 1", "§3.10"),
    ]
    return rows


# ---------------------------------------------------------------- the sections (§6)
# (tag, what) of unknown critical extensions
UNKNOWN_CRITICAL = [(3, "tag 3 (unregistered, odd)"), (9, "tag 9"), (65, "private tag 65"), (101, "tag 101"),
                    (129, "tag 129 (2-byte uvarint)"), (2**64 - 1, "tag 2^64-1")]


def section_rows() -> list:
    dg = raw_of(paper(text_coder="none", digest="ab" * 16))
    rows = [(f"digest-length-{n}", dg.copy(digest=bytes([n]) + b"\xab" * n), "E_RANGE", f"digest length {n} (8, 16 or 32)", "§6.1, §11")
            for n in (0, 1, 12, 31, 64, 255)]
    rows += [
        ("digest-missing", dg.copy(digest=b"", text=b""), "E_OVERRUN", "has_digest set, the body ends after the core", "§6.1"),
        ("digest-overrun", dg.copy(digest=b"\x20" + b"\xab" * 8, text=b""), "E_OVERRUN", "digest length 32, 8 bytes left", "§6"),
    ]
    return rows + extension_rows() + pixel_rows() + model_rows()


def extension_rows() -> list:
    ex = raw_of(with_ext(paper(text_coder="none"), [Extension(0, b"a")]))

    def E(section: bytes) -> Raw:
        return ex.copy(exts=section)

    def X(*records) -> Raw:
        return E(extension_records(*records))
    rows = [
        ("extensions-count-0", E(uv(0)), "E_NONCANONICAL", "has_extensions set and a count of 0", "§6.2"),
        ("extensions-count-33", X(*[(2 * k + 6, b"") for k in range(33)]), "E_LIMIT", "33 extensions (limit 32)", "§6.2, §11"),
        ("extensions-count-overlong", E(b"\x81\x00" + uv(0) + uv(1) + b"a"), "E_VARINT", "extension count as an overlong uvarint", "§3.2"),
        ("extensions-order-decreasing", X((6, b"a"), (4, b"")), "E_EXTENSION_ORDER", "tags 6 then 4", "§6.2"),
        ("extensions-duplicate-tag", X((6, b"a"), (6, b"b")), "E_EXTENSION_ORDER", "tag 6 twice", "§6.2"),
        *[(f"extension-unknown-critical-{tag if tag < 2**63 else 'max'}", X((tag, b"must understand")), "E_UNKNOWN_CRITICAL_EXTENSION",
           f"unknown critical extension, {what}", "§6.2, §14") for tag, what in UNKNOWN_CRITICAL],
        ("extension-unknown-critical-after-ignorable", X((6, b"skip me"), (7, b"must understand")), "E_UNKNOWN_CRITICAL_EXTENSION",
         "an unknown ignorable extension, then an unknown critical one", "§6.2"),
        ("extension-tag-overlong", E(uv(1) + b"\x86\x00" + uv(1) + b"a"), "E_VARINT", "extension tag 6 as an overlong uvarint", "§3.2"),
        ("extension-tag-2pow64", E(uv(1) + b"\xff" * 9 + b"\x02" + uv(1) + b"a"), "E_VARINT", "extension tag of 2^64", "§3.2"),
        ("extension-length-overlong", E(uv(1) + uv(6) + b"\x81\x00" + b"a"), "E_VARINT", "extension length as an overlong uvarint", "§3.2"),
        ("extension-length-past-end", E(uv(1) + uv(6) + uv(1000) + b"a"), "E_OVERRUN", "extension body length past the end of the body", "§6, §6.2"),
    ]
    ids = {e["key"]: e["id"] for e in table("prompt_syntaxes").entries}

    def prompts_body(syntax_id: int, emphasis: int = 0, pad: int = 0) -> bytes:  # §6.2.3: ue, ue, ue, padded
        return pack(ue(syntax_id) + ue(emphasis) + ue(pad))
    unknown_syntax = max(ids.values()) + 1
    rows += [
        ("prompts-syntax-unknown", X((1, prompts_body(unknown_syntax))), "E_UNKNOWN_ID",
         f"prompts extension naming prompt syntax {unknown_syntax}, which the table lacks", "§3.9, §6.2.3"),
        ("prompts-emphasis-4", X((1, prompts_body(ids["a1111"], 4))), "E_RANGE", "prompts emphasis 4 (0..3)", "§3.5, §6.2.3"),
        ("prompts-pad-conds-3", X((1, prompts_body(ids["a1111"], 0, 3))), "E_RANGE", "prompts pad_conds 3 (0..2)", "§3.5, §6.2.3"),
        ("prompts-emphasis-with-comfyui", X((1, prompts_body(ids["comfyui"], 1))), "E_RANGE",
         "prompts emphasis 1 with syntax comfyui: emphasis applies to a1111 only", "§6.2.3"),
        ("prompts-pad-conds-with-plain", X((1, prompts_body(ids["plain"], 0, 1))), "E_RANGE",
         "prompts pad_conds 1 with syntax plain: pad_conds applies to a1111 only", "§6.2.3"),
        ("prompts-all-defaults", X((1, prompts_body(ids["plain"]))), "E_NONCANONICAL",
         "prompts extension saying plain with every default: the file without it means the same", "§6.2.3"),
        ("partial-missing-empty", X((5, extension_body(5, {"missing": ""}))), "E_NONCANONICAL",
         "a partial extension whose list of missing settings is empty: a complete recipe has no partial extension", "§6.2.3, §12.10"),
        ("prompts-leftover-byte", X((1, prompts_body(ids["a1111"]) + b"\x00")), "E_OVERRUN", "prompts body one byte longer than its fields", "§6.2"),
    ]
    sw_body = extension_body(2, ext(2, torch="2.13.0", diffusers="0.42.1", writer="w").fields)
    n_sw = len(REG.extensions.by_id[2]["fields"])  # every string empty: one bit each
    if n_sw % 8 == 0:
        raise BuildError("the software extension of empty strings needs padding for extension-software-nonzero-padding")
    rows += [
        ("extension-software-leftover-byte", X((2, sw_body + b"\x00")), "E_OVERRUN", "software extension body one byte longer than its fields", "§6.2"),
        ("extension-software-empty-body", X((2, b"")), "E_OVERRUN", "software extension with an empty body", "§6.2"),
        ("extension-software-short-body", X((2, sw_body[:-3])), "E_OVERRUN", "software extension body cut short", "§6.2"),
        ("extension-software-nonzero-padding", X((2, bits_to_bytes("1" * n_sw + "0" * (-n_sw % 8 - 1) + "1"))), "E_NONZERO_PADDING",
         "software extension (every string empty) with a padding bit set", "§3.10, §6.2"),
        ("extension-software-invalid-utf8", X((2, pack(ue(1) + "11111111" + "1" * (n_sw - 1)))), "E_UTF8",
         "software extension: torch = 0xFF", "§3.8"),
        ("extension-software-str-length-65537", X((2, pack(ue(TEXT_LIMIT + 1)))), "E_RANGE",
         "software extension: torch declared 65,537 bytes long (the inline str limit is 65,536) in a body that ends there: "
         "the length is checked before the bytes run out", "§3.8, §9, §11"),
    ]
    return rows + resources_rows(X)


def resources_rows(X) -> list:
    """The resources extension (tag 11, SPEC.md §12.11), its bodies built bit by bit here:
    per slot kind (ue(kind − min)), name (str), sha256 and tensors_sha256 (bytes), weight and
    te_weight (dec); slot 1's kind has min 1, the others min 0."""
    from aigif.conformance.bitwriter import dec_bits

    def slot(k: int, kind: int = 0, name: bytes = b"", sha: bytes = b"", tsha: bytes = b"", w: float = 1, te: float = 1,
             raw_sha: str | None = None) -> str:
        return (ue(kind - (1 if k == 1 else 0)) + bytes_bits(name) + (raw_sha if raw_sha is not None else bytes_bits(sha))
                + bytes_bits(tsha) + dec_bits(w) + dec_bits(te))

    def body(*slots: str) -> bytes:
        rest = "".join(slot(k) for k in range(len(slots) + 1, 9))
        return pack("".join(slots) + rest)
    lora = slot(1, 1, b"lora", tsha=b"\x01" * 6, w=0.8, te=0.8)
    return [
        ("resources-kind-4", X((11, body(slot(1, 4, b"x")))), "E_RANGE", "resources: kind_1 = 4 (1 lora, 2 embedding, 3 vae)",
         "§3.5, §12.11"),
        ("resources-gap", X((11, body(lora, slot(2, 0), slot(3, 1, b"late")))), "E_RANGE",
         "resources: slot 3 used after an unused slot 2 (slots are used in order)", "§6.2.3, §12.11"),
        ("resources-weight-on-embedding", X((11, body(slot(1, 2, b"emb", w=0.5)))), "E_RANGE",
         "resources: an embedding with weight_1 = 0.5 (weights are a LoRA's only)", "§6.2.3, §12.11"),
        ("resources-name-in-unused-slot", X((11, body(lora, slot(2, 0, b"ghost")))), "E_RANGE",
         "resources: name_2 set in an unused slot", "§6.2.3, §12.11"),
        ("resources-weight-over-100", X((11, body(slot(1, 1, b"lora", w=100.5)))), "E_RANGE", "resources: weight_1 = 100.5 (-100..100)",
         "§3.6, §12.11"),
        ("resources-sha256-length-33", X((11, body(slot(1, 1, b"lora", raw_sha=bytes_bits(bytes(33)))))), "E_RANGE",
         "resources: sha256_1 of 33 bytes (at most 32)", "§3.8, §12.11"),
        ("resources-leftover-byte", X((11, body(lora) + b"\x00")), "E_OVERRUN", "resources body one byte longer than its fields", "§6.2"),
        ("resources-all-default", X((11, body(slot(1, 1)))), "E_NONCANONICAL",
         "resources with every field at its default (a LoRA with no name, no hash): omit the extension", "§6.2.3, §12.11"),
    ]


def ihdr_png(w: int, h: int, depth=8, colour=2, interlace=0) -> bytes:
    """A PNG signature and IHDR, then IEND: what a parser checks (SPEC.md §6.3)."""
    return png_from_raw(w, h, depth, colour, interlace, b"\x00" * (h * (1 + w * 3)))[:33] + chunk(b"IEND", b"")


# (name, PNG, fault, spec) of PNG payloads an 8x8 file must not carry
BAD_PNGS = [
    ("pixels-png-grayscale", lambda: ihdr_png(8, 8, colour=0), "PNG payload of colour type 0 (grey)", "§6.3"),
    ("pixels-png-rgba", lambda: ihdr_png(8, 8, colour=6), "PNG payload of colour type 6 (RGBA)", "§6.3"),
    ("pixels-png-palette", lambda: ihdr_png(8, 8, colour=3), "PNG payload of colour type 3 (palette)", "§6.3"),
    ("pixels-png-16-bit", lambda: ihdr_png(8, 8, depth=16), "PNG payload of 16 bits per sample", "§6.3"),
    ("pixels-png-interlaced", lambda: ihdr_png(8, 8, interlace=1), "interlaced PNG payload", "§6.3"),
    ("pixels-png-not-png", lambda: b"GIF89a" + b"\x00" * 40, "pixel payload (codec png) that is a GIF", "§6.3"),
    ("pixels-png-short", lambda: SIGNATURE + b"\x00\x00\x00\x0dIHDR", "PNG payload cut inside IHDR", "§6.3"),
    ("pixels-png-bomb-dimensions", lambda: ihdr_png(8, 8)[:16] + struct.pack(">II", 1 << 20, 1 << 20) + ihdr_png(8, 8)[24:],
     "PNG header claiming 1048576x1048576 (checked before decoding a pixel)", "§6.3, §16"),
]


def pixel_rows() -> list:
    px = raw_of(with_pixels(paper(text_coder="none", height=8, width=8), "png", png_rgb(8, 8)))
    wide = raw_of(with_pixels(paper(text_coder="none", height=8, width=16), "png", png_rgb(16, 8)))

    def PX(section: bytes) -> Raw:
        return px.copy(pixels=section)
    return [
        ("pixels-png-wrong-size", PX(pixel_section(png_rgb(16, 8))), "E_PAYLOAD", "PNG payload 16x8 in an 8x8 file", "§6.3, §11"),
        ("pixels-png-width-height-swapped", wide.copy(pixels=pixel_section(png_rgb(8, 16))), "E_PAYLOAD",
         "PNG payload 8 wide 16 high in a 16-wide 8-high file", "§6.3"),
        *[(name, PX(pixel_section(data())), "E_PAYLOAD", fault, spec) for name, data, fault, spec in BAD_PNGS],
        ("pixels-length-0", PX(pixel_section(b"")), "E_RANGE", "pixel payload length 0 (SPEC.md §6.3: length ≥ 1)", "§6.3"),
        ("pixels-length-past-end", PX(pixel_section(png_rgb(8, 8), length=len(png_rgb(8, 8)) + 100)), "E_OVERRUN",
         "pixel payload length past the end of the body", "§6"),
        ("pixels-length-256MiB", PX(pixel_section(b"", length=256 << 20)), "E_OVERRUN",
         "pixel payload of 256 MiB (the limit itself) declared, not present: checked against the bytes left", "§6, §11"),
        ("pixels-length-256MiB-plus-1", PX(pixel_section(b"", length=(256 << 20) + 1)), "E_LIMIT", "pixel payload of 256 MiB + 1 declared", "§11"),
        ("pixels-codec-16-units", PX(b"\xff" * 16 + uv(1) + b"x"), "E_EXPCODE_OVERLONG", "pixel codec exp-code of 16 units 0xFF", "§3.3"),
        (f"pixels-codec-unknown-{next_id('pixel_codecs')}", PX(pixel_section(b"x", codec_id=next_id("pixel_codecs"))), "E_UNKNOWN_ID",
         "first unassigned pixel codec ID", "§3.9, §6.3"),
        ("pixels-codec-unknown-255", PX(pixel_section(b"x", codec_id=255)), "E_UNKNOWN_ID", "pixel codec ID 255 (FF 00)", "§3.3"),
    ]


def model_rows() -> list:
    st = tiny_safetensors()
    sha = hashlib.sha256(st).digest()
    mp = raw_of(with_model(paper(text_coder="none"), "none", sha, st))

    def M(section: bytes, **kw) -> Raw:
        return mp.copy(model=section, **kw)
    return [
        ("model-payload-hash-mismatch", M(model_section(st, hashlib.sha256(st + b"x").digest())), "E_PAYLOAD",
         "model payload (compressor none) whose SHA-256 does not match", "§6.4, §16"),
        ("model-payload-length-0", M(model_section(b"", hashlib.sha256(b"").digest())), "E_RANGE", "model payload length 0", "§6.4"),
        ("model-payload-hash-past-end", M(expcode_bytes(0) + uv(4) + b"\x00" * 20, text=b""), "E_OVERRUN",
         "the body ends inside the model payload's SHA-256", "§6.4"),
        ("model-payload-data-past-end", M(model_section(st, sha, length=len(st) + 50)), "E_OVERRUN",
         "model payload length past the end of the body", "§6.4"),
        ("model-payload-length-2GiB", M(model_section(b"", bytes(32), length=2 << 30)), "E_OVERRUN",
         "model payload of 2 GiB (the limit) declared, not present", "§6.4, §11"),
        ("model-payload-length-2GiB-plus-1", M(model_section(b"", bytes(32), length=(2 << 30) + 1)), "E_LIMIT",
         "model payload of 2 GiB + 1 declared", "§6.4, §11"),
        ("model-compressor-16-units", M(b"\xff" * 16 + uv(1) + b"\x00" * 33), "E_EXPCODE_OVERLONG",
         "model compressor exp-code of 16 units 0xFF", "§3.3"),
        (f"model-compressor-unknown-{next_id('model_compressors')}", M(model_section(st, sha, compressor=next_id("model_compressors"))),
         "E_UNKNOWN_ID", "first unassigned model compressor ID", "§6.4"),
    ]


# ---------------------------------------------------------------- the text block (§7)
# (name, invalid UTF-8, what)
BAD_UTF8 = [("ff", b"\xff", "byte 0xFF"), ("overlong-slash", b"\xc0\xaf", "overlong form C0 AF"),
            ("surrogate", b"\xed\xa0\x80", "surrogate U+D800"), ("above-10ffff", b"\xf4\x90\x80\x80", "U+110000"),
            ("truncated-sequence", b"\xe2\x82", "a 3-byte sequence cut after 2 bytes"),
            ("lone-continuation", b"\x80", "a continuation byte alone")]


def text_none_rows(base: Raw) -> list:
    def T(*parts: bytes) -> Raw:
        return base.copy(text=b"".join(parts))
    over = b"x" * (TEXT_LIMIT - 3)
    sdxl = raw_of(new("sdxl-base-1.0", text_coder="none"))
    return [
        ("text-none-string-past-end", T(uv(10), b"A cute cat", uv(30), b"worst quality"), "E_OVERRUN", "second string's length past the end", "§7.2"),
        ("text-none-bytes-after-last-string", T(uv(10), b"A cute cat", uv(13), b"worst quality", b"!"), "E_OVERRUN",
         "one byte after the last string", "§7.2"),
        ("text-none-missing-string", T(uv(10), b"A cute cat"), "E_OVERRUN", "one string where two are needed", "§7.1, §7.2"),
        ("text-none-empty-block", T(), "E_OVERRUN", "an empty text block (two strings needed)", "§7.2"),
        ("text-none-length-overlong", T(b"\x8a\x00", b"A cute cat", uv(0)), "E_VARINT", "string length as an overlong uvarint", "§3.2"),
        ("text-none-sdxl-two-strings", sdxl.copy(text=frame(["a", "b"])), "E_OVERRUN",
         "sdxl file with two strings (it has four: prompt, negative_prompt, prompt_2, negative_prompt_2)", "§7.1"),
        *[(f"text-none-utf8-{name}", T(uv(len(b"cat " + bad)), b"cat " + bad, uv(0)), "E_UTF8", f"prompt with invalid UTF-8: {what}", "§1, §7.1")
          for name, bad, what in BAD_UTF8],
        ("text-none-utf8-second-string", T(uv(1), b"a", uv(2), b"\xc3\x28"), "E_UTF8", "negative prompt with invalid UTF-8", "§7.1"),
        ("text-none-utf8-before-overrun", T(uv(1), b"\xff", uv(9), b"x"), "E_OVERRUN",
         "invalid UTF-8 in the first string and a framing error in the second: framing is checked first", "§9"),
        ("text-none-framed-limit-plus-1", T(uv(len(over)), over, uv(0)), "E_TEXT_LIMIT", "framed text of 65,537 bytes", "§7.1, §11"),
    ]


def deflate_rows() -> list:
    dbase = raw_of(paper())

    def D(stream: bytes) -> Raw:
        return dbase.copy(text=stream)
    framed = frame(["A cute cat", "worst quality"])
    canon = canonical_deflate(framed)
    if canon[-1] & 0x80:
        raise BuildError("no free padding bits to set in the canonical stream")
    lit_framed = frame(["a cat, a cat, a cat", "worst quality"])
    syms = greedy_parse(lit_framed)
    k = next(i for i, s in enumerate(syms) if s[0] == "m" and s[1] >= 4)   # the first match of 4 or more
    at = sum(1 if s[0] == "l" else s[1] for s in syms[:k])                  # ... starts here
    _, length, dist = syms[k]
    deferred = syms[:k] + [("l", lit_framed[at]), ("m", length - 1, dist)] + syms[k + 1:]
    shorter = syms[:k] + [("m", length - 1, dist), ("l", lit_framed[at + length - 1])] + syms[k + 1:]
    eq = raw_of(paper(prompt="abcXabcYabc", negative_prompt=""))
    return [
        ("deflate-stored-block", D(stored_deflate(framed)), "E_NONCANONICAL", "valid DEFLATE, one stored block", "§7.3"),
        ("deflate-two-fixed-blocks", D(emit(greedy_parse(framed), blocks=2)), "E_NONCANONICAL",
         "the canonical symbols split into two fixed blocks", "§7.3"),
        ("deflate-literals-only", D(emit([("l", x) for x in lit_framed])), "E_NONCANONICAL",
         "only literals where the greedy parse has a match", "§7.3"),
        ("deflate-deferred-match", D(emit(deferred)), "E_NONCANONICAL",
         "a literal then a shorter match where the greedy parse takes the match (zlib's lazy matching does this)", "§7.3"),
        ("deflate-shorter-match", D(emit(shorter)), "E_NONCANONICAL", "a match one shorter than the longest, then a literal", "§7.3"),
        ("deflate-farther-equal-match", eq.copy(text=emit(greedy_parse(frame(["abcXabcYabc", ""]), nearest=False))), "E_NONCANONICAL",
         "of two candidates of equal length, the farther one", "§7.3"),
        ("deflate-nonzero-final-bits", D(emit(greedy_parse(framed), pad_fill=0xFF)), "E_NONCANONICAL",
         "the bits after the end-of-block code are not zero", "§7.3"),
        ("deflate-trailing-byte", D(canon + b"\x00"), "E_TEXT_CORRUPT", "one byte after the end of the DEFLATE stream", "§7.3"),
        ("deflate-truncated", D(canon[:-2]), "E_TEXT_CORRUPT", "the DEFLATE stream cut short", "§7.3"),
        ("deflate-empty", D(b""), "E_TEXT_CORRUPT", "an empty text block", "§7.3"),
        ("deflate-reserved-block-type", D(b"\x07" + canon[1:]), "E_TEXT_CORRUPT", "BTYPE = 11 (reserved)", "§7.3"),
        ("deflate-no-final-block", D(one_block(*framed, final=False)), "E_TEXT_CORRUPT",
         "a single block without BFINAL: the stream never ends", "§7.3"),
        ("deflate-distance-too-far", D(one_block(framed[0], (5, 10))), "E_TEXT_CORRUPT", "a match reaching before the start of the output", "§7.3"),
        ("deflate-bomb", D(one_block(0, *[(258, 1)] * ((8 << 20) // 258))), "E_TEXT_LIMIT",
         "a DEFLATE bomb: 8 MiB of zeros (stop at 65,536 bytes, not after)", "§7.3, §16"),
        ("deflate-framed-limit-plus-1", D(canonical_deflate(frame(["x" * (TEXT_LIMIT - 3), ""]))), "E_TEXT_LIMIT",
         "framed text of 65,537 bytes", "§7.1, §11"),
        ("deflate-utf8-invalid", D(canonical_deflate(uv(5) + b"cat \xff" + uv(0))), "E_UTF8", "invalid UTF-8 inside the deflated text", "§7.1"),
        ("deflate-string-past-end", D(canonical_deflate(uv(5) + b"cat" + uv(0))), "E_OVERRUN", "a framing error inside the deflated text", "§7.3"),
        ("deflate-extra-string", D(canonical_deflate(framed + uv(1) + b"x")), "E_OVERRUN", "three strings where two are needed", "§7.3"),
    ] + deflate_validity_rows(D, framed)


def deflate_validity_rows(D, framed: bytes) -> list:
    """SPEC.md §7.3's validity rules where RFC 1951 leaves room (zlib's inflate): streams zlib accepts are
    E_NONCANONICAL (they decode, and are not the canonical deflater's output), those it refuses E_TEXT_CORRUPT."""
    lit_syms = sorted(set(framed) | {256})
    if len(lit_syms) > 32:
        raise BuildError("the paper's framed text has more than 31 distinct bytes")
    filler = [b for b in range(256) if b not in lit_syms][:32 - len(lit_syms)]

    def lit_lengths(n=257, length_code=False):
        """A complete lit/len code of 32 codes of length 5: the framed text's bytes, end of block, unused literals
        (the last one replaced by length symbol 257 with ``length_code``)."""
        out = [0] * n
        for x in lit_syms + (filler[:-1] + [257] if length_code else filler):
            out[x] = 5
        return out

    def dyn(litlen, dist, *, cl_items=None, cl_lengths=None, body=True, match=None) -> bytes:
        """One final dynamic block coding ``framed`` as literals (and ``match`` = (length, distance symbol, code)),
        or only the header and end of block (``body`` False) after a fixed block holding ``framed``."""
        w = DeflateWriter()
        if not body:
            w.block(False, 1)
            for x in framed:
                w.literal(x)
            w.eob()
        ll, _ = dynamic_block(w, True, litlen, dist, cl_items=cl_items, cl_lengths=cl_lengths)
        if body:
            for x in framed:
                w.huff(*ll[x])
        if match is not None:
            w.huff(*ll[257])       # length 3
            w.huff(*match)         # a distance code given as (code, length)
        if 256 in ll:
            w.huff(*ll[256])
        w.pad_to_byte()
        return w.getvalue()

    def fixed(*parts) -> bytes:
        """One final fixed block: the framed text's literals, then ``parts`` as (writer method, args)."""
        w = DeflateWriter()
        w.block(True, 1)
        for x in framed:
            w.literal(x)
        for name, *args in parts:
            getattr(w, name)(*args)
        w.eob()
        w.pad_to_byte()
        return w.getvalue()
    only_eob = [0] * 256 + [1]
    zeros_to_eob = [(18, 127, 7), (18, 256 - 138 - 11, 7)]   # 138 + 118 zero lengths: symbols 0..255
    long_text = frame(["a" * 300, ""])
    w = DeflateWriter()
    w.block(True, 1)
    for x in long_text[:3]:                                 # the length uvarint (2 bytes) and one "a"
        w.literal(x)
    w.sym(284)
    w.bits(31, 5)                                           # length code 284 + 31: 258
    w.huff(0, 5)                                            # distance 1
    for x in long_text[3 + 258:]:
        w.literal(x)
    w.eob()
    w.pad_to_byte()
    len284 = raw_of(paper(prompt="a" * 300, negative_prompt="")).copy(text=w.getvalue())
    accepted = "zlib accepts it, so it decodes and is non-canonical"
    refused = "zlib refuses it"
    return [
        ("deflate-dynamic-block", D(dyn(lit_lengths(), [1, 1])), "E_NONCANONICAL",
         "the framed text in one dynamic-Huffman block with complete codes: " + accepted, "§7.3"),
        ("deflate-dynamic-hlit-286", D(dyn(lit_lengths(286), [1, 1])), "E_NONCANONICAL", "HLIT = 286 lit/len code lengths (the most): " + accepted, "§7.3"),
        ("deflate-dynamic-hlit-287", D(dyn(lit_lengths(287), [1, 1])), "E_TEXT_CORRUPT", "HLIT = 287 (the 5-bit field allows it): " + refused, "§7.3"),
        ("deflate-dynamic-hlit-288", D(dyn(lit_lengths(288), [1, 1])), "E_TEXT_CORRUPT", "HLIT = 288: " + refused, "§7.3"),
        ("deflate-dynamic-hdist-30", D(dyn(lit_lengths(), [4, 4] + [5] * 28)), "E_NONCANONICAL",
         "HDIST = 30 distance code lengths (the most), a complete code: " + accepted, "§7.3"),
        ("deflate-dynamic-hdist-31", D(dyn(lit_lengths(), [1, 1] + [0] * 29)), "E_TEXT_CORRUPT", "HDIST = 31 (the 5-bit field allows it): " + refused, "§7.3"),
        ("deflate-dynamic-hdist-32", D(dyn(lit_lengths(), [1, 1] + [0] * 30)), "E_TEXT_CORRUPT", "HDIST = 32: " + refused, "§7.3"),
        ("deflate-dynamic-distance-one-code-length-1", D(dyn(lit_lengths(), [1])), "E_NONCANONICAL",
         "a distance code of one code of length 1 (incomplete; unused): " + accepted, "§7.3"),
        ("deflate-dynamic-distance-no-codes", D(dyn(lit_lengths(), [0])), "E_NONCANONICAL",
         "a distance code with every length 0 (no match follows): " + accepted, "§7.3"),
        ("deflate-dynamic-distance-one-code-length-2", D(dyn(lit_lengths(), [2])), "E_TEXT_CORRUPT",
         "a distance code of one code of length 2 (incomplete): " + refused, "§7.3"),
        ("deflate-dynamic-distance-unused-pattern", D(dyn(lit_lengths(258, length_code=True), [1], match=(1, 1))), "E_TEXT_CORRUPT",
         "a distance code of one code of length 1 (\"0\"), and a match whose distance is coded \"1\", which has no symbol", "§7.3"),
        ("deflate-dynamic-litlen-only-eob-length-1", D(dyn(only_eob, [0], body=False)), "E_NONCANONICAL",
         "a fixed block with the framed text, then a dynamic block whose lit/len code is end of block alone, length 1: " + accepted, "§7.3"),
        ("deflate-dynamic-litlen-only-eob-length-2", D(dyn([0] * 256 + [2], [0], body=False)), "E_TEXT_CORRUPT",
         "as deflate-dynamic-litlen-only-eob-length-1 with length 2 (incomplete): " + refused, "§7.3"),
        ("deflate-dynamic-litlen-incomplete", D(dyn([5 if x in lit_syms else 0 for x in range(257)], [1, 1])), "E_TEXT_CORRUPT",
         f"a lit/len code of {len(lit_syms)} codes of length 5 (incomplete): " + refused, "§7.3"),
        ("deflate-dynamic-litlen-oversubscribed", D(dyn([5 if x in lit_syms or x < 40 else 0 for x in range(257)], [1, 1])), "E_TEXT_CORRUPT",
         "a lit/len code of more than 32 codes of length 5 (over-subscribed): " + refused, "§7.3"),
        ("deflate-dynamic-no-end-of-block-code", D(dyn([5 if x in filler + lit_syms[:-1] else 0 for x in range(256)] + [0, 5], [1, 1])),
         "E_TEXT_CORRUPT", "a complete lit/len code in which the end-of-block symbol 256 has length 0: " + refused, "§7.3"),
        ("deflate-dynamic-code-length-code-incomplete", D(dyn(only_eob, [0], body=False, cl_lengths=[1, 2] + [0] * 17,
                                                              cl_items=[(0, 0, 0)] * 256 + [(1, 0, 0), (0, 0, 0)])), "E_TEXT_CORRUPT",
         "a code-length code of two codes, lengths 1 and 2 (incomplete): " + refused, "§7.3"),
        ("deflate-dynamic-repeat-across-codes", D(dyn(only_eob + [0, 0], [0, 0], body=False,
                                                      cl_items=zeros_to_eob + [(1, 0, 0), (17, 1, 3)])), "E_NONCANONICAL",
         "code lengths whose last repeat (4 zeros) runs from the lit/len lengths into the distance lengths: " + accepted, "§7.3"),
        ("deflate-dynamic-repeat-first", D(dyn(only_eob, [0], body=False, cl_items=[(16, 0, 2)] + [(0, 0, 0)] * 253 + [(1, 0, 0), (0, 0, 0)])),
         "E_TEXT_CORRUPT", "code lengths starting with code 16 (repeat the previous length): there is none", "§7.3"),
        ("deflate-dynamic-repeat-past-end", D(dyn(only_eob, [0], body=False, cl_items=[(18, 127, 7)] * 2 + [(1, 0, 0)])), "E_TEXT_CORRUPT",
         "code lengths whose repeats (2 x 138 zeros) run past HLIT + HDIST = 258 lengths", "§7.3"),
        ("deflate-length-284-plus-31", len284, "E_NONCANONICAL",
         "a match of length 258 coded as length code 284 with extra bits 31 (RFC 1951 gives 284 the lengths 227-257; "
         "the canonical code is 285): " + accepted, "§7.3"),
        ("deflate-fixed-litlen-286", D(fixed(("sym", 286))), "E_TEXT_CORRUPT", "fixed-code lit/len symbol 286 (no meaning)", "§7.3"),
        ("deflate-fixed-litlen-287", D(fixed(("sym", 287))), "E_TEXT_CORRUPT", "fixed-code lit/len symbol 287 (no meaning)", "§7.3"),
        ("deflate-fixed-distance-30", D(fixed(("sym", 257), ("huff", 30, 5))), "E_TEXT_CORRUPT", "fixed-code distance symbol 30 (no meaning)", "§7.3"),
        ("deflate-fixed-distance-31", D(fixed(("sym", 257), ("huff", 31, 5))), "E_TEXT_CORRUPT", "fixed-code distance symbol 31 (no meaning)", "§7.3"),
        ("deflate-stored-length-mismatch", D(b"\x01" + struct.pack("<HH", len(framed), len(framed)) + framed), "E_TEXT_CORRUPT",
         "a stored block whose NLEN is not the one's complement of LEN", "§7.3"),
        ("deflate-stored-nonzero-padding", D(b"\xf9" + struct.pack("<HH", len(framed), len(framed) ^ 0xFFFF) + framed), "E_NONCANONICAL",
         "a stored block whose 5 bits between the block header and LEN are 1s (ignored): " + accepted, "§7.3"),
    ]


def prompt_rows() -> list:
    pr = raw_of(paper(text_coder="prompt"))
    return [
        ("prompt-garbage", pr.copy(text=b"\xff" * 8), "E_TEXT_CORRUPT", "a prompt-coded block of eight 0xFF bytes", "§7.4"),
        ("prompt-trailing-zero-byte", pr.copy(text=pr.text + b"\x00"), "E_NONCANONICAL",
         "the canonical prompt-coded block followed by a 0x00 byte", "§7.4, §9"),
        ("prompt-trailing-byte", pr.copy(text=pr.text + b"\xff"), "E_NONCANONICAL",
         "the canonical prompt-coded block followed by a 0xFF byte", "§7.4, §9"),
        ("prompt-framed-limit-plus-1", pr.copy(text=text.encode("prompt", ["x" * (TEXT_LIMIT - 3), ""])), "E_TEXT_LIMIT",
         "prompt-coded strings whose framed text is 65,537 bytes", "§7.1, §11"),
    ] + prompt_order_rows(pr)


def prompt_order_rows(pr: Raw) -> list:
    """Which error a prompt-coded block gets first (SPEC.md §7.4, Appendix E.1, E.8): streams written
    symbol by symbol (tools/vectors/prompt_streams.py)."""
    m = ps.model()
    P = text.prompt
    fill = m.symbols("x" * (TEXT_LIMIT - 3))        # framed: 3 + 65,533 = 65,536 bytes, the limit itself
    surrogate = [P.ESC_OTHER_SP, 0xD800]
    spelled_cat = [m.esc_word, "cat"]                # "cat" is in the word list: spelled is not canonical
    if m.symbols("cat") == [m.esc_word, "cat"]:
        raise BuildError("'cat' is not in the prompt model's word list")

    def T(seqs) -> Raw:
        return pr.copy(text=ps.stream(seqs))
    return [
        ("prompt-framed-limit-then-corrupt", T([fill, surrogate]), "E_TEXT_CORRUPT",
         "string 0 fills the framed text to exactly 65,536 bytes, string 1 starts with an escaped surrogate: the coder's "
         "limit counts string bytes (65,533), so decoding goes on and meets the surrogate; the framed size is checked last", "§7.4, App. E.1, E.8"),
        ("prompt-framed-over-then-trailing-byte", pr.copy(text=ps.stream([fill, m.symbols("y")]) + b"\x01"), "E_NONCANONICAL",
         "framed text of 65,538 bytes (string bytes 65,534) and a byte after the canonical end: the coder's own checks "
         "come before the framed-size check", "§7.4, App. E.7"),
        ("prompt-string-bytes-over-then-corrupt", T([m.symbols("x" * (TEXT_LIMIT + 1)), surrogate]), "E_TEXT_LIMIT",
         "string 0 is 65,537 bytes (one spelled word), string 1 an escaped surrogate: the limit is met first", "App. E.8"),
        ("prompt-spelled-word-over-limit-at-letter", pr.copy(text=ps.corrupt_letter_after([[]], TEXT_LIMIT + 1)), "E_TEXT_LIMIT",
         "a first-piece spelled word of 65,537 letters whose END is a code value outside the letter table: "
         "the limit is checked after every letter (the implied space not counted)", "App. E.8"),
        ("prompt-spelled-word-over-limit-leading-space", pr.copy(text=ps.corrupt_letter_after([m.symbols("a")], TEXT_LIMIT - 1)),
         "E_TEXT_LIMIT",
         "\"a\" then a spelled word of 65,535 letters (1 + 1 + 65,535 = 65,537 bytes with its leading space) whose END is "
         "a code value outside the letter table: a later piece's leading space counts", "App. E.8"),
        ("prompt-first-piece-escape-surrogate", T([[P.ESC_OTHER, 0xD800], []]), "E_TEXT_CORRUPT",
         "string 0 starts with ESC_OTHER (no implied space) whose payload is a surrogate: the payload is decoded, "
         "and fails, before the first piece's implied space is checked", "App. E.1, E.7"),
        ("prompt-first-piece-escape-no-space", T([[P.ESC_OTHER, 0x41], []]), "E_NONCANONICAL",
         "string 0 starts with ESC_OTHER 'A' (no implied space)", "App. E.7"),
        ("prompt-noncanonical-string-then-corrupt", T([spelled_cat, surrogate]), "E_NONCANONICAL",
         "string 0 spells \"cat\", a listed word (E.7 check 4, made at string 0's EOS), string 1 an escaped surrogate", "App. E.1, E.7"),
        ("prompt-backoff-then-listed-symbol-then-corrupt", pr.copy(text=ps.escaped_first([m.symbols("a") + surrogate, []])), "E_NONCANONICAL",
         "string 0's first word \"a\" coded by BACKOFF from a context table that holds it, then an escaped surrogate: "
         "E.7 check 2 is made at the symbol, before the next symbol is decoded", "App. E.1, E.7"),
        ("prompt-corrupt-then-trailing-zero", pr.copy(text=ps.stream([surrogate, []]) + b"\x00"), "E_NONCANONICAL",
         "an escaped surrogate in a block that ends with 0x00: E.7 check 1 comes before decoding", "App. E.1, E.7"),
    ]


def build_reject(vs: Vectors) -> None:
    base = raw_of(paper(text_coder="none"))   # the paper example, text coder none
    for rows in (container_rows(base), core_rows(base), section_rows(), text_none_rows(base), deflate_rows(), prompt_rows()):
        for row in rows:
            add_reject(vs, *row)
