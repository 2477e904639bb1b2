"""Worst-case parse time per input byte (SPEC.md §16, issue 21 class 11).

The slow inputs of class 11, crafted here: deflate text over a small
alphabet (the canonical-deflate check), prompt-coded ``)`` × 65,528 (one
coding step per character), a 2-byte prompt block that decodes to the
65,536-byte limit from the zero bytes read past its end (Appendix E.6, E.8),
rejected variants of each (the error is found only at the end), and
``aigif info --bits`` of the deflate file. Each file is at most 64 KiB and
must validate within the bound of SPEC.md §16: 50 ms of CPU time with the
accelerator (aigif._speedups), 500 ms in pure Python. The times are CPU
time, best of 3, so that a loaded shared machine does not fail the test; the
files measure well under the bounds (about 2-5 ms and 15-120 ms on the
project machine).
"""
from __future__ import annotations

import random
import time
import zlib

import pytest

from aigif import _fast, bits, codec, container, core, jsonform
from aigif.errors import AigifError
from aigif.registry import load
from aigif.text import deflate, prompt
from aigif.text.framing import TEXT_LIMIT, frame

REG = load()
MAX_FILE = 64 * 1024
BOUND = {"accelerated": 0.050, "pure": 0.500}  # seconds of CPU time per file of at most 64 KiB (SPEC.md §16)
PATHS = ["pure"] + (["accelerated"] if _fast.ENABLED else [])


def small_alphabet_text(alphabet: str, n: int = 65528, seed: int = 11) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def file_with(text_coder: str, prompt_text: str) -> bytes:
    f = jsonform.new("sd-1.5", height=512, width=512, seed=1, prompt=prompt_text, negative_prompt="", text_coder=text_coder)
    return codec.write(f, REG)


def with_block(b: bytes, block: bytes) -> bytes:
    """``b`` (an sd-1.5 file with no sections) with its text block replaced by ``block``."""
    start, end = container.read_container(b)
    _, pos = core.read_core(REG, b, start, end)
    return container.write_container(b[start:pos] + block)


def cases() -> dict[str, tuple[bytes, str | None]]:
    """name -> (file, expected error code or None)."""
    out = {}
    for alphabet in ("ab", "acgt", "abcdefgh"):
        b = file_with("deflate", small_alphabet_text(alphabet))
        out[f"deflate-{len(alphabet)}-letters"] = (b, None)
        # the same text, DEFLATE'd by zlib: valid DEFLATE, not the canonical deflater's output
        zl = zlib.compressobj(9, zlib.DEFLATED, -15)
        out[f"deflate-{len(alphabet)}-letters-zlib"] = (with_block(b, zl.compress(frame([small_alphabet_text(alphabet), ""])) + zl.flush()),
                                                        "E_NONCANONICAL")
    parens = file_with("prompt", ")" * 65528)
    out["prompt-parens"] = (parens, None)
    # the same block with its last byte changed: it decodes to the end, then fails
    out["prompt-parens-last-byte"] = (with_block(parens, prompt.encode([")" * 65528, ""])[:-1] + b"\x01"), "any")
    out["prompt-zero-tail"] = (with_block(parens, bytes.fromhex("cb64")), "E_TEXT_LIMIT")
    return out


CASES = cases()


def cpu(fn, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


@pytest.fixture(params=PATHS)
def path(request):
    saved = _fast.ENABLED
    _fast.ENABLED = request.param == "accelerated"
    prompt._load()  # the model loads once per process: not per file (see test_prompt_model_load)
    yield request.param
    _fast.ENABLED = saved


@pytest.mark.parametrize("name", sorted(CASES))
def test_worst_cases_parse_within_the_bound(name, path):
    b, code = CASES[name]
    assert len(b) <= MAX_FILE
    err = codec.validate(b, REG)
    assert (err.code if err else None) == code or (code == "any" and err), err
    t = cpu(lambda: codec.validate(b, REG))
    assert t <= BOUND[path], f"{name}: {len(b)} bytes validated in {t * 1000:.1f} ms CPU ({path}); the bound is {BOUND[path] * 1000:.0f} ms"


def test_bits_table_within_the_bound(path):
    b, _ = CASES["deflate-8-letters"]
    t = cpu(lambda: bits.bit_table(b, REG), rounds=2)
    assert t <= 2 * BOUND[path], f"--bits of {len(b)} bytes took {t * 1000:.1f} ms CPU ({path})"


def test_the_zero_tail_expands_to_the_limit():
    """Appendix E.6/E.8: bytes past the end of the block read as 0x00, so 2 bytes decode
    until the text limit stops them; with a higher limit they would go on."""
    with pytest.raises(prompt.TextCoderError) as e:
        prompt.decode(bytes.fromhex("cb64"), 2, TEXT_LIMIT)
    assert e.value.code == "E_TEXT_LIMIT"
    with pytest.raises(prompt.TextCoderError) as e:
        prompt.decode(bytes.fromhex("cb64"), 2, 4 * TEXT_LIMIT)
    assert e.value.code == "E_TEXT_LIMIT"


def test_the_decoded_text_is_bounded_by_the_limit_not_the_block():
    """Whatever the block, the decoder stops within ``limit`` bytes of text (E.8): blocks of 0..3
    bytes, each decoded with a small limit, either decode within it or report E_TEXT_LIMIT."""
    rng = random.Random(3)
    for blk in [b""] + [bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 4))) for _ in range(300)]:
        for limit in (0, 5, 100):
            try:
                strings = prompt.decode(blk, 2, limit)
            except prompt.TextCoderError:
                continue
            assert sum(len(s.encode()) for s in strings) <= limit


def test_deflate_is_the_straightforward_deflater():
    for alphabet in ("ab", "acgt", "abcdefgh", "".join(map(chr, range(32, 127)))):
        data = small_alphabet_text(alphabet, 6000).encode()
        assert deflate.deflate(data) == deflate.deflate_straightforward(data)
    for data in (b"", b"a", b"aaaa" * 1000, b"abcabcabd" * 500, bytes(range(256)) * 40):
        assert deflate.deflate(data) == deflate.deflate_straightforward(data)


def test_prompt_model_load():
    """The first prompt-coded file of a process: with the accelerator the model is read into
    compact C tables (no Python objects per table); in pure Python it is built once."""
    import subprocess
    import sys

    code = ("import time, resource; from aigif import codec, core; from aigif.registry import load; reg = load(); "
            "from aigif.text import prompt; core.compiled_core(reg); b = open(0, 'rb').read(); "
            "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; t = time.process_time(); "
            "assert codec.validate(b, reg) is None; t = time.process_time() - t; "
            "print(t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) / 1024)")
    b = file_with("prompt", "A photo of a cat")
    env = None
    if not _fast.ENABLED:
        pytest.skip("the accelerator is not built")
    out = subprocess.run([sys.executable, "-c", code], input=b, capture_output=True, check=True, env=env)
    t, mb = map(float, out.stdout.split())
    assert t < 0.1 and mb < 10, f"first prompt-coded file: {t * 1000:.0f} ms CPU, +{mb:.1f} MB"


def test_rejected_files_are_rejected_alike():
    """The bound holds for rejected files too: the accelerator's prompt decoder and deflater give the
    reference's error, so the error is not found by the slow path."""
    for name, (b, code) in CASES.items():
        if code is None:
            continue
        errs = []
        for on in PATHS:
            _fast.ENABLED = on == "accelerated"
            try:
                codec.read(b, REG)
            except AigifError as e:
                errs.append((e.code, e.message, e.offset))
        _fast.ENABLED = "accelerated" in PATHS
        assert len(set(errs)) == 1 and code in (errs[0][0], "any"), (name, errs)
