#!/usr/bin/env python3
"""atheris target: the text coders (SPEC.md §7) on hostile text blocks, directly.

    nice -n 10 python fuzz/fuzz_textcoder.py fuzz/corpus/textcoder \
        -runs=200000 -max_len=4096 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz/artifacts/textcoder-

The parser target reaches the coders only through a whole file; this one
feeds them blocks directly (faster, and it covers ``aigif.text.prompt``
even before that module is wired into ``aigif.text``).

Input: byte 0 picks the coder (``% 3``: none, deflate, prompt), byte 1 the
string count (``% 8``), the rest is the text block. Contract: ``decode``
returns exactly ``count`` strings or raises the coder's typed error
(``AigifError`` with a §10 text code; for ``prompt``, ``TextCoderError``
with E_TEXT_CORRUPT / E_TEXT_LIMIT / E_TEXT_NONCANONICAL); what decodes
re-encodes to the same bytes (one encoding per list of strings).
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

CODERS = ("none", "deflate", "prompt")
TEXT_CODES = {"E_TEXT_CORRUPT", "E_TEXT_LIMIT", "E_OVERRUN", "E_UTF8", "E_NONCANONICAL", "E_VARINT"}
PROMPT_CODES = {"E_TEXT_CORRUPT", "E_TEXT_LIMIT", "E_TEXT_NONCANONICAL"}


def _import():
    global AigifError, modules, TextCoderError
    from aigif.errors import AigifError
    from aigif.text import deflate, none
    modules = {"none": none, "deflate": deflate}
    TextCoderError = ()
    try:
        from aigif.text import prompt
        prompt._load()  # the static model (1.7 MB, seconds when instrumented): once, not in the first unit
        modules["prompt"] = prompt
        TextCoderError = prompt.TextCoderError
    except ImportError:
        pass


def check(data: bytes) -> str:
    if len(data) < 2:
        return "short"
    key, count, block = CODERS[data[0] % 3], data[1] % 8, data[2:]
    mod = modules.get(key)
    if mod is None:
        return "unavailable"
    try:
        strings = mod.decode(block, count, 65536)
    except AigifError as e:
        if key == "prompt" or e.code not in TEXT_CODES:
            raise AssertionError(f"{key}: unexpected {e.code}: {e}") from e
        return e.code
    except Exception as e:
        if key == "prompt" and isinstance(e, TextCoderError) and e.code in PROMPT_CODES:
            return e.code
        raise
    if not (isinstance(strings, list) and len(strings) == count and all(isinstance(s, str) for s in strings)):
        raise AssertionError(f"{key}: decode returned {strings!r:.200}")
    again = mod.encode(strings)
    if again != block:
        raise AssertionError(f"{key}: non-canonical accept ({len(again)} vs {len(block)} bytes)")
    return "valid"


def make_seeds(out: Path) -> None:
    _import()
    out.mkdir(parents=True, exist_ok=True)
    samples = [[], [""], ["a cute cat", "worst quality"], ["masterpiece, best quality, 1girl, (red hair:1.2)", "lowres, bad anatomy"],
               ["Über café 猫 🐈", ""], ["A" * 300, "b"], ["x", "y", "z", "w"], ["<lora:foo:0.8> BREAK photo of a dog"]]
    n = 0
    for i, key in enumerate(CODERS):
        if key not in modules:
            continue
        for j, s in enumerate(samples):
            try:
                block = modules[key].encode(s)
            except Exception:
                continue
            (out / f"{key}-{j}").write_bytes(bytes([i, len(s)]) + block)
            n += 1
    print(f"textcoder seeds: {n}")


if __name__ == "__main__":
    from harness import run  # fuzz/ is sys.path[0] when a target runs as a script
    run(_import, check, commands={"--make-seeds": lambda: make_seeds(HERE / "corpus" / "textcoder_seed")})
