"""SPEC.md §4–§9: whole files. read(write(x)) == x, write(read(b)) == b,
and every corruption yields a typed error, never anything else."""
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigif import codec, jsonform
from aigif.errors import PARSE_CODES, AigifError
from aigif.file import Extension
from strategies import REG, aigif_files

PAPER = dict(height=1024, width=1024, seed=829557441, prompt="A cute cat", negative_prompt="worst quality",
             fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5}, device="cuda",
             platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16", noise="torch-cuda")


def paper(**kw):
    return jsonform.new("sd-1.5", **{**PAPER, **kw})


def code_of(data):
    err = codec.validate(data)
    return None if err is None else err.code


def recrc(data: bytes) -> bytes:
    return data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")


def test_paper_example_size():
    data = codec.write(paper())
    # The paper's Table II: 215 bytes. SPEC.md's layout: 50 (deflate), 48 (none).
    assert len(data) == 50
    assert len(codec.write(paper(text_coder="none"))) == 48
    assert codec.read(data) == paper()


def numbers_equal(a, b):
    """== that also tells -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(numbers_equal(a[k], b[k]) for k in a)
    return a == b


@given(aigif_files())
def test_read_write_roundtrip(f):
    data = codec.write(f)
    g = codec.read(data)
    assert numbers_equal(g.fields, f.fields) and g == f
    assert codec.write(g) == data  # canonical: write(read(b)) == b


@given(aigif_files(), st.data())
def test_corruption_gives_only_typed_errors(f, data):
    b = bytearray(codec.write(f))
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "flip+crc"]))
    if kind in ("flip", "flip+crc"):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] ^= 1 << data.draw(st.integers(0, 7))
        if kind == "flip+crc":
            b = bytearray(recrc(bytes(b)))
    elif kind == "truncate":
        b = b[: data.draw(st.integers(0, len(b) - 1))]
    else:
        i = data.draw(st.integers(0, len(b)))
        b[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        g = codec.read(bytes(b))
    except AigifError as err:
        assert err.code in PARSE_CODES
        return
    assert codec.write(g) == bytes(b)  # anything accepted is canonical


@pytest.mark.parametrize("model", [m["key"] for m in REG.table("models").entries])
def test_every_model_and_family_field_roundtrips(model):
    f = jsonform.new(model, height=512, width=768, seed=1)
    fam = REG.family_of(model)
    for fld in fam.fields:
        if fld.type == "str":
            f.fields[fld.name] = f"{fld.name} ✓"
        elif fld.type == "uint":
            f.fields[fld.name] = fld.max
        elif fld.type == "dec":
            f.fields[fld.name] = 6.3
    if "weights_hash" in f.model_fields:
        f.model_fields.update(weights_hash=bytes(range(5)), model_name="myMerge_v3.safetensors")
    assert codec.read(codec.write(f)) == f


# ---------------------------------------------------------------- the errors of SPEC.md §10
def test_truncation_at_every_length():
    data = codec.write(paper())
    for n in range(len(data)):
        assert code_of(data[:n]) in ("E_TRUNCATED", "E_MAGIC") if n == 0 else code_of(data[:n]) == "E_TRUNCATED"


@pytest.mark.parametrize("mutate,code", [
    (lambda b: b"AIF" + b[3:], "E_MAGIC"),
    (lambda b: b"PNG" + b[3:], "E_MAGIC"),
    (lambda b: b[:3] + b"\x02" + b[4:], "E_VERSION"),
    (lambda b: b + b"\x00", "E_TRAILING_DATA"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "E_CHECKSUM"),
    (lambda b: b[:20] + bytes([b[20] ^ 0x10]) + b[21:], "E_CHECKSUM"),
    (lambda b: b[:4] + bytes([b[4] | 0x80, 0]) + b[5:], "E_VARINT"),  # overlong body length
])
def test_container_errors(mutate, code):
    assert code_of(mutate(codec.write(paper()))) == code


def test_empty_and_tiny_files():
    assert code_of(b"") == "E_MAGIC"
    assert code_of(b"A") == "E_TRUNCATED"
    assert code_of(b"AI") == "E_TRUNCATED"
    assert code_of(b"AIG") == "E_TRUNCATED"
    assert code_of(b"AIG\x01") == "E_TRUNCATED"
    assert code_of(b"\x89PNG\r\n") == "E_MAGIC"


def build_raw(core_bits: str, rest: bytes = b"") -> bytes:
    """A file from raw core bits: lets tests write what the writer never would."""
    core_bits += "0" * (-len(core_bits) % 8)
    body = int(core_bits, 2).to_bytes(len(core_bits) // 8, "big") + rest
    from aigif.wire import uvarint
    out = b"AIG\x01" + uvarint(len(body)) + body
    return out + zlib.crc32(out).to_bytes(4, "little")


def core_bits_of(f) -> tuple[str, bytes]:
    """(core bits without padding, rest of body) of a written file."""
    from aigif.bits import bit_table
    data = codec.write(f)
    rows = bit_table(data)
    body_start = rows[2]["bit"] + rows[2]["bits"]
    last = [r for r in rows if not r["field"].startswith(("padding", "sections", "text_block", "crc32"))][-1]
    end = last["bit"] + last["bits"]
    bits = "".join(format(x, "08b") for x in data)[body_start:end]
    pad = -end % 8
    return bits, data[(end + pad) // 8:-4]


def test_core_bits_helper_reproduces_file():
    bits, rest = core_bits_of(paper())
    assert build_raw(bits, rest) == codec.write(paper())


def field_span(f, name: str) -> tuple[int, int]:
    """(first bit, length) of a core field, relative to the start of the core."""
    from aigif.bits import bit_table
    rows = bit_table(codec.write(f))
    core = rows[2]["bit"] + rows[2]["bits"]
    row = next(r for r in rows if r["field"] == name)
    return row["bit"] - core, row["bits"]


def replace_field(f, name: str, new_bits: str) -> bytes:
    bits, rest = core_bits_of(f)
    at, n = field_span(f, name)
    return build_raw(bits[:at] + new_bits + bits[at + n:], rest)


def ue(v: int) -> str:
    z = (v + 1).bit_length() - 1
    return "0" * z + format(v + 1, "b")


def test_overlong_expcode_model():
    assert code_of(replace_field(paper(), "model", "11111111" * 16 + "00000000")) == "E_EXPCODE_OVERLONG"
    assert code_of(replace_field(paper(), "model", "11111111" * 15 + "11111110")) == "E_UNKNOWN_ID"  # ID 4079: longest legal code


def test_unknown_ids():
    assert code_of(replace_field(paper(), "model", format(250, "08b"))) == "E_UNKNOWN_ID"
    assert code_of(replace_field(paper(), "platform.gpu", ue(999))) == "E_UNKNOWN_ID"
    assert code_of(replace_field(paper(), "fields.scheduler", ue(999))) == "E_UNKNOWN_ID"


def test_nonzero_padding():
    bits, rest = core_bits_of(paper(fields={"scheduler": "ddim", "steps": 1, "guidance": 7.5}))
    assert len(bits) % 8  # this one has padding bits
    padded = bits + "1" + "0" * (-(len(bits) + 1) % 8)
    assert code_of(build_raw(padded, rest)) == "E_NONZERO_PADDING"


def test_out_of_range_width_and_steps():
    from aigif.wire import se_to_ue
    # 1024x1024 is coded in units of 64: size_unit 1, height ue(15), width se(0)
    assert field_span(paper(), "size")[1] == 1 + 9 + 1
    assert code_of(replace_field(paper(), "size", "1" + ue(15) + ue(se_to_ue(256)))) == "E_RANGE"  # width 1024 + 256*64
    assert code_of(replace_field(paper(), "size", "1" + ue(256) + ue(0))) == "E_RANGE"  # height 257*64
    assert code_of(replace_field(paper(), "fields.steps", ue(1000))) == "E_RANGE"  # 1001 steps
    assert code_of(replace_field(paper(), "fields.steps", ue(999))) is None  # 1000 steps: the limit itself
    assert code_of(replace_field(paper(), "fields.clip_skip", ue(13))) == "E_RANGE"


def test_size_unit_is_canonical():
    # 1024x1024 written in units of 8 instead of 64: same size, second encoding -> rejected
    assert code_of(replace_field(paper(), "size", "0" + ue(127) + ue(0))) == "E_NONCANONICAL"
    f = paper(height=1000, width=1024)  # not both multiples of 64: units of 8
    assert field_span(f, "size")[1] == 1 + 13 + 5 and codec.read(codec.write(f)) == f  # ue(124), se(3)


def test_string_past_end_and_invalid_utf8():
    f = paper(text_coder="none")
    bits, rest = core_bits_of(f)
    assert rest == b"\x0aA cute cat\x0dworst quality"
    assert code_of(build_raw(bits, b"\x0aA cute cat\x20worst quality")) == "E_OVERRUN"
    assert code_of(build_raw(bits, b"\x0aA cute ca\xff\x0dworst quality")) == "E_UTF8"
    assert code_of(build_raw(bits, rest + b"x")) == "E_OVERRUN"


def test_deflate_bomb_stops_at_limit():
    import time

    from aigif.text.deflate import deflate
    f = paper()
    bits, _ = core_bits_of(f)
    bomb = deflate(b"\x00" * 10_000_000)  # ~10 MB of zeros in about 20 KB
    t = time.perf_counter()
    assert code_of(build_raw(bits, bomb)) == "E_TEXT_LIMIT"
    assert time.perf_counter() - t < 0.5


def test_noncanonical_deflate():
    bits, _ = core_bits_of(paper())
    text = b"\x0aA cute cat\x0dworst quality"
    stored = b"\x01" + len(text).to_bytes(2, "little") + (len(text) ^ 0xFFFF).to_bytes(2, "little") + text
    assert zlib.decompress(stored, -15) == text  # valid DEFLATE, but a stored block
    assert code_of(build_raw(bits, stored)) == "E_NONCANONICAL"
    assert code_of(build_raw(bits, stored[:-1])) == "E_TEXT_CORRUPT"


def test_extensions_unknown_critical_and_ignorable():
    f = paper(extensions=[])
    f.extensions = [Extension(100, b"hello")]
    g = codec.read(codec.write(f))
    assert g.extensions[0].raw == b"hello" and not g.extensions[0].critical
    f.extensions = [Extension(101, b"must understand")]
    with pytest.raises(AigifError) as e:  # the writer refuses what no reader could accept
        codec.write(f)
    assert e.value.code == "E_UNKNOWN_CRITICAL_EXTENSION"
    from aigif.wire import uvarint
    bits, rest = core_bits_of(paper())
    bits = bits[:3] + "1" + bits[4:]  # has_extensions
    assert code_of(build_raw(bits, uvarint(1) + uvarint(101) + uvarint(2) + b"ok" + rest)) == "E_UNKNOWN_CRITICAL_EXTENSION"


def test_writer_rejects_unencodable_text():
    with pytest.raises(AigifError) as e:
        codec.write(paper(prompt="lone \ud800 surrogate"))
    assert e.value.code == "E_UTF8"


def test_extension_order_and_count():
    from aigif.wire import uvarint
    bits, rest = core_bits_of(paper())
    bits = bits[:3] + "1" + bits[4:]  # has_extensions
    recs = uvarint(6) + uvarint(1) + b"a" + uvarint(4) + uvarint(1) + b"b"
    assert code_of(build_raw(bits, uvarint(2) + recs + rest)) == "E_EXTENSION_ORDER"
    assert code_of(build_raw(bits, uvarint(0) + rest)) == "E_NONCANONICAL"
    assert code_of(build_raw(bits, uvarint(33) + rest)) == "E_LIMIT"


def test_registered_extension_roundtrip():
    f = paper()
    f.extensions = [Extension.of("software", {"torch": "2.13.0+cpu", "diffusers": "0.42.1", "transformers": "5.23.0",
                                              "cpu": "AVX512", "writer": "aigif 1.0"})]
    g = codec.read(codec.write(f))
    assert g.extension("software").fields["torch"] == "2.13.0+cpu"


def test_digest_lengths():
    for n in (8, 16, 32):
        f = paper(digest="ab" * n)
        assert codec.read(codec.write(f)).digest == bytes([0xAB]) * n
    bits, rest = core_bits_of(paper())
    bits = bits[:2] + "1" + bits[3:]
    assert code_of(build_raw(bits, bytes([12]) + b"x" * 12 + rest)) == "E_RANGE"


def test_unregistered_model_keeps_name_and_hash():
    f = jsonform.new("unregistered-sd", height=512, width=512, seed=3, prompt="p",
                     model_fields={"weights_hash": "6ce0161689", "model_name": "dreamshaper_8.safetensors"})
    g = codec.read(codec.write(f))
    assert g.model_fields == {"weights_hash": bytes.fromhex("6ce0161689"), "model_name": "dreamshaper_8.safetensors"}


def test_scheduler_kind_must_match_family():
    f = jsonform.new("sd3-medium", height=1024, width=1024, seed=1, fields={"scheduler": "ddim"})
    with pytest.raises(AigifError) as e:
        codec.write(f)
    assert e.value.code == "E_RANGE"


def test_writer_rejects_what_a_decoder_would():
    for bad, code in [(dict(height=1001), "E_RANGE"), (dict(width=16392), "E_RANGE"), (dict(seed=-1), "E_RANGE"), (dict(seed=2**64), "E_RANGE"),
                      (dict(fields={"steps": 0}), "E_RANGE"), (dict(fields={"guidance": float("nan")}), "E_RANGE"),
                      (dict(dtype="float8"), "E_UNKNOWN_ID")]:
        with pytest.raises(AigifError) as e:
            codec.write(paper(**bad))
        assert e.value.code == code, bad
