"""construct definitions generated from the registry (SPEC.md §5, §6.2).

Nothing here names a model, device or scheduler: the core's platform and
model-dependent fields are ``Switch`` es built from the registry's field
descriptors, so adding a model or family is a registry change.
"""
from __future__ import annotations

import functools

from construct import Struct, Subconstruct, Switch, this

from . import wire
from .errors import AigifError
from .registry import UE_TABLES, Field, Registry, U4_TABLES

MAX_SIDE = 16384


class Ref(wire._Prim):
    """A registry reference (SPEC.md §3.9): u(4), ue or exp-code, as the table
    says; parses to the key."""

    def __init__(self, reg: Registry, table: str, fname: str, kind: str | None = None):
        super().__init__()
        self.t = reg.table(table)
        self.coding = "u4" if table in U4_TABLES else "ue" if table in UE_TABLES else "exp-code"
        self.fname = fname
        self.kind = kind  # for schedulers: the family's scheduler kind

    def _p(self, stream, start):
        if self.coding == "u4":
            ident = wire.read_bits(stream, 4, start)
        elif self.coding == "ue":
            ident = wire._read_ue(stream, start)
        else:
            ident = wire.ExpCode()._p(stream, start)
        e = self.t.by_id.get(ident)
        if e is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.fname}: {self.t.name} ID {ident} is not in this decoder's registry", bit=start)
        self._check_kind(e, start)
        return e["key"]

    def _check_kind(self, e, start):
        if self.kind and e.get("kind") not in (None, "any", self.kind):
            raise AigifError("E_RANGE", f"{self.fname}: {e['key']} is a {e['kind']} scheduler; this family needs {self.kind}", bit=start)

    def _b(self, key):
        e = self.t.by_key.get(key)
        if e is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.fname}: {self.t.name} has no entry {key!r}")
        self._check_kind(e, None)
        if self.coding == "u4":
            return wire.bits_of(e["id"], 4)
        return wire.ue_bits(e["id"]) if self.coding == "ue" else wire.ExpCode()._b(e["id"])


SIZE_UNIT = 64  # most tools use multiples of 64: then sizes are coded in these units (SPEC.md §5)


def size_unit(reg: Registry, model: str, h: int, w: int) -> int:
    g = reg.size_multiple(model)
    return SIZE_UNIT if h % SIZE_UNIT == 0 and w % SIZE_UNIT == 0 and SIZE_UNIT % g == 0 else g


class Size(wire._Prim):
    """``size_unit`` u(1), height ue(h/U − 1), width se((w − h)/U) (SPEC.md §5);
    parses to (height, width)."""

    def __init__(self, reg: Registry):
        super().__init__()
        self.reg = reg

    def _parse(self, stream, context, path):
        g = self.reg.size_multiple(context.model)
        start = stream.tell()
        u = SIZE_UNIT if wire.read_bits(stream, 1, start) else g
        hstart = stream.tell()
        h = (wire._read_ue(stream, hstart) + 1) * u
        if h > MAX_SIDE:
            raise AigifError("E_RANGE", f"height {h} is above {MAX_SIDE}", bit=hstart)
        wstart = stream.tell()
        w = h + wire.ue_to_se(wire._read_ue(stream, wstart)) * u
        if not g <= w <= MAX_SIDE:
            raise AigifError("E_RANGE", f"width {w} is outside [{g}, {MAX_SIDE}]", bit=wstart)
        if u != SIZE_UNIT and size_unit(self.reg, context.model, h, w) == SIZE_UNIT:
            raise AigifError("E_NONCANONICAL", f"size {w}x{h} is a multiple of {SIZE_UNIT} but coded in units of {g}", bit=start)
        return h, w

    def _build(self, hw, stream, context, path):
        h, w = hw
        g = self.reg.size_multiple(context.model)
        check_side("height", h, g)
        check_side("width", w, g)
        u = size_unit(self.reg, context.model, h, w)
        stream.write(wire.bits_of(1 if u == SIZE_UNIT else 0, 1))
        stream.write(wire.ue_bits(h // u - 1) + wire.ue_bits(wire.se_to_ue((w - h) // u)))
        return hw


def check_side(name: str, v, g: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not g <= v <= MAX_SIDE or v % g:
        raise AigifError("E_RANGE", f"{name} {v!r} must be a multiple of {g} in [{g}, {MAX_SIDE}]")


INLINE_STR_MAX = 65536  # bytes of an inline ``str`` (extension bodies)


def field_max_bits(f: Field) -> int:
    """The most bits the reader of one field descriptor consumes before it
    returns or raises (SPEC.md §3): lets a caller expand only that much of a
    body to bits without changing any result or error."""
    ue = 2 * wire.EXPGOLOMB_MAX_ZEROS + 1
    if f.type == "uint":
        return ue
    if f.type == "dec":
        return 3 + max(64, ue)
    if f.type == "ref":
        return 4 if f.table in U4_TABLES else ue if f.table in UE_TABLES else 8 * wire.EXPCODE_MAX_UNITS
    if f.type == "bytes":
        return ue + 8 * f.max_len
    if f.type == "str":
        return ue + 8 * INLINE_STR_MAX
    if f.type == "bool":
        return 1
    raise ValueError(f"unknown field type {f.type}")


@functools.lru_cache(maxsize=8)
def extension_max_bytes(reg: Registry) -> dict:
    """tag -> the most bytes of its body a registered extension's fields (and padding) can use."""
    return {e["tag"]: (sum(field_max_bits(Field.from_json(f)) for f in e["fields"]) + 7) // 8
            for e in reg.extensions.entries}


def field_construct(reg: Registry, f: Field, kind: str | None = None):
    """The construct for one bit-coded field descriptor (SPEC.md §8.3)."""
    if f.type == "uint":
        return wire.UInt(f.name, f.min, f.max)
    if f.type == "dec":
        return wire.Dec(f.name, f.min, f.max)
    if f.type == "ref":
        return Ref(reg, f.table, f.name, kind if f.table == "schedulers" else None)
    if f.type == "bytes":
        return wire.BytesField(f.name, f.max_len)
    if f.type == "str":  # inline strings: extension bodies only
        return wire.BytesField(f.name, INLINE_STR_MAX, text=True)
    if f.type == "bool":
        return wire.Bool()
    raise ValueError(f"unknown field type {f.type}")


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


def _leaf(name: str, con, trace: bool):
    return name / (Traced(name, con) if trace else con)


def fields_struct(reg: Registry, fields: list[Field], kind: str | None = None, inline_str: bool = False, trace: bool = False):
    return Struct(*[_leaf(f.name, field_construct(reg, f, kind), trace) for f in fields if inline_str or f.type != "str"])


@functools.lru_cache(maxsize=8)
def core_struct(reg: Registry, trace: bool = False):
    """The core of SPEC.md §5 as one bit-mode construct."""
    models = reg.table("models")
    platform = {d["key"]: fields_struct(reg, reg.device_fields(d["key"]), trace=trace) for d in reg.table("devices").entries}
    family = {m["key"]: fields_struct(reg, reg.family_of(m["key"]).fields, reg.family_of(m["key"]).raw["scheduler_kind"], trace=trace)
              for m in models.entries}
    model_fields = {m["key"]: fields_struct(reg, reg.model_fields(m["key"]), trace=trace) for m in models.entries}
    L = lambda name, con: _leaf(name, con, trace)  # noqa: E731
    return Struct(
        L("saving_pixels", wire.Bool()),
        L("saving_model", wire.Bool()),
        L("has_digest", wire.Bool()),
        L("has_extensions", wire.Bool()),
        L("text_coder", Ref(reg, "text_coders", "text_coder")),
        L("device", Ref(reg, "devices", "device")),
        "platform" / Switch(this.device, platform),
        L("model", Ref(reg, "models", "model")),
        L("dtype", Ref(reg, "dtypes", "dtype")),
        L("noise", Ref(reg, "noise_sources", "noise")),
        L("size", Size(reg)),
        L("seed", wire.Seed()),
        "fields" / Switch(this.model, family),
        "model_fields" / Switch(this.model, model_fields),
    )


@functools.lru_cache(maxsize=8)
def extension_structs(reg: Registry) -> dict:
    return {e["tag"]: fields_struct(reg, [Field.from_json(f) for f in e["fields"]], inline_str=True)
            for e in reg.extensions.entries}


@functools.lru_cache(maxsize=8)
def compiled_core(reg: Registry):
    """construct's compiled parser of the core: the same definition, about 2.5×
    faster to parse (custom fields run as linked instances)."""
    return core_struct(reg).compile()
