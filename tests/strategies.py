"""Hypothesis strategies for valid AIGIF files, driven by the registry."""
from __future__ import annotations

from hypothesis import strategies as st

from aigif import jsonform
from aigif.file import Extension
from aigif.registry import load

REG = load()
MODELS = [m["key"] for m in REG.table("models").entries]
SCHEDULERS = REG.table("schedulers").entries

text = st.text(max_size=40)
floats_nice = st.sampled_from([0.0, 1.0, 6.3, 7.5, 0.1, 1e-7, 12.25, 99.999999, 100.0, 3.0000000000000004, 2.675])


def field_value(f, kind):
    if f.type == "uint":
        return st.integers(f.min, f.max)
    if f.type == "dec":
        lo, hi = f.min, f.max
        return st.one_of(floats_nice.filter(lambda x: lo <= x <= hi), st.floats(lo, hi, allow_nan=False, allow_infinity=False),
                         st.decimals(lo, hi, places=st.integers(0, 8).example() if False else 3).map(float))
    if f.type == "ref" and f.table == "schedulers":
        return st.sampled_from([s["key"] for s in SCHEDULERS if s["kind"] in ("any", kind)])
    if f.type == "ref":
        return st.sampled_from([e["key"] for e in REG.table(f.table).entries])
    if f.type == "bytes":
        return st.binary(max_size=f.max_len)
    if f.type == "str":
        return text
    if f.type == "bool":
        return st.booleans()
    raise AssertionError(f.type)


@st.composite
def aigif_files(draw, coders=("none", "deflate"), sections=True):
    model = draw(st.sampled_from(MODELS))
    fam = REG.family_of(model)
    g = fam.size_multiple
    kind = fam.raw["scheduler_kind"]
    h = draw(st.integers(1, 16384 // g)) * g
    w = draw(st.integers(1, 16384 // g)) * g
    fields = {f.name: draw(field_value(f, kind)) for f in fam.fields}
    mfields = {f.name: draw(field_value(f, kind)) for f in REG.model_fields(model)}
    device = draw(st.sampled_from([d["key"] for d in REG.table("devices").entries]))
    platform = {f.name: draw(field_value(f, kind)) for f in REG.device_fields(device)}
    f = jsonform.new(model, height=h, width=w, seed=draw(st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1))),
                     prompt=draw(text), negative_prompt=draw(text), device=device, platform=platform,
                     dtype=draw(st.sampled_from(["float32", "float16", "bfloat16"])),
                     noise=draw(st.sampled_from([n["key"] for n in REG.table("noise_sources").entries])),
                     text_coder=draw(st.sampled_from(coders)))
    f.fields.update(fields)
    f.model_fields.update(mfields)
    if sections:
        if draw(st.booleans()):
            f.digest = draw(st.sampled_from([8, 16, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
        if draw(st.booleans()):
            tags = draw(st.sets(st.integers(0, 300), max_size=4))
            exts = [Extension(t, draw(st.binary(max_size=12))) for t in tags if t not in REG.extensions.by_id and not t & 1]
            if draw(st.booleans()):
                exts.append(Extension(2, b"", "software", {"torch": draw(text), "diffusers": "0.42.1", "transformers": "", "cpu": "", "writer": "aigif"}))
            f.extensions = sorted(exts, key=lambda e: e.tag)  # the canonical order
    return f
