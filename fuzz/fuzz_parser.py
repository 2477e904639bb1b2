#!/usr/bin/env python3
"""atheris target: the AIGIF parser (SPEC.md §4–§9) on hostile bytes.

    python fuzz/seeds.py
    nice -n 10 python fuzz/fuzz_parser.py fuzz/corpus/parser fuzz/corpus/parser_seed \
        -runs=1000000 -max_len=4096 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz/artifacts/parser-

Contract checked on every input (the first byte picks a framing mode, see
``frame``):

* ``codec.read`` raises nothing but :class:`AigifError` with a SPEC.md §10
  parse code;
* on what parses: ``codec.write(read(b)) == b`` (a non-canonical accept is a
  bug), ``bits.bit_table`` and ``jsonform.to_json`` work, and the JSON form
  packs back to the same bytes (SPEC.md §17: ``pack(info(b)) == b``).

Anything else (another exception, a failed assertion, a timeout, RSS over
the limit) is a crash that libFuzzer saves under ``-artifact_prefix``.
``AIGIF_FUZZ_TOLERATE=BUG-4`` lets a campaign go on past a bug already
reported (see ``KNOWN``).
``python fuzz/fuzz_parser.py --replay FILE...`` runs the same checks
without atheris (used by tests/test_hostile.py).
"""
from __future__ import annotations

import json
import os

from aigif.conformance.bitwriter import with_crc, wrap


def _import():
    global AigifError, PARSE_CODES, bits, codec, jsonform, REG
    import aigif.text.deflate  # noqa: F401  (imported lazily by text.coder: import here to instrument)
    import aigif.text.none  # noqa: F401
    from aigif import bits, codec, jsonform
    try:
        from aigif.text import prompt
        prompt._load()  # the static model (1.7 MB, seconds when instrumented): once, not in the first unit
    except ImportError:
        pass
    from aigif.errors import PARSE_CODES, AigifError
    from aigif.registry import load
    REG = load()


# What the rest of a fuzz input is, by its first byte (mod 3)
MODES = (
    lambda rest: rest,                                              # 0: the file
    lambda rest: rest if len(rest) < 4 else with_crc(rest[:-4]),   # 1: a file whose last 4 bytes become its CRC-32
    wrap,                                                           # 2: a body: magic, version, length and CRC added
)


def frame(data: bytes) -> bytes:
    """Turn a fuzz input into the bytes given to the parser (its first byte picks one of MODES)."""
    return MODES[data[0] % len(MODES)](data[1:]) if data else b""


# Known bugs already reported, tolerated only when named in $AIGIF_FUZZ_TOLERATE (e.g. "BUG-4"),
# so that a campaign can go on looking for other ones; by default every one of them is a crash.
KNOWN = {
    # the prompt coder's TextCoderError("E_TEXT_NONCANONICAL") escapes codec.read (aigif/text/__init__.py)
    "BUG-4": lambda e: isinstance(e, ValueError) and getattr(e, "code", None) == "E_TEXT_NONCANONICAL",
}
TOLERATE = [KNOWN[k] for k in os.environ.get("AIGIF_FUZZ_TOLERATE", "").replace(",", " ").split()]


def check(b: bytes) -> str:
    """The contract on one file; returns the error code or 'valid'."""
    try:
        f = codec.read(b, REG)
    except AigifError as err:
        if err.code not in PARSE_CODES:
            raise AssertionError(f"read raised a non-parse code {err.code}: {err}") from err
        return err.code
    except Exception as e:
        if any(t(e) for t in TOLERATE):
            return "known"
        raise
    out = codec.write(f, REG)
    if out != b:
        raise AssertionError(f"non-canonical accept: write(read(b)) differs from b ({len(out)} vs {len(b)} bytes)")
    bits.bit_table(b, REG)
    j = json.loads(json.dumps(jsonform.to_json(f, REG), allow_nan=False))
    again = codec.write(jsonform.from_json(j, REG), REG)
    if again != b:
        raise AssertionError("pack(info(b)) != b")
    return "valid"


if __name__ == "__main__":
    from harness import run  # fuzz/ is sys.path[0] when a target runs as a script
    run(_import, check, frame)
