"""read / write / validate: SPEC.md §9's decoding procedure and its inverse.

``read`` is §9 step by step — container (steps 1–5), core (6), sections (7),
text block (8) — and reports the first error with its code and file offset.
``write`` runs the same parts backwards and produces the canonical form, so
``write(read(b)) == b`` for every valid ``b``.
"""
from __future__ import annotations

import dataclasses
import functools

from . import _fast, container, core, sections, text
from .errors import AigifError
from .file import AigifFile
from .registry import Registry, load


# ------------------------------------------------------------------ read
def read(data: bytes, reg: Registry | None = None) -> AigifFile:
    """The file held in ``data`` (SPEC.md §9); raises ``AigifError`` with the first
    error's code and byte offset.

    >>> f = read(open("vectors/parse/paper-example.aigif", "rb").read())
    >>> f.model, f.prompt, f.seed, f.fields["steps"]
    ('sd-1.5', 'A cute cat', 829557441, 50)
    """
    reg = reg or load()
    data = bytes(data)
    if _fast.ENABLED:  # the accelerator (aigif._fast): the same result, or None and the steps below decide
        v = _fast.read(data, reg)
        if v is not None:
            tc, device, platform, model, dtype, noise, h, w, seed, fields, model_fields, strings = v
            f = AigifFile(model=model, height=h, width=w, seed=seed, fields=fields, model_fields=model_fields,
                          device=device, platform=platform, dtype=dtype, noise=noise, text_coder=tc)
            assign_strings(reg, f, strings)
            return f
    return _owned(_read(data, reg))


def _owned(f: AigifFile) -> AigifFile:
    """``f`` with its payloads as bytes of their own: the parser reads them as views of the input
    (so that validating a large file costs no copy of it, SPEC.md §16); what ``read`` returns
    does not keep the caller's buffer alive."""
    if f.pixels is not None and isinstance(f.pixels.data, memoryview):
        f.pixels = dataclasses.replace(f.pixels, data=bytes(f.pixels.data))
    if f.model_payload is not None and isinstance(f.model_payload.data, memoryview):
        f.model_payload = dataclasses.replace(f.model_payload, data=bytes(f.model_payload.data))
    return f


def _read(data: bytes, reg: Registry) -> AigifFile:
    """SPEC.md §9 in Python, the normative reference."""
    start, end = container.read_container(data)                      # steps 1–5
    c, pos = core.read_core(reg, data, start, end)                   # step 6
    f = AigifFile(
        model=c["model"], height=c["size"][0], width=c["size"][1], seed=c["seed"],
        fields=c["fields"], model_fields=c["model_fields"], device=c["device"],
        platform=c["platform"], dtype=c["dtype"], noise=c["noise"], text_coder=c["text_coder"],
    )
    pos = sections.read_sections(reg, c, f, data, pos, end)          # step 7
    strings = text.decode(f.text_coder, data, pos, end, len(reg.string_fields(f.model)))  # step 8
    assign_strings(reg, f, strings)
    return f


def assign_strings(reg: Registry, f: AigifFile, strings: list[str]) -> None:
    """Put the text block's strings (SPEC.md §7.1 order) where they belong in ``f``."""
    for (name, where), s in zip(_string_places(reg, f.model), strings):
        if where == 0:
            setattr(f, name, s)
        elif where == 1:
            f.fields[name] = s
        else:
            f.model_fields[name] = s


@functools.lru_cache(maxsize=256)
def _string_places(reg: Registry, model: str) -> tuple[tuple[str, int], ...]:
    """(name, 0: an attribute, 1: a family field, 2: a model field) of each string of ``model``'s files."""
    family = {x.name for x in reg.family_of(model).fields}
    return tuple((name, 0 if name in ("prompt", "negative_prompt") else 1 if name in family else 2)
                 for name in reg.string_fields(model))


def validate(data: bytes, reg: Registry | None = None) -> AigifError | None:
    """None if ``data`` is a valid AIGIF file, else the first error.

    >>> validate(b"GIF89a").code
    'E_MAGIC'
    """
    reg = reg or load()
    if _fast.ENABLED and isinstance(data, bytes) and _fast.read(data, reg, False):
        return None  # accepted by the accelerator: the reference accepts it too
    try:
        _read(bytes(data), reg)
    except AigifError as err:
        return err
    return None


# ------------------------------------------------------------------ write
def strings_of(reg: Registry, f: AigifFile) -> list[str]:
    """The file's strings in text-block order (SPEC.md §7.1)."""
    out = []
    for name in reg.string_fields(f.model):
        if name in ("prompt", "negative_prompt"):
            v = getattr(f, name)
        else:
            v = f.fields.get(name, f.model_fields.get(name, ""))
        if not isinstance(v, str):
            raise AigifError("E_RANGE", f"{name} must be a string")
        out.append(v)
    return out


def write(f: AigifFile, reg: Registry | None = None) -> bytes:
    """The canonical bytes of ``f`` (``write(read(b)) == b``, SPEC.md §9); raises
    AigifError for values the format cannot hold (same codes a decoder would report)."""
    reg = reg or load()
    reg.table("models").entry(f.model)
    reg.table("devices").entry(f.device)
    str_names = set(reg.string_fields(f.model))
    bit_fields = {k: v for k, v in f.fields.items() if k not in str_names}
    bit_model_fields = {k: v for k, v in f.model_fields.items() if k not in str_names}
    _check_keys("fields", bit_fields, [x.name for x in reg.family_of(f.model).fields if x.type != "str"])
    _check_keys("model_fields", bit_model_fields, [x.name for x in reg.model_fields(f.model) if x.type != "str"])
    _check_keys("platform", f.platform, [x.name for x in reg.device_fields(f.device)])
    sections.check_value_types("", f.fields, reg.family_of(f.model).fields)  # a wrong Python type: E_RANGE
    sections.check_value_types("", f.model_fields, reg.model_fields(f.model))
    sections.check_value_types("", f.platform, reg.device_fields(f.device))
    values = dict(
        sections.present_flags(f),
        text_coder=f.text_coder, device=f.device, platform=f.platform, model=f.model,
        dtype=f.dtype, noise=f.noise, size=(f.height, f.width), seed=f.seed,
        fields=bit_fields, model_fields=bit_model_fields,
    )
    strings = strings_of(reg, f)
    head = core.write_core(reg, values) + sections.write_sections(reg, f)
    try:  # SPEC.md §7.1's framed-text limit whatever the coder (read checks it; the prompt coder does not),
        text.frame(strings)  # and before the coder runs (the prompt coder takes seconds on 64 KiB)
    except UnicodeEncodeError:
        pass  # a lone surrogate: text.encode reports it (E_UTF8)
    return container.write_container(head + text.encode(f.text_coder, strings))


def _check_keys(what: str, given: dict, expected: list[str]) -> None:
    if sorted(given) != sorted(expected):
        missing = sorted(set(expected) - set(given))
        extra = sorted(set(given) - set(expected))
        raise AigifError("E_FIELDS", f"{what}: missing {missing}, unexpected {extra}")
