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

import importlib.util
import json
import os
import sys
import zlib
from pathlib import Path

if importlib.util.find_spec("aigif") is None:  # not installed (pip install -e .): use this checkout's
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))


def _import():
    global AigifError, PARSE_CODES, bits, codec, jsonform, wire, REG
    from aigif import bits, codec, jsonform, wire
    import aigif.text.deflate  # noqa: F401  (imported lazily by text.coder: import here to instrument)
    import aigif.text.none  # noqa: F401
    try:
        from aigif.text import prompt
        prompt._load()  # the static model (1.7 MB, seconds when instrumented): once, not in the first unit
    except ImportError:
        pass
    from aigif.errors import PARSE_CODES, AigifError
    from aigif.registry import load
    REG = load()


MODES = 3


def frame(data: bytes) -> bytes:
    """Turn a fuzz input into the bytes given to the parser.

    mode 0: the rest is the file; mode 1: the rest is a file whose last 4
    bytes are replaced by the correct CRC-32; mode 2: the rest is a body,
    wrapped with magic, version, body length and CRC-32.
    """
    if not data:
        return b""
    mode, rest = data[0] % MODES, data[1:]
    if mode == 0:
        return rest
    if mode == 1:
        if len(rest) < 4:
            return rest
        return rest[:-4] + zlib.crc32(rest[:-4]).to_bytes(4, "little")
    head = b"AIG\x01" + wire.uvarint(len(rest)) + rest
    return head + zlib.crc32(head).to_bytes(4, "little")


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


def TestOneInput(data: bytes) -> None:
    check(frame(data))


def replay(paths: list[str]) -> int:
    for p in paths:
        print(f"{p}: {check(frame(Path(p).read_bytes()))}")
    return 0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        _import()
        sys.exit(replay(sys.argv[2:]))
    import atheris
    with atheris.instrument_imports(include=["aigif"]):
        _import()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
