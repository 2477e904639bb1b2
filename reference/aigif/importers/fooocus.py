"""Fooocus: the JSON ``parameters`` chunk (metadata scheme "fooocus").

Fooocus >= 2.2 writes, next to a ``fooocus_scheme`` text chunk, either
A1111-style infotext (scheme "a1111", read by :mod:`.a1111` with
``source_tool="Fooocus"``) or a JSON object (scheme "fooocus", read here)::

    {"prompt": ..., "negative_prompt": ..., "full_prompt": [...], "full_negative_prompt": [...],
     "prompt_expansion": ..., "styles": "[...]", "performance": "Speed", "steps": 30,
     "resolution": "(768, 1280)", "guidance_scale": 4, "sharpness": 2, "adm_guidance": "(1.5, 0.8, 0.3)",
     "base_model": ..., "base_model_hash": ..., "refiner_model": "None", "refiner_switch": 0.5,
     "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras", "seed": "6952411511246973023",
     "clip_skip": 2, "vae": "Default (model)", "loras": [], "metadata_scheme": "fooocus",
     "version": "Fooocus v2.4.3"}

In JPEG/WebP the same JSON is the EXIF ``UserComment``, raw, without a
character-code prefix. ``resolution`` is ``str((width, height))``; ``seed``
is a decimal string because it is a 64-bit value; ``loras`` are
``[name, weight(, hash)]``; ``vae`` ``"Default (model)"`` is the checkpoint's
own VAE (``vae = None``). Sampler and scheduler are ComfyUI names
(Fooocus embeds ComfyUI). The typed ``prompt`` is what the user typed;
Fooocus actually conditions on ``full_prompt`` (style templates + the GPT-2
"Fooocus V2" expansion, each encoded and concatenated), which is kept in
``extra`` and reported in ``lost``.

sd-parsers reads the same fields but leaves the seed a string and drops the
resolution and LoRA list into untyped metadata; this module is ours.
"""
from __future__ import annotations

import re

from .a1111 import FOOOCUS_SYNTAX_LOST
from .coerce import LENIENT, Coercer, load_json_object
from .coerce import size as coerce_size
from .containers import RawMetadata, TextItem
from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

_RE_RES = re.compile(r"^\(\s*(\d{1,6})\s*,\s*(\d{1,6})\s*\)\Z")
#: Fooocus writes its 64-bit seed as a string; numbers written as text are read as Python reads them.
_TYPED = Coercer("Fooocus", strings=LENIENT)
#: JSON key -> (ImportedGeneration field, type)
TYPED_FIELDS = {
    "prompt": ("prompt", "str"), "negative_prompt": ("negative_prompt", "str"), "seed": ("seed", "int"),
    "steps": ("steps", "int"), "guidance_scale": ("cfg_scale", "float"), "sampler": ("sampler", "str"),
    "scheduler": ("schedule", "str"), "base_model": ("model_name", "str"), "base_model_hash": ("model_hash", "str"),
    "clip_skip": ("clip_skip", "int"), "version": ("source_version", "str"),
}
#: Keys read into fields (the rest go to extra).
FIELDS = set(TYPED_FIELDS) | {"resolution", "vae", "loras", "metadata_scheme"}


_RE_FOOOCUS_VERSION = re.compile(r'"version"\s*:\s*"Fooocus')


def is_fooocus_json(text: str) -> bool:
    # Not just "Fooocus" anywhere: forks with their own layout (RuinedFooocus) say so in their JSON too.
    t = text.lstrip()
    return t.startswith("{") and ('"metadata_scheme"' in t or '"full_prompt"' in t
                                  or _RE_FOOOCUS_VERSION.search(t) is not None)


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``parameters`` text when it is Fooocus JSON (or ``fooocus_scheme`` says so), else the first
    EXIF / comment text that is Fooocus JSON."""
    params = meta.first("parameters")
    scheme = meta.first("fooocus_scheme")
    if params is not None:
        is_json = (scheme is not None and scheme.value.strip() == "fooocus") or is_fooocus_json(params.value)
        return params if is_json else None
    return meta.first_comment(is_fooocus_json)


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    return read_text(item.value, container=item.container)


def read_text(text: str, *, container: str = "png:tEXt:parameters") -> ImportedGeneration:
    data = load_json_object(text, "Fooocus parameters")
    gen = ImportedGeneration(source_tool="Fooocus", source_format="fooocus-json", container=container)
    gen.raw["parameters"] = text
    gen.add_lost(FOOOCUS_SYNTAX_LOST)   # prompt_syntax stays None: no registered syntax is Fooocus's
    _TYPED.fill(gen, data, TYPED_FIELDS)
    res = data.get("resolution")
    if res is not None:
        gen.width, gen.height = coerce_size(res, _RE_RES, "Fooocus resolution", "'(width, height)'")
    vae = _TYPED.str(data.get("vae"), "vae")
    if vae is not None and vae != "Default (model)":
        gen.vae = vae
    elif vae is not None:
        gen.add_note("vae 'Default (model)': the checkpoint's own VAE")
    loras = data.get("loras") or []
    if not isinstance(loras, list):
        raise ImportFailure(E_IMPORT_MALFORMED, "Fooocus loras is not a list")
    for entry in loras:
        if isinstance(entry, (list, tuple)) and entry:
            d = {"name": entry[0], "weight": entry[1] if len(entry) > 1 else None}
            if len(entry) > 2:
                d["hash"] = entry[2]
            gen.loras.append(d)
        elif isinstance(entry, dict):
            gen.loras.append(dict(entry))
        else:
            raise ImportFailure(E_IMPORT_MALFORMED, "Fooocus loras entry is neither a list nor an object")
    for key, value in data.items():
        if key in FIELDS:
            continue
        gen.extra[key] = value
    full = data.get("full_prompt")
    if isinstance(full, list) and full != [gen.prompt]:
        gen.add_lost("Fooocus conditions on 'full_prompt' (style templates + Fooocus V2 prompt expansion, each "
                     f"encoded and concatenated: {len(full)} parts), not on the typed prompt")
    fneg = data.get("full_negative_prompt")
    if isinstance(fneg, list) and fneg != ([gen.negative_prompt] if gen.negative_prompt else []):
        gen.add_lost(f"Fooocus conditions on 'full_negative_prompt' ({len(fneg)} parts from the styles), not on the "
                     "typed negative prompt")
    for key in ("sharpness", "adm_guidance"):
        if key in data:
            gen.add_lost(f"Fooocus {key} {data[key]!r} changes sampling (no field of its own)")
    refiner = data.get("refiner_model")
    if isinstance(refiner, str) and refiner not in ("None", ""):
        gen.add_lost(f"refiner {refiner!r} from switch point {data.get('refiner_switch')!r}")
    if gen.loras:
        gen.add_lost("LoRAs are identified by file name (and hash when present) only")
    return gen
