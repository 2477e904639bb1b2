"""Registry-driven fields: ``ref`` (SPEC.md §3.9) and field descriptors (§8.3).

A field descriptor of the registry (in ``families``, ``models``, ``devices``,
``extensions``) becomes a construct here; the core (``core.py``) and the
extension bodies (``sections.py``) are built from them, so adding a model,
family, device or extension is a registry change, not a code change.
"""
from __future__ import annotations

from construct import Struct, Subconstruct

from . import wire
from .errors import AigifError
from .registry import Field, Registry

INLINE_STR_MAX = 65536  # bytes of an inline ``str`` (extension bodies), SPEC.md §3.8


#: a table's ``coded_as`` -> the code of its IDs (SPEC.md §3.9)
CODINGS = {"u4": wire.UBits(4), "ue": wire.UE(), "exp-code": wire.ExpCode()}


class Ref(wire.Prim):
    """A registry reference, coded as its table's ``coded_as`` says
    (``u4``, ``ue`` or ``exp-code``); parses to the entry's key."""

    def __init__(self, reg: Registry, table: str, fname: str, kind: str | None = None):
        super().__init__()
        self.t = reg.table(table)
        self.coding = reg.coded_as(table)
        self.code = CODINGS[self.coding]
        self.fname = fname
        self.kind = kind  # for schedulers: the family's scheduler kind

    def _kind_mismatch(self, e: dict) -> str | None:
        if self.kind and e.get("kind") not in (None, "any", self.kind):
            return f"{self.fname}: {e['key']} is a {e['kind']} scheduler; this family needs {self.kind}"
        return None

    def read(self, stream, *_):
        start = stream.pos
        ident = self.code.read(stream)
        e = self.t.by_id.get(ident)
        if e is None:
            raise stream.error("E_UNKNOWN_ID", f"{self.fname}: {self.t.name} ID {ident} is not in this decoder's registry", start)
        bad = self._kind_mismatch(e)
        if bad:
            raise stream.error("E_RANGE", bad, start)
        return e["key"]

    def write(self, w, key):
        e = self.t.by_key.get(key)
        if e is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.fname}: {self.t.name} has no entry {key!r}")
        bad = self._kind_mismatch(e)
        if bad:
            raise AigifError("E_RANGE", bad)
        self.code.write(w, e["id"])


def _uint(reg, f, kind):
    return wire.UInt(f.name, f.min, f.max)


def _dec(reg, f, kind):
    return wire.Dec(f.name, f.min, f.max)


def _ref(reg, f, kind):
    return Ref(reg, f.table, f.name, kind if f.table == "schedulers" else None)


def _bytes(reg, f, kind):
    return wire.BytesField(f.name, f.max_len)


def _str(reg, f, kind):  # inline strings: extension bodies only (core strings live in the text block)
    return wire.BytesField(f.name, INLINE_STR_MAX, text=True)


def _bool(reg, f, kind):
    return wire.Bool()


#: SPEC.md §8.3: descriptor type -> its construct
FIELD_TYPES = {"uint": _uint, "dec": _dec, "ref": _ref, "bytes": _bytes, "str": _str, "bool": _bool}


def field_construct(reg: Registry, f: Field, kind: str | None = None):
    """The construct for one field descriptor."""
    try:
        make = FIELD_TYPES[f.type]
    except KeyError:
        raise ValueError(f"unknown field type {f.type}") from None
    return make(reg, f, kind)


class Traced(Subconstruct):
    """Records (path, first bit, end bit, value) of a leaf field into the
    ``trace`` list passed to ``parse_stream`` — for ``aigif info --bits``."""

    def __init__(self, name: str, subcon):
        super().__init__(subcon)
        self.label = name

    def _parse(self, stream, context, path):
        start = stream.tell()
        obj = self.subcon._parsereport(stream, context, path)
        trace = context._params.get("trace")
        if trace is not None:
            trace.append((path.replace("(parsing) -> ", "").replace(" -> ", "."), start, stream.tell(), obj))
        return obj

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


def leaf(name: str, con, trace: bool):
    return name / (Traced(name, con) if trace else con)


def fields_struct(reg: Registry, fields: list[Field], kind: str | None = None, inline_str: bool = False, trace: bool = False):
    """A Struct of the bit-coded fields of a descriptor list; ``str`` fields
    are skipped unless ``inline_str`` (in the core they live in the text block)."""
    return Struct(*[leaf(f.name, field_construct(reg, f, kind), trace) for f in fields if inline_str or f.type != "str"])


def plain(obj) -> dict:
    """A parsed construct Container -> a plain dict, without construct's private keys
    (the compiled parser's results have none; the interpreted one's have ``_io``)."""
    return {k: v for k, v in obj.items() if k[0] != "_"}
