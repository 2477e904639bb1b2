#!/usr/bin/env python3
"""atheris target (structure-aware): the writer, ``codec.write``, on hostile in-memory files.

    python fuzz/fuzz_writer.py --make-seeds
    nice -n 19 python fuzz/fuzz_writer.py fuzz/corpus/writer fuzz/corpus/writer_seed \
        -runs=1000000 -max_len=2048 -timeout=60 -rss_limit_mb=2048 -artifact_prefix=fuzz/artifacts/writer-

The input bytes are not a file: :class:`harness.Draw` turns them into an
:class:`~aigif.file.AigifFile` (``build``): any model, device, text coder,
size and seed; family, model and platform fields; prompt, negative prompt
and every family / model string (``prompt_2``, ``model_name``, ...); the
registered extensions (``prompts``, ``software``, ``source``, ``partial``:
registry/extensions.json) with their string fields, unknown and private
extension tags with raw bodies, a digest. Strings take arbitrary Unicode
(lone surrogates, NUL, controls, lengths on and around SPEC.md §11's 65,536
bytes), numbers arbitrary values (the 2^n boundaries, floats JSON cannot
hold, huge ints, bools, values of the wrong type). The first draw picks the
way in: the ``AigifFile`` directly, or its JSON form through
``jsonform.from_json`` (``aigif pack``).

Contract: ``codec.write`` (and ``from_json``) raise nothing but
:class:`AigifError` with a SPEC.md §10 code (parse codes, or ``E_FIELDS``
for a file whose field names do not fit its model); bytes it produces are
accepted by ``codec.read``, re-write to the same bytes, and carry the same
strings and extension fields (a writer that alters a string silently is a
bug).

``python fuzz/fuzz_writer.py --replay FILE...`` runs the checks without
atheris; ``--make-seeds`` writes ``fuzz/corpus/writer_seed``.
"""
from __future__ import annotations

import math
import os
import traceback
from pathlib import Path

from harness import Draw

HERE = Path(__file__).resolve().parent
#: what write / from_json may raise: SPEC.md §10's parse codes, and the tool code for field names
WRITE_CODES: tuple[str, ...] = ()
#: Not instrumented (no coverage feedback, ~30x faster): the text coders' inner loops, which
#: fuzz_textcoder.py and fuzz_parser.py cover, the accelerator and the registry loader. The writer's
#: own code (codec, core, sections, fields, wire, container, jsonform, text/__init__, framing) is.
UNINSTRUMENTED = ("aigif.text.deflate", "aigif.text.prompt", "aigif.text.none", "aigif._fast", "aigif.registry",
                  "aigif.png", "aigif.conformance")


def _import():
    global AigifError, codec, jsonform, Extension, AigifFile, ModelPayload, PixelPayload, REG, WRITE_CODES, T
    import aigif.text.deflate  # noqa: F401  (imported lazily by text.coder: import here to instrument)
    import aigif.text.none  # noqa: F401
    from aigif import codec, jsonform
    try:
        from aigif.text import prompt
        prompt._load()  # the static model: once, not in the first unit
    except ImportError:
        pass
    from aigif.errors import PARSE_CODES, AigifError
    from aigif.file import AigifFile, Extension, ModelPayload, PixelPayload
    from aigif.registry import load
    REG = load()
    WRITE_CODES = PARSE_CODES + ("E_FIELDS",)
    T = _Tables(REG)


class _Tables:
    """What ``build`` picks from, computed once from the registry."""

    def __init__(self, reg):
        keys = {name: [e["key"] for e in t.entries] for name, t in reg.tables.items()}
        self.keys = keys
        self.models = keys["models"]
        self.devices = keys["devices"]
        # the pure-Python coders cost milliseconds a string: `none` most of the time (the parser target
        # covers the coders' decoding), `deflate` and `prompt` for what a writer does with them
        self.coder_draw = [c for c in ("none",) * 28 + ("deflate",) * 2 + ("prompt",) * 2 if c in keys["text_coders"]]
        self.family = {m: reg.family_of(m).fields for m in self.models}
        self.model_fields = {m: reg.model_fields(m) for m in self.models}
        self.multiple = {m: reg.size_multiple(m) for m in self.models}
        self.platform = {d: reg.device_fields(d) for d in self.devices}
        self.exts = [(e["tag"], e["key"], e["fields"]) for e in reg.extensions.entries]
        self.private = reg.private_tags


def _value(d: Draw, ftype: str, table: str | None = None, max_len: int | None = None, default=None):
    """A value for a field of type ``ftype``: mostly of that type, sometimes of another."""
    if d.chance(1, 16):
        return d.number() if d.chance(1, 2) else d.text(64)
    if d.chance(1, 8):
        return default
    if ftype == "str":
        return d.text(65536)
    if ftype == "bytes":
        n = (max_len or 32) + d.below(3) - 1 if d.chance(1, 2) else d.length(max_len or 32)
        return d.bytes(n).ljust(max(n, 0), b"\x00")
    if ftype == "ref":
        return d.pick(T.keys[table]) if table in T.keys and not d.chance(1) else d.text(32)
    return d.number()  # uint, dec


def _size(d: Draw, model: str):
    g = T.multiple[model]
    if not d.chance(1, 16):
        return g * (1 + d.below(16384 // g + (2 if d.chance(1, 4) else 0)))
    return d.number()


def _extension(d: Draw):
    mode = d.below(8)
    if mode < 6:
        tag, key, fds = d.pick(T.exts)
        fields = {fd["name"]: _value(d, fd["type"], fd.get("table"), default=fd.get("default")) for fd in fds}
        if d.chance(1, 16) and fields:
            fields.pop(d.pick(sorted(fields)))
        if d.chance(1, 16):
            fields[d.text(8)] = d.text(8)
        return ("reg", tag, key, fields)
    if mode == 6:
        tag = T.private[0] + d.below(T.private[1] - T.private[0] + 1)
    else:
        tag = d.number() if d.chance(1, 4) else d.uint(2)
    return ("raw", tag, d.bytes(d.length(256)))


def build(d: Draw) -> dict:
    """A file as the JSON form's dict (``from_json``'s input), with Python values (bytes, not hex)."""
    model = d.pick(T.models)
    device = d.text(8) if d.chance(1, 32) else d.pick(T.devices)
    f = {
        "model": model,
        "height": _size(d, model), "width": _size(d, model),
        "seed": d.number() if d.chance(1, 8) else d.uint(8),
        "text_coder": d.text(8) if d.chance(1, 32) else d.pick(T.coder_draw),
        "device": device,
        "dtype": d.text(8) if d.chance(1, 32) else d.pick(T.keys["dtypes"]),
        "noise": d.text(8) if d.chance(1, 32) else d.pick(T.keys["noise_sources"]),
        "prompt": d.text(), "negative_prompt": d.text() if d.chance(1, 2) else "",
    }
    fields = {x.name: x.default for x in T.family[model]}
    for x in T.family[model]:
        if d.chance(3):
            fields[x.name] = _value(d, x.type, x.table, x.max_len, x.default)
    mfields = {x.name: x.default for x in T.model_fields[model]}
    for x in T.model_fields[model]:
        if x.type == "bytes":
            mfields[x.name] = bytes.fromhex(x.default)
    for x in T.model_fields[model]:
        if d.chance(3):
            mfields[x.name] = _value(d, x.type, x.table, x.max_len, x.default)
    platform = {x.name: x.default for x in T.platform.get(device, [])}
    for x in T.platform.get(device, []):
        if d.chance(4):
            platform[x.name] = _value(d, x.type, x.table, x.max_len, x.default)
    if d.chance(1, 16):  # a field name the model does not have, or one missing
        target = d.pick((fields, mfields, platform))
        if target and d.chance(1, 2):
            target.pop(d.pick(sorted(target)))
        else:
            target[d.text(8)] = d.number()
    f.update(fields=fields, model_fields=mfields, platform=platform)
    exts = [_extension(d) for _ in range(30 + d.below(5) if d.chance(1, 16) else d.below(4))]
    if not d.chance(1):  # the writer wants them in tag order (SPEC.md §6.2); sometimes not
        exts.sort(key=lambda e: e[1] if isinstance(e[1], int) else 0)
    f["extensions"] = exts
    f["digest"] = d.bytes(d.pick((8, 16, 32, 0, 7, 33))) if d.chance(1, 4) else None
    if d.chance(1, 16):
        f["pixels"] = (d.pick(T.keys["pixel_codecs"]), d.bytes(d.length(64)))
    if d.chance(1, 16):
        f["model_payload"] = (d.pick(T.keys["model_compressors"]), d.bytes(d.pick((32, 31))), d.bytes(d.length(64)))
    return f


def _as_file(f: dict):
    """The AigifFile ``build``'s dict stands for (the way in that skips from_json)."""
    exts = [Extension(e[1], b"", e[2], dict(e[3])) if e[0] == "reg" else Extension(e[1], e[2]) for e in f["extensions"]]
    px, mp = f.get("pixels"), f.get("model_payload")
    return AigifFile(
        model=f["model"], height=f["height"], width=f["width"], seed=f["seed"], prompt=f["prompt"],
        negative_prompt=f["negative_prompt"], fields=dict(f["fields"]), model_fields=dict(f["model_fields"]),
        device=f["device"], platform=dict(f["platform"]), dtype=f["dtype"], noise=f["noise"],
        text_coder=f["text_coder"], digest=f["digest"], extensions=exts,
        pixels=None if px is None else PixelPayload(*px),
        model_payload=None if mp is None else ModelPayload(*mp))


def _json_value(v):
    return v.hex() if isinstance(v, bytes) else v


def _as_json(f: dict) -> dict:
    """The JSON form ``aigif pack`` reads (bytes as hex / base64, as ``to_json`` writes them)."""
    import base64
    j = {k: v for k, v in f.items() if k not in ("extensions", "pixels", "model_payload", "digest")}
    for k in ("fields", "model_fields", "platform"):
        j[k] = {n: _json_value(v) for n, v in f[k].items()}
    j["extensions"] = [{"tag": e[1], "fields": {n: _json_value(v) for n, v in e[3].items()}} if e[0] == "reg"
                       else {"tag": e[1], "raw": e[2].hex()} for e in f["extensions"]]
    j["digest"] = None if f["digest"] is None else f["digest"].hex()
    px, mp = f.get("pixels"), f.get("model_payload")
    j["pixels"] = None if px is None else {"codec": px[0], "data": base64.b64encode(px[1]).decode()}
    j["model_payload"] = None if mp is None else {"compressor": mp[0], "sha256": mp[1].hex(),
                                                  "data": base64.b64encode(mp[2]).decode()}
    return j


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _raised_in(e: BaseException, module: str) -> bool:
    return traceback.extract_tb(e.__traceback__)[-1].filename.endswith(module)


# Known bugs already reported (fuzz/README.md "Findings"), tolerated only when named in
# $AIGIF_FUZZ_TOLERATE (e.g. "BUG-6"), so that a campaign can go on past them; by default a crash.
KNOWN = {
    # jsonform._in: float() of an integer above ~1.8e308 for a dec field (aigif pack of "guidance": 1e400 as an int)
    "BUG-6": lambda e: isinstance(e, OverflowError) and _raised_in(e, "jsonform.py"),
}
TOLERATE = [KNOWN[k] for k in os.environ.get("AIGIF_FUZZ_TOLERATE", "").replace(",", " ").split()]


def check(data: bytes) -> str:
    d = Draw(data)
    via_json = d.chance(1, 4)
    spec = build(d)
    try:
        f = jsonform.from_json(_as_json(spec), REG) if via_json else _as_file(spec)
        out = codec.write(f, REG)
    except AigifError as e:
        if e.code not in WRITE_CODES:
            raise AssertionError(f"write raised {e.code}, not a parse code or E_FIELDS: {e}") from e
        return e.code
    except Exception as e:
        if any(t(e) for t in TOLERATE):
            return "known"
        raise
    g = codec.read(out, REG)  # AigifError here is a crash: the writer produced an invalid file
    if codec.write(g, REG) != out:
        raise AssertionError("write(read(write(f))) != write(f)")
    if codec.strings_of(REG, g) != codec.strings_of(REG, f):
        raise AssertionError("the strings read back differ from those written")
    for a, b in zip(sorted(f.extensions, key=lambda e: e.tag), g.extensions):  # written in tag order; registered
        # fields come back as given (after the range checks)
        if a.fields is not None and b.fields is not None and not all(
                _same(v, b.fields.get(k)) for k, v in a.fields.items()):
            raise AssertionError(f"extension {a.key} fields read back differ: {a.fields!r} -> {b.fields!r}")
    if (f.height, f.width, f.seed) != (g.height, g.width, g.seed):
        raise AssertionError("size or seed read back differ")
    return "valid"


def make_seeds() -> None:
    """Deterministic pseudo-random inputs, kept when they make a distinct result (most write a valid file)."""
    from harness import hashed_seeds
    _import()
    out = HERE / "corpus" / "writer_seed"
    seen = hashed_seeds(out, 4000, (16, 64, 256, 1024), check, lambda r: 40 if r == "valid" else 3)
    print(f"writer seeds: {len(list(out.iterdir()))} ({seen})")


if __name__ == "__main__":
    from harness import run  # fuzz/ is sys.path[0] when a target runs as a script
    run(_import, check, commands={"--make-seeds": make_seeds}, exclude=UNINSTRUMENTED)
