"""Draw Things (iOS / macOS): the generation JSON in the XMP packet's ``exif:UserComment``.

Where: an XMP packet (PNG iTXt ``XML:com.adobe.xmp``, JPEG APP1 XMP), whose
``<exif:UserComment><rdf:Alt><rdf:li>`` holds a JSON object (the container
layer hands it on as the ``xmp:UserComment`` text item)::

    {"c": "<prompt>", "uc": "<negative prompt>", "seed": 2746421474, "steps": 30, "scale": 5,
     "sampler": "DPM++ 2M Karras", "model": "sd_xl_base_1.0_f16.ckpt", "size": "1024x1024",
     "strength": 1, "seed_mode": "Scale Alike", "lora": [{"model": "<file>.ckpt", "weight": 0.6}],
     "v2": {"guidanceScale": 5, "width": 1024, "height": 1024, "clipSkip": 1, "hiresFix": false, ...}}

``xmp:CreatorTool`` is "Draw Things". ``sampler`` names are Draw Things'
own (A1111-like: "DPM++ 2M Karras", "Euler A", but also "... Trailing",
"... AYS", "TCD"). ``seed_mode`` says how Draw Things turns the seed into
noise ("Legacy", "Torch CPU Compatible", "Scale Alike", "NVIDIA GPU
Compatible"): it is kept and reported, as the noise source is not one of
the typed fields. How Draw Things weights its prompt is not documented in a
form we could check, so ``prompt_syntax`` stays unknown.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .coerce import Coercer, load_json_object
from .coerce import size as coerce_size
from .containers import RawMetadata, TextItem
from .generation import ImportedGeneration

_TYPED = Coercer("Draw Things")
_RE_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*\Z")
TYPED_FIELDS = {
    "c": ("prompt", "str"), "uc": ("negative_prompt", "str"), "seed": ("seed", "int"), "steps": ("steps", "int"),
    "scale": ("cfg_scale", "float"), "sampler": ("sampler", "str"), "model": ("model_name", "str"),
}
FIELDS = set(TYPED_FIELDS) | {"size", "lora", "strength", "v2", "clip_skip"}
HARMLESS = {"seed_mode_name", "profile"}


def _is_drawthings(meta: RawMetadata, text: str) -> bool:
    creator = meta.first("xmp:CreatorTool")
    t = text.lstrip()
    return t.startswith("{") and (creator is not None and "Draw Things" in creator.value
                                  or ('"c"' in t and '"seed_mode"' in t))


def detect(meta: RawMetadata) -> TextItem | None:
    item = meta.first("xmp:UserComment")
    return item if item is not None and _is_drawthings(meta, item.value) else None


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    return read_text(item.value, container=item.container)


def read_text(text: str, *, container: str = "png:iTXt:XML:com.adobe.xmp:exif:UserComment") -> ImportedGeneration:
    data = load_json_object(text, "Draw Things UserComment")
    gen = ImportedGeneration(source_tool="Draw Things", source_format="drawthings-xmp", container=container)
    gen.raw["xmp:UserComment"] = text
    _TYPED.fill(gen, data, TYPED_FIELDS)
    size = data.get("size")
    if size is not None:
        gen.width, gen.height = coerce_size(size, _RE_SIZE, "Draw Things size", "WIDTHxHEIGHT")
    v2 = data.get("v2")
    if isinstance(v2, dict):
        gen.extra["v2"] = v2
        clip = v2.get("clipSkip")
        if isinstance(clip, int) and not isinstance(clip, bool) and clip >= 1:
            gen.clip_skip = clip          # Draw Things counts as A1111 does: 1 = last layer
        if v2.get("hiresFix"):
            gen.hires = {k: v for k, v in v2.items() if k.startswith("hiresFix")}
            gen.add_lost("Draw Things high-resolution fix (hiresFix*) second pass")
    # newer versions write clip_skip at the top level as well, with the same meaning
    top_clip = data.get("clip_skip")
    if isinstance(top_clip, int) and not isinstance(top_clip, bool) and top_clip >= 1:
        if gen.clip_skip is None:
            gen.clip_skip = top_clip
        elif gen.clip_skip != top_clip:
            gen.add_lost(f"Draw Things clip_skip {top_clip} differs from v2.clipSkip {gen.clip_skip} (v2 was used)")
    elif top_clip is not None:
        gen.extra["clip_skip"] = top_clip
        gen.add_lost(f"Draw Things clip_skip {_short(top_clip)} is not a layer count")
    # the top-level list names each file "model" (what the app writes) or "file"; v2.loras says "file"
    loras = data.get("lora")
    if not isinstance(loras, list) and isinstance(v2, dict):
        loras = v2.get("loras")
    if isinstance(loras, list):
        for entry in loras:
            name = (entry.get("file") or entry.get("model")) if isinstance(entry, dict) else None
            if isinstance(name, str) and name:
                gen.loras.append({"name": name, "weight": entry.get("weight")})
            else:
                gen.add_lost(f"Draw Things LoRA entry without a file name: {_short(entry)}")
        if gen.loras:
            gen.add_lost("LoRAs are identified by file name only")
    strength = data.get("strength")
    if strength is not None and _TYPED.float(strength, "strength") != 1.0:
        gen.denoise = _TYPED.float(strength, "strength")
        gen.add_lost("img2img (strength < 1): the init image is not in the metadata")
    for key, value in data.items():
        if key in FIELDS:
            continue
        gen.extra[key] = value
        if key == "seed_mode":
            gen.add_lost(f"Draw Things seed mode {value!r}: how the seed becomes noise is not a typed field")
        elif key not in HARMLESS and value not in (None, "", [], {}, False):
            gen.add_lost(f"Draw Things parameter {key!r}: {_short(value)} has no field of its own (kept in extra)")
    gen.add_note("Draw Things' prompt weighting is not documented: prompt syntax unknown")
    return gen


def _short(v: Any) -> str:
    return (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))[:80]
