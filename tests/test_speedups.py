"""The accelerator (aigif._fast, aigif._speedups) gives exactly the reference's result.

For every input -- every vector (parse and reject), every fuzz corpus file,
mutations of them, and generated files -- ``codec.read`` and ``codec.validate``
with the accelerator return the same file (same repr: same types, same key
order) or the same error (code, message, offset, bit) as with it turned off.
The accelerator decides no error itself: where it does not accept a file the
reference reads it; these tests also check that it does accept the common
files, so the comparison is not vacuous.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigif import _fast, codec
from aigif.errors import AigifError
from aigif.registry import load
from aigif.text import prompt

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
FUZZ = ROOT / "tests" / "fuzz_corpus"

pytestmark = pytest.mark.skipif(not _fast.ENABLED, reason="the accelerator is not built (pure-Python install)")

REG = load()


def outcome(data: bytes, fast: bool):
    """(read's result or error, validate's result) with the accelerator on or off."""
    saved = _fast.ENABLED
    _fast.ENABLED = fast
    try:
        try:
            r = ("ok", repr(codec.read(data, REG)))
        except AigifError as e:
            r = ("error", e.code, e.message, e.offset, e.bit)
        except Exception as e:  # whatever the reference does, the accelerator must do
            r = ("raised", type(e).__name__, str(e))
        try:
            err = codec.validate(data, REG)
            v = None if err is None else (err.code, err.message, err.offset, err.bit)
        except Exception as e:
            v = ("raised", type(e).__name__, str(e))
    finally:
        _fast.ENABLED = saved
    return r, v


def same(data: bytes) -> bool:
    """Assert both paths agree; True if the accelerator accepted ``data`` by itself."""
    assert outcome(data, True) == outcome(data, False), data[:64].hex()
    accepted = _fast.read(data, REG) is not None
    if accepted:
        assert outcome(data, False)[0][0] == "ok", "the accelerator accepted a file the reference rejects"
    return accepted


def vector_inputs() -> list[Path]:
    manifest = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for v in manifest["vectors"]:
        if v["class"] in ("parse", "reject"):
            out.append(VECTORS / v["files"]["input"]["path"])
    return out


def test_every_vector():
    files = vector_inputs()
    assert len(files) > 100
    accepted = sum(same(p.read_bytes()) for p in files)
    assert accepted >= 200, f"the accelerator accepted only {accepted} vectors"


def test_fuzz_corpora():
    files = [p for p in sorted(FUZZ.rglob("*")) if p.is_file()]
    assert files
    for p in files:
        same(p.read_bytes())


def test_mutated_vectors():
    """Bit flips, cuts and byte changes of the vectors the accelerator accepts, CRC fixed
    up so that the mutation reaches the core and the text block."""
    import zlib

    rng = random.Random(20)
    bases = [p.read_bytes() for p in vector_inputs()]
    bases = [b for b in bases if _fast.read(b, REG) is not None]
    assert bases
    for _ in range(2000):
        b = bytearray(rng.choice(bases))
        what = rng.random()
        if what < 0.5:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif what < 0.8:
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        else:
            del b[rng.randrange(len(b)):]
        same(bytes(b))
        if len(b) > 8:  # the same change behind a correct CRC
            body = bytes(b[:-4])
            same(body + zlib.crc32(body).to_bytes(4, "little"))


def test_prompt_blocks():
    """The prompt decoder alone, on random and crafted blocks, against the reference decoder."""
    m = _fast.prompt_model()
    assert m is not None
    model = prompt._load()
    rng = random.Random(21)
    blocks = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))) for _ in range(4000)]
    blocks += [bytes([a, b]) for a in range(0, 256, 3) for b in range(1, 256, 7)]
    blocks += [prompt.encode([s, t]) for s, t in [("A photo of a cat", ""), ("HTMLParser ABc iPhone  x", "Zyxq ☃"),
                                                   ("(masterpiece:1.2), 1girl", "worst quality"), (")" * 300, "\n\t é𝄞")]]
    blocks.append(bytes.fromhex("060ad0dcf57afd7d1c80193c9b"))  # a string of one lone-space piece: "" is not " " (E.4 step 1)
    words = ["a", "photo", "of", "the", "cat", "HTML", "Parser", "iPhone", "zyxq", "(", ")", ":", "1.2", "é", "☃", "𝄞", "  ", "\n", "ABc", "Qq", "x"]
    for _ in range(3000):  # encodings of word salads, most with one bit flipped
        strings = ["".join(rng.choice(words) + rng.choice(["", " ", ","]) for _ in range(rng.randrange(8))) for _ in range(rng.randrange(1, 4))]
        b = bytearray(prompt.encode(strings))
        if b and rng.random() < 0.7:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        blocks.append(bytes(b))
    decided = 0
    for blk in blocks:
        for count, limit in ((2, 65536), (1, 65536), (3, 40), (2, 7)):
            try:
                ref = ("ok", model.decode(blk, count, limit))
            except prompt.TextCoderError as e:
                ref = ("error", e.code, e.message)
            except Exception as e:  # the reference's own exceptions: the accelerator must not decide these
                ref = ("raised", type(e).__name__)
            got = _fast._speedups.decode_prompt(m, blk, count, limit)
            if got is not None:
                decided += 1
                assert ref == (("error", *got) if isinstance(got, tuple) else ("ok", got)), blk.hex()
    assert decided > 0.95 * 4 * len(blocks)  # it decides nearly every block itself


def test_deflate_is_the_same_deflater():
    from aigif.text import deflate

    rng = random.Random(22)
    inputs = [b"", b"a", b"ab", b"abc", b"a" * 70000, b"ab" * 33000, bytes(range(256)) * 200]
    for _ in range(400):
        alpha = rng.choice([b"a", b"ab", b"abc", b"acgt", bytes(range(256)), b"abcdefgh", b"aab", b"() ,"])
        d = bytes(rng.choice(alpha) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 10, 50, 300, 1000, 5000])))
        inputs.append(d * rng.randint(1, 3))
    for d in inputs:
        assert _fast._speedups.deflate(d) == deflate.deflate(d), d[:40]
    for d in inputs[:40]:
        assert deflate.deflate(d) == deflate.deflate_straightforward(d)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_generated_files(data):
    from strategies import aigif_files

    f = data.draw(aigif_files(coders=("none", "deflate", "prompt")))
    try:
        b = codec.write(f, REG)
    except AigifError:
        return
    same(b)
    # and a damaged copy
    i = data.draw(st.integers(0, len(b) - 1))
    same(b[:i] + bytes([b[i] ^ data.draw(st.integers(1, 255))]) + b[i + 1:])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAbZ  (),.:1é\n☃𝄞xyzQ")) | st.characters(), max_size=30), min_size=1, max_size=3))
def test_generated_prompts(strings):
    """Strings of every kind through the prompt coder: the accelerator decodes what the reference decodes."""
    try:
        blk = prompt.encode(strings)
    except ValueError:
        return
    m = _fast.prompt_model()
    assert _fast._speedups.decode_prompt(m, blk, len(strings), 65536) == strings
    assert prompt._load().decode(blk, len(strings), 65536) == strings


def test_common_files_are_accelerated():
    from aigif import jsonform

    f = jsonform.new("sd-1.5", height=512, width=768, seed=42, prompt="A photo of a cat", negative_prompt="blurry",
                     text_coder="prompt")
    assert _fast.read(codec.write(f, REG), REG) is not None
    f.text_coder = "none"
    assert _fast.read(codec.write(f, REG), REG) is not None


def test_aigif_pure_turns_it_off():
    out = subprocess.run([sys.executable, "-c", "from aigif import _fast; print(_fast.ENABLED)"],
                         env={**os.environ, "AIGIF_PURE": "1"}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
