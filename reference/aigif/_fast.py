"""The optional accelerator of :func:`aigif.codec.read` and ``validate``.

``aigif._speedups`` (C, built by ``setup.py`` when a compiler is there) is a
second implementation of the *accepting* path of SPEC.md §9 for the common
files: the container (§4), the core (§5), no sections (§6), and the text
coders ``none`` (§7.2), ``deflate`` (§7.3: a fixed-Huffman inflater, then the
canonical deflater of ``text/deflate.py`` compared byte for byte) and
``prompt`` (§7.4, Appendix E). The core's fields
come from the registry: :func:`program` compiles the registry's tables and
field descriptors into the tables the C reader walks, so the accelerator
names no model, device or scheduler either.

The file reader never decides an error. For a file it does not accept --
any invalid file, and any valid one with a part it does not implement (a
section, a ``dec`` written as binary64, coder modules other than these
three) -- it answers "not here" and the Python reference reads the file,
which gives the code, offset and message. Two pieces are also used by the
reference itself, as drop-in implementations of the same functions: the
prompt decoder (``text/prompt.py`` ``decode``: the strings, or the error code
and message of the check of Appendix E that fails first, or "not here" for
what it does not decide) and the canonical deflater (``text/deflate.py``),
so a rejected file costs no more than an accepted one (SPEC.md §16).

So ``read`` and ``validate`` give the same result with and without it
(``tests/test_speedups.py`` checks this over the vectors, the fuzz corpora,
mutations and generated files). The Python modules stay the normative,
readable implementation.

``AIGIF_PURE=1`` in the environment (read at import) turns it off.
"""
from __future__ import annotations

import os
import weakref
from typing import Any

from .registry import Registry, load

try:
    if os.environ.get("AIGIF_PURE", "") not in ("", "0"):
        raise ImportError("AIGIF_PURE is set")
    from . import _speedups  # type: ignore[attr-defined]
except ImportError:
    _speedups = None

ENABLED = _speedups is not None

#: text coder module -> the C reader's coder number (others: the reference reads the file)
_CODERS = {"aigif.text.none": 0, "aigif.text.deflate": 1, "aigif.text.prompt": 2}
_CODINGS = {"u4": 0, "ue": 1, "exp-code": 2}
_OPS = {"bool": 0, "uint": 1, "dec": 2, "ref": 3, "bytes": 4}

_programs: weakref.WeakKeyDictionary[Registry, Any] = weakref.WeakKeyDictionary()


def _keys(table, kind: str | None = None) -> list:
    """id -> key (None where the ID is unknown, or a scheduler of another kind)."""
    out: list = [None] * (max(table.by_id, default=-1) + 1)
    for ident, e in table.by_id.items():
        if kind and e.get("kind") not in (None, "any", kind):
            continue
        out[ident] = e["key"]
    return out


def _fields(reg: Registry, fields, kind: str | None = None) -> list | None:
    """The C reader's field list (SPEC.md §8.3 descriptors), or None if it has a type it does not read."""
    out: list[tuple] = []
    for f in fields:
        if f.type == "str":  # core strings live in the text block
            continue
        op = _OPS.get(f.type)
        if op is None:
            return None
        if f.type == "uint":
            if isinstance(f.min, bool) or not isinstance(f.min, int) or not isinstance(f.max, int) or not -(1 << 62) < f.min <= f.max < 1 << 62:
                return None
            out.append((f.name, op, f.min, f.max, None, 0))
        elif f.type == "dec":
            lo, hi = f.min, f.max
            if any(x is not None and (isinstance(x, bool) or not isinstance(x, (int, float)) or float(x) != x) for x in (lo, hi)):
                return None
            out.append((f.name, op, None if lo is None else float(lo), None if hi is None else float(hi), None, 0))
        elif f.type == "ref":
            out.append((f.name, op, None, None, _keys(reg.table(f.table), kind if f.table == "schedulers" else None),
                        _CODINGS[reg.coded_as(f.table)]))
        elif f.type == "bytes":
            if not isinstance(f.max_len, int) or not 0 <= f.max_len < 1 << 62:
                return None
            out.append((f.name, op, f.max_len, None, None, 0))
        else:
            out.append((f.name, op, None, None, None, 0))
    return out


def _compile(reg: Registry):
    coders = load().table("text_coders").by_key  # text.coder() finds modules in the default registry
    tc = reg.table("text_coders")
    tc_keys = _keys(tc)
    tc_kinds = [-1 if k is None else _CODERS.get((coders.get(k) or {}).get("module") or "", -1) for k in tc_keys]
    devices = reg.table("devices")
    dev_keys = _keys(devices)
    dev_fields = [None if k is None else _fields(reg, reg.device_fields(k)) for k in dev_keys]
    models = reg.table("models")
    model_keys = _keys(models)
    infos: list = []
    for k in model_keys:
        if k is None:
            infos.append(None)
            continue
        fam = reg.family_of(k)
        ff = _fields(reg, fam.fields, fam.raw["scheduler_kind"])
        mf = _fields(reg, reg.model_fields(k))
        infos.append(None if ff is None or mf is None else (ff, mf, reg.size_multiple(k), len(reg.string_fields(k))))
    spec = (tc_keys, tc_kinds, dev_keys, dev_fields, model_keys, infos,
            _keys(reg.table("dtypes")), _keys(reg.table("noise_sources")),
            tuple(_CODINGS[reg.coded_as(t)] for t in ("text_coders", "devices", "models", "dtypes", "noise_sources")))
    return _speedups.compile(spec)


def program(reg: Registry):
    p = _programs.get(reg)
    if p is None:
        p = _programs[reg] = _compile(reg)
    return p


_model: Any = None


def prompt_model():
    """The C prompt model, from the model file the Python coder checks against its SHA-256;
    None if that file cannot be used (the reference then reports E_UNSUPPORTED)."""
    global _model
    if _model is None:
        from .text import prompt
        try:
            _model = _speedups.load_model(prompt.model_blob())
        except (OSError, RuntimeError, ValueError):
            _model = False
    return _model or None


def read(data, reg: Registry, build: bool = True):
    """None (the reference must read ``data``), True (valid; when not ``build``) or the values
    of the file: (text_coder, device, platform, model, dtype, noise, height, width, seed,
    fields, model_fields, strings)."""
    p = _programs.get(reg)
    if p is None:
        p = program(reg)
    m = _model
    if m is None:
        m = prompt_model()
    return _speedups.read(data, p, m or None, build)
