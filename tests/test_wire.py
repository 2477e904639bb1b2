"""SPEC.md §3: primitive encodings."""
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigif import wire
from aigif.errors import AigifError


def parse(con, bits: str):
    """Parse a field from a string of bits (MSB first)."""
    data = (int(bits or "0", 2) << (-len(bits) % 8)).to_bytes((len(bits) + 7) // 8, "big")
    return con.parse_stream(wire.BitReader(data, nbits=len(bits)))


def build(con, value) -> str:
    """A field's bits as a string."""
    w = wire.BitWriter()
    con.build_stream(value, w)
    return format(w.acc, f"0{w.n}b") if w.n else ""


# ---------------------------------------------------------------- exp-code (§3.3, Appendix B)
BOUNDARIES = {0: "00", 1: "01", 254: "fe", 255: "ff00", 256: "ff01", 509: "fffe", 510: "ffff00", 511: "ffff01",
              764: "fffffe", 765: "ffffff00", 4079: "ff" * 15 + "fe"}


@pytest.mark.parametrize("ident,hexcode", BOUNDARIES.items())
def test_expcode_boundaries(ident, hexcode):
    assert wire.expcode_bytes(ident).hex() == hexcode
    assert wire.read_expcode_bytes(bytes.fromhex(hexcode), 0, len(hexcode) // 2) == (ident, len(hexcode) // 2)
    bits = "".join(format(b, "08b") for b in bytes.fromhex(hexcode))
    assert parse(wire.ExpCode(), bits) == ident and build(wire.ExpCode(), ident) == bits


def test_expcode_limit():
    with pytest.raises(AigifError) as e:
        wire.expcode_bytes(4080)
    assert e.value.code == "E_EXPCODE_OVERLONG"
    with pytest.raises(AigifError) as e:
        wire.read_expcode_bytes(b"\xff" * 16 + b"\x00", 0, 17)
    assert e.value.code == "E_EXPCODE_OVERLONG"
    with pytest.raises(AigifError) as e:
        wire.read_expcode_bytes(b"\xff\xff", 0, 2)
    assert e.value.code == "E_OVERRUN"


@given(st.integers(0, 4079))
def test_expcode_roundtrip_and_unique_length(ident):
    code = wire.expcode_bytes(ident)
    assert len(code) == ident // 255 + 1  # the only encoding: no overlong form exists
    assert wire.read_expcode_bytes(code + b"junk", 0, len(code) + 4) == (ident, len(code))


# ---------------------------------------------------------------- Exp-Golomb (§3.4)
@pytest.mark.parametrize("v,bits", [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (6, "00111"), (7, "0001000")])
def test_ue_table(v, bits):
    assert build(wire.UE(), v) == bits and parse(wire.UE(), bits) == v


@given(st.integers(0, 2**33 - 2))
def test_ue_roundtrip(v):
    assert parse(wire.UE(), build(wire.UE(), v)) == v


@given(st.integers(-(2**32 - 1), 2**32 - 1))
def test_se_roundtrip(v):
    assert parse(wire.SE(), build(wire.SE(), v)) == v


def test_ue_overlong():
    with pytest.raises(AigifError) as e:
        parse(wire.UE(), "0" * 33 + "1" + "0" * 33)
    assert e.value.code == "E_EXPGOLOMB_OVERLONG"
    assert parse(wire.UE(), "0" * 32 + "1" + "1" * 32) == 2**33 - 2


# ---------------------------------------------------------------- dec (§3.6)
@pytest.mark.parametrize("x,e,m", [(7.5, 1, 75), (7.0, 0, 7), (6.3, 1, 63), (0.0, 0, 0), (0.1, 1, 1), (12.25, 2, 1225), (1e-6, 6, 1)])
def test_dec_decimal_forms(x, e, m):
    assert wire.dec_decimal_form(x) == (m, e)


@pytest.mark.parametrize("x", [-0.0, 1e-7, 1 / 3, 6.300000190734863, 1e300, 3.0000000000000004])
def test_dec_binary_forms(x):
    assert wire.dec_decimal_form(x) is None
    bits = build(wire.Dec("g"), x)
    assert bits.startswith("111") and len(bits) == 67
    assert struct.pack(">d", parse(wire.Dec("g"), bits)) == struct.pack(">d", x)


def test_guidance_6_3_is_python_float():
    assert parse(wire.Dec("g"), build(wire.Dec("g"), 6.3)) == float("6.3")
    assert build(wire.Dec("g"), 7.5) == "001" + "000000010010110"  # SPEC.md §3.6 examples
    assert build(wire.Dec("g"), 7.0) == "000" + "0001110"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_dec_roundtrip_exact(x):
    y = parse(wire.Dec("g"), build(wire.Dec("g"), x))
    assert struct.pack(">d", y) == struct.pack(">d", x)


@pytest.mark.parametrize("bits,code", [
    ("001" + "1", "E_NONCANONICAL"),  # m = 0 with e = 1
    ("001" + build(wire.SE(), 70), "E_NONCANONICAL"),  # 70e-1 has a trailing zero
    ("111" + format(struct.unpack(">Q", struct.pack(">d", 7.5))[0], "064b"), "E_NONCANONICAL"),  # 7.5 has a decimal form
    ("111" + format(0x7FF8000000000000, "064b"), "E_RANGE"),  # NaN
    ("111" + format(0x7FF0000000000000, "064b"), "E_RANGE"),  # +inf
])
def test_dec_rejects(bits, code):
    with pytest.raises(AigifError) as e:
        parse(wire.Dec("g"), bits)
    assert e.value.code == code


def test_dec_range():
    with pytest.raises(AigifError) as e:
        parse(wire.Dec("g", 0, 100), build(wire.Dec("g"), 100.5))
    assert e.value.code == "E_RANGE"


# ---------------------------------------------------------------- seed (§3.7)
@pytest.mark.parametrize("s,nbits", [(0, 10), (255, 10), (256, 18), (65535, 18), (65536, 34), (829557441, 34), (2**32, 66), (2**64 - 1, 66)])
def test_seed_widths(s, nbits):
    bits = build(wire.Seed(), s)
    assert len(bits) == nbits and parse(wire.Seed(), bits) == s


def test_seed_noncanonical():
    with pytest.raises(AigifError) as e:
        parse(wire.Seed(), "01" + format(5, "016b"))
    assert e.value.code == "E_NONCANONICAL"


@given(st.integers(0, 2**64 - 1))
def test_seed_roundtrip(s):
    assert parse(wire.Seed(), build(wire.Seed(), s)) == s


# ---------------------------------------------------------------- uvarint (§3.2)
@pytest.mark.parametrize("v,hexs", [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (2**64 - 1, "ffffffffffffffffff01")])
def test_uvarint_examples(v, hexs):
    assert wire.uvarint(v).hex() == hexs
    assert wire.read_uvarint(bytes.fromhex(hexs), 0, len(hexs) // 2)[0] == v


@pytest.mark.parametrize("hexs,code", [("8000", "E_VARINT"), ("ff" * 10 + "01", "E_VARINT"), ("ffffffffffffffffff02", "E_VARINT"), ("80", "E_OVERRUN")])
def test_uvarint_rejects(hexs, code):
    with pytest.raises(AigifError) as e:
        wire.read_uvarint(bytes.fromhex(hexs), 0, len(hexs) // 2)
    assert e.value.code == code


@given(st.integers(0, 2**64 - 1))
def test_uvarint_roundtrip(v):
    b = wire.uvarint(v)
    assert wire.read_uvarint(b, 0, len(b)) == (v, len(b))
