"""The core (SPEC.md §5): one run of bit fields, then zero padding.

The table of §5 is :func:`core_struct`, a construct ``Struct`` whose
platform and model-dependent parts are ``Switch`` es built from the
registry's field descriptors: nothing here names a model, device or
scheduler. :func:`read_core` and :func:`write_core` are the two directions.
"""
from __future__ import annotations

import functools

from construct import Struct, Switch, this

from . import wire
from .errors import AigifError
from .fields import Ref, fields_struct, leaf, plain
from .registry import Registry

MAX_SIDE = 16384  # SPEC.md §11
SIZE_UNIT = 64  # most tools use multiples of 64: then sizes are coded in these units (SPEC.md §5)


def size_unit(reg: Registry, model: str, h: int, w: int) -> int:
    g = reg.size_multiple(model)
    return SIZE_UNIT if h % SIZE_UNIT == 0 and w % SIZE_UNIT == 0 and SIZE_UNIT % g == 0 else g


def check_side(name: str, v, g: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not g <= v <= MAX_SIDE or v % g:
        raise AigifError("E_RANGE", f"{name} {v!r} must be a multiple of {g} in [{g}, {MAX_SIDE}]")


class Size(wire.Prim):
    """``size_unit`` u(1), height ue(h/U − 1), width se((w − h)/U); parses to (height, width)."""

    def __init__(self, reg: Registry):
        super().__init__()
        self.reg = reg

    def _parsereport(self, stream, context, path):  # needs the context (the model), unlike wire.Prim.read
        g = self.reg.size_multiple(context.model)
        start = stream.tell()
        u = SIZE_UNIT if stream.uint(1, start) else g
        hstart = stream.tell()
        h = (stream.ue(hstart) + 1) * u
        if h > MAX_SIDE:
            raise stream.error("E_RANGE", f"height {h} is above {MAX_SIDE}", hstart)
        wstart = stream.tell()
        w = h + wire.ue_to_se(stream.ue(wstart)) * u
        if not g <= w <= MAX_SIDE:
            raise stream.error("E_RANGE", f"width {w} is outside [{g}, {MAX_SIDE}]", wstart)
        if u != SIZE_UNIT and size_unit(self.reg, context.model, h, w) == SIZE_UNIT:
            raise stream.error("E_NONCANONICAL", f"size {w}x{h} is a multiple of {SIZE_UNIT} but coded in units of {g}", start)
        return h, w

    _parse = _parsereport

    def _build(self, hw, stream, context, path):
        h, w = hw
        g = self.reg.size_multiple(context.model)
        check_side("height", h, g)
        check_side("width", w, g)
        u = size_unit(self.reg, context.model, h, w)
        stream.write(1 if u == SIZE_UNIT else 0, 1)
        wire.write_ue(stream, h // u - 1)
        wire.write_ue(stream, wire.se_to_ue((w - h) // u))
        return hw


@functools.lru_cache(maxsize=8)
def core_struct(reg: Registry, trace: bool = False):
    """The core of SPEC.md §5, field by field in the table's order."""
    models = reg.table("models").entries
    platform = {d["key"]: fields_struct(reg, reg.device_fields(d["key"]), trace=trace) for d in reg.table("devices").entries}
    family = {m["key"]: fields_struct(reg, reg.family_of(m["key"]).fields, reg.family_of(m["key"]).raw["scheduler_kind"], trace=trace)
              for m in models}
    model_fields = {m["key"]: fields_struct(reg, reg.model_fields(m["key"]), trace=trace) for m in models}

    def L(name, con):
        return leaf(name, con, trace)

    return Struct(
        # Part 1: compression options
        L("saving_pixels", wire.Bool()),
        L("saving_model", wire.Bool()),
        L("has_digest", wire.Bool()),
        L("has_extensions", wire.Bool()),
        L("text_coder", Ref(reg, "text_coders", "text_coder")),
        # Part 2: platform
        L("device", Ref(reg, "devices", "device")),
        "platform" / Switch(this.device, platform),
        # Part 3: generative model
        L("model", Ref(reg, "models", "model")),
        L("dtype", Ref(reg, "dtypes", "dtype")),
        L("noise", Ref(reg, "noise_sources", "noise")),
        # Part 4: data configuration
        L("size", Size(reg)),
        L("seed", wire.Seed()),
        # model-dependent fields: the family's, then the model entry's
        "fields" / Switch(this.model, family),
        "model_fields" / Switch(this.model, model_fields),
    )


@functools.lru_cache(maxsize=8)
def compiled_core(reg: Registry):
    """construct's compiled parser of the same definition: about 2.5× faster
    (the custom fields run as linked instances)."""
    return core_struct(reg).compile()


def read_core(reg: Registry, data: bytes, start: int, end: int, trace: list | None = None) -> tuple[dict, int]:
    """Parse the core from byte ``start`` of ``data`` (the body ends at ``end``);
    returns (its values by field name, the byte after its padding). The
    platform, family and model fields come as dicts of their own."""
    stream = wire.BitReader(data, start, end)
    if trace is None:  # the compiled parser's results hold the fields and nothing else
        core = dict(wire.parse(compiled_core(reg), stream))
        for part in ("platform", "fields", "model_fields"):
            core[part] = dict(core[part])
    else:
        parsed = wire.parse(core_struct(reg, trace=True), stream, trace=trace)
        core = plain(parsed)
        for part in ("platform", "fields", "model_fields"):
            core[part] = plain(parsed[part])
    pad_at = stream.tell()
    if not stream.padding_is_zero():
        raise stream.error("E_NONZERO_PADDING", "padding bits after the core are not zero", pad_at)
    return core, start + stream.bytes_used()


def write_core(reg: Registry, values: dict) -> bytes:
    """The core's bytes, padded with zero bits (SPEC.md §3.10)."""
    w = wire.BitWriter()
    core_struct(reg).build_stream(values, w)
    return w.getvalue()
