"""Typed values out of what a tool wrote: one set of rules, the strictness per tool.

Tools disagree on how numbers are written: NovelAI and ComfyUI write JSON
numbers, InvokeAI sometimes writes decimal strings, Fooocus writes its
64-bit seed as a string (and is read as leniently as Python reads numbers),
A1111 writes nothing but text. A :class:`Coercer` says which of these forms
a reader accepts; everything else is ``E_IMPORT_MALFORMED``, never a guess.
"""
from __future__ import annotations

import builtins
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import malformed

RE_INT = re.compile(r"^-?\d{1,40}\Z")
RE_NUMBER = re.compile(r"^-?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][-+]?\d{1,3})?\Z")

#: How a number written as a string is read.
NO_STRINGS = "none"        # a string is not a number
DECIMAL = "decimal"        # exactly RE_INT / RE_NUMBER: what A1111 and InvokeAI write
LENIENT = "lenient"        # surrounding spaces allowed, and any float() text for non-integers


def integral(v: Any) -> int | None:
    """A JSON integer (or a float with an integer value) as int; None for anything else."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def real(v: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (a 4000-digit integer overflows a
    float, and ``1e999`` parses as infinity: neither is a setting a tool could have used)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Coercer:
    """Typed fields for one tool. ``label`` starts every message ("NovelAI", "A1111 parameter")."""

    label: str
    strings: str = NO_STRINGS
    #: whether JSON numbers are numbers (A1111 infotext has only text)
    numbers: bool = True

    def _fail(self, key: str, v: Any, what: str):
        return malformed(f"{self.label} {key} is not {what}: {str(v)[:40]!r}")

    def int(self, v: Any, key: str) -> int | None:
        if v is None:
            return None
        if isinstance(v, str) and self.strings != NO_STRINGS:
            s = v.strip() if self.strings == LENIENT else v
            if RE_INT.match(s):
                return int(s)
        elif self.numbers and integral(v) is not None:
            return integral(v)
        raise self._fail(key, v, "an integer")

    def float(self, v: Any, key: str) -> float | None:
        if v is None:
            return None
        if isinstance(v, str):
            if self.strings == DECIMAL and RE_NUMBER.match(v) and math.isfinite(float(v)):
                return float(v)
            if self.strings == LENIENT:
                try:
                    f = float(v)
                except ValueError:
                    f = math.nan
                if math.isfinite(f):
                    return f
        elif self.numbers and real(v) is not None:
            return real(v)
        raise self._fail(key, v, "a number")

    def str(self, v: Any, key: str) -> str | None:
        if v is None or isinstance(v, str):
            return v
        raise self._fail(key, v, "a string")

    # builtins.str from here on: `str` in the class body is now the method above
    def typed(self, v: Any, kind: builtins.str, key: builtins.str) -> Any:
        """``kind`` is "int", "float" or "str": the field tables of the readers name the type."""
        return getattr(self, kind)(v, key)

    def fill(self, gen: Any, data: dict, fields: dict[builtins.str, tuple[builtins.str, builtins.str]]) -> None:
        """Set ``gen``'s typed fields from ``data`` by a reader's table: key -> (field, kind)."""
        for key, (attr, kind) in fields.items():
            if data.get(key) is not None:
                setattr(gen, attr, self.typed(data[key], kind, key))


def size(value: Any, pattern: re.Pattern[str], what: str, form: str = "a size") -> tuple[int, int]:
    """(width, height) from a size string a tool wrote (``pattern`` has the two as groups 1 and 2);
    anything else is E_IMPORT_MALFORMED: "``what`` 'first 40 characters' is not ``form``"."""
    m = pattern.match(value) if isinstance(value, str) else None
    if not m:
        raise malformed(f"{what} {str(value)[:40]!r} is not {form}")
    return int(m.group(1)), int(m.group(2))


#: Nesting depth of a tool's JSON (real metadata: under 10). json.loads alone allows ~1000 levels, and
#: what a reader keeps of them (``extra``) then breaks every recursive walk after it (``to_dict``).
MAX_JSON_DEPTH = 100


def _too_deep(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    level, depth = [data], 1  # level by level: no recursion, one list comprehension per level
    while level:
        if depth > limit:
            return True
        level = [v for c in level for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, (dict, list))]
        depth += 1
    return False


def load_json_object(text: str, what: str) -> dict:
    """The JSON object a tool wrote; anything else (bad JSON, too deep, a list) is E_IMPORT_MALFORMED."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise malformed(f"{what} JSON is nested too deeply") from None
    except ValueError:
        raise malformed(f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise malformed(f"{what} is not a JSON object")
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _too_deep(data):
        raise malformed(f"{what} JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    return data
