"""Text printed for people, made safe to print (SPEC.md §16).

File names, prompts, the ``software`` extension, importer values and a
decoder's stderr are attacker-chosen. Printed raw they can forge lines (a file
name with a newline prints a fake ``valid`` line), drive the terminal (ESC and
C1 sequences), reorder what is shown (bidirectional overrides) or, as the
undecodable bytes of a non-UTF-8 file name, raise UnicodeEncodeError under a
strict UTF-8 stdout. :func:`printable` is the one escape every tool uses;
:func:`json_text` does the same for JSON written to a terminal or a log, with
JSON escapes, so the value a program reads back is unchanged.
"""
from __future__ import annotations

import json
import re
from typing import Any

# C0 and C1 controls, DEL, line/paragraph separators, bidirectional controls, and
# lone surrogates (what surrogateescape makes of bytes that are not UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What json.dumps(ensure_ascii=False) leaves raw among those (it escapes C0 itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    c = m.group()
    o = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte of a file name: show the byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def printable(s: object, keep: str = "") -> str:
    """``str(s)`` with every control character, bidirectional control and lone
    surrogate escaped (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff``); characters in
    ``keep`` (e.g. ``"\\n\\t"`` for multi-line text) are left as they are."""
    text = str(s)
    if text.isprintable():  # the common case: nothing to do
        return text
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def json_text(obj: Any, **kw: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kw)`` with the characters above
    written as ``\\uXXXX`` escapes: the same JSON value, safe on a terminal and
    encodable as strict UTF-8."""
    text = json.dumps(obj, ensure_ascii=False, **kw)
    if text.isascii() and "\x7f" not in text:  # isascii() is O(1): a payload's base64 is not scanned twice
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
