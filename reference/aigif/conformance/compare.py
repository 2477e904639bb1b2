"""Comparisons of the conformance runner (conformance/CONTRACT.md §6).

* fields JSON: strict parsing (no NaN, no duplicate keys), then structural
  equality where numbers follow SPEC.md §17 — an expected integer (seed,
  height, …) needs the same integer; an expected float (a ``dec`` field)
  needs a JSON number that parses to the same binary64 (``7`` matches
  ``7.0``; ``0`` does not match ``-0.0``); booleans are not numbers.
* noise: 8-hex-digit float32 bit patterns, equal value by value.
* images: PSNR over 8-bit RGB as SPEC.md §12.8 defines it.
"""
from __future__ import annotations

import json
import math
import re
import struct
from typing import Any

HEX32 = re.compile(r"^[0-9a-fA-F]{8}$")


class BadJSON(ValueError):
    pass


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise BadJSON(f"duplicate key {k!r}")
        d[k] = v
    return d


def _constant(name):
    raise BadJSON(f"{name} is not JSON")


def loads_strict(text: str) -> Any:
    """RFC 8259 JSON: one value, no NaN/Infinity, no duplicate keys."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except BadJSON:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJSON(str(exc)) from None


def _f64(x: float) -> bytes:
    return struct.pack(">d", x)


def _show(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, float) else repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """None when ``actual`` equals ``expected`` under the rules above, else a
    one-line description starting with the path of the first difference
    (object keys in the expected order, then extra keys)."""
    where = path or "(top level)"
    ek, ak = _kind(expected), _kind(actual)
    if ek != ak:
        return f"{where}: expected {ek} {_show(expected)}, got {ak} {_show(actual)}"
    if ek == "object":
        for k, v in expected.items():
            if k not in actual:
                return f"{_join(path, k)}: missing (expected {_show(v)})"
            diff = first_difference(v, actual[k], _join(path, k))
            if diff:
                return diff
        extra = [k for k in actual if k not in expected]
        if extra:
            return f"{_join(path, extra[0])}: unexpected member (value {_show(actual[extra[0]])})"
        return None
    if ek == "array":
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = first_difference(e, a, _join(path, i))
            if diff:
                return diff
        if len(expected) != len(actual):
            return f"{where}: expected {len(expected)} elements, got {len(actual)}"
        return None
    if ek == "number":
        if isinstance(expected, int):
            if not isinstance(actual, int) or actual != expected:
                return f"{where}: expected integer {expected}, got {_show(actual)}"
            return None
        try:
            same = _f64(float(actual)) == _f64(expected)
        except OverflowError:
            same = False
        if not same:
            return f"{where}: expected {expected!r}, got {_show(actual)}"
        return None
    if expected != actual:
        return f"{where}: expected {_show(expected)}, got {_show(actual)}"
    return None


def noise_difference(expected: list[str], actual: Any) -> str | None:
    """None when ``actual`` is a JSON array of the same float32 bit patterns."""
    if not isinstance(actual, list):
        return f"expected a JSON array of {len(expected)} hex strings, got {_kind(actual)}"
    for i, a in enumerate(actual):
        if not isinstance(a, str) or not HEX32.match(a):
            return f"value[{i}]: {_show(a)} is not an 8-hex-digit float32 bit pattern"
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e.lower() != a.lower():
            return f"value[{i}]: expected {e} ({hex_to_f32(e)!r}), got {a.lower()} ({hex_to_f32(a)!r})"
    if len(actual) != len(expected):
        return f"expected {len(expected)} values, got {len(actual)}"
    return None


def hex_to_f32(h: str) -> float:
    return struct.unpack(">f", bytes.fromhex(h))[0]


def psnr(a: bytes, b: bytes) -> float:
    """SPEC.md §12.8: PSNR in dB over all bytes of two 8-bit RGB images of the
    same size; ``math.inf`` when identical."""
    if len(a) != len(b):
        raise ValueError("images differ in size")
    if a == b:
        return math.inf
    try:
        import numpy as np
    except ImportError:
        sq = sum((x - y) * (x - y) for x, y in zip(a, b))
    else:  # the same exact integer sum, faster
        d = np.frombuffer(a, np.uint8).astype(np.int64) - np.frombuffer(b, np.uint8).astype(np.int64)
        sq = int(np.dot(d, d))
    return 10 * math.log10(255.0 ** 2 / (sq / len(a)))
