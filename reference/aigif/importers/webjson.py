"""A JSON object of generation parameters in the PNG ``parameters`` chunk (web front-ends).

Several front-ends that are not A1111 write their settings as JSON into the
``parameters`` chunk that A1111 uses for infotext: Gradio apps on Hugging
Face Spaces (``{"prompt", "negative_prompt", "resolution": "1024 x 1024",
"guidance_scale", "num_inference_steps", "seed", "sampler", "Model",
"Model hash", ...}``), RuinedFooocus (``{"Prompt", "Negative", "steps",
"cfg", "width", "height", "seed", "sampler_name", "scheduler",
"base_model_name", "base_model_hash", "loras", "software": "RuinedFooocus"}``)
and other diffusers-based UIs. Their key names differ; each key below is a
name one of them was seen to write, and a key that is not listed is kept in
``extra`` and named in ``lost``, never guessed at.

The tool is the ``software`` / ``Software`` value when there is one, else
"JSON parameters". Sampler names are whatever the front-end wrote (A1111
names such as "DPM++ 2M Karras", or ComfyUI names for RuinedFooocus); the
conversion resolves them only through a table that knows them.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .coerce import LENIENT, Coercer, load_json_object
from .coerce import size as coerce_size
from .containers import RawMetadata, TextItem
from .generation import ImportedGeneration

_TYPED = Coercer("JSON parameter", strings=LENIENT)
#: A RuinedFooocus LoRA entry's second item, "1.0 - dir/file.safetensors"; its older string form's tags.
_RE_RF_LORA = re.compile(r"^\s*(-?\d{1,6}(?:\.\d{1,12})?)\s+-\s+(\S.{0,1000}?)\s*\Z")
_RE_TAG_LORA = re.compile(r"<([^<>:]{1,1000}):(-?\d{1,6}(?:\.\d{1,12})?)>")
_RE_RES = re.compile(r"^\(?\s*(\d{1,6})\s*[x×,]\s*(\d{1,6})\s*\)?\Z")
#: ImportedGeneration field -> (type, the keys front-ends write it under, in order of preference)
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "prompt": ("str", ("prompt", "Prompt", "positive_prompt")),
    "negative_prompt": ("str", ("negative_prompt", "Negative", "negativePrompt", "negative prompt", "Negative prompt")),
    "seed": ("int", ("seed", "Seed")),
    "steps": ("int", ("steps", "Steps", "num_inference_steps")),
    "cfg_scale": ("float", ("guidance_scale", "cfg", "cfg_scale", "cfgScale", "CFG scale", "CFG")),
    "sampler": ("str", ("sampler", "sampler_name", "Sampler")),
    "schedule": ("str", ("scheduler", "Schedule type", "schedule")),
    "width": ("int", ("width", "Width")),
    "height": ("int", ("height", "Height")),
    "model_name": ("str", ("Model", "model", "base_model_name", "base_model", "model_name")),
    "model_hash": ("str", ("Model hash", "base_model_hash", "model_hash")),
    "clip_skip": ("int", ("clip_skip", "Clip skip")),
    "denoise": ("float", ("denoise", "strength", "Denoising strength")),
    "vae": ("str", ("vae", "VAE")),
    "source_version": ("str", ("version", "Version")),
}
SIZE_KEYS = ("resolution", "Size", "size")
SOFTWARE_KEYS = ("software", "Software")
#: Values that say "nothing": not lost.
_EMPTY: tuple[Any, ...] = (None, "", [], {}, False)
HARMLESS = {"use_upscaler", "start_step", "loras"}


def is_json_parameters(text: str) -> bool:
    t = text.lstrip()
    return t.startswith("{") and t.rstrip().endswith("}")


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``parameters`` text when it is a JSON object (readers earlier in the list took theirs)."""
    item = meta.first("parameters")
    return item if item is not None and is_json_parameters(item.value) else None


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    return read_text(item.value, container=item.container)


def read_text(text: str, *, container: str = "png:tEXt:parameters") -> ImportedGeneration:
    data = load_json_object(text, "JSON parameters")
    software = next((data[k][:64] for k in SOFTWARE_KEYS if isinstance(data.get(k), str) and data[k].strip()), None)
    gen = ImportedGeneration(source_tool=software or "JSON parameters", source_format="json-parameters",
                             container=container)
    gen.raw["parameters"] = text
    used = set(SOFTWARE_KEYS)
    for attr, (kind, keys) in ALIASES.items():
        present = [k for k in keys if data.get(k) is not None]
        if not present:
            continue
        setattr(gen, attr, _TYPED.typed(data[present[0]], kind, present[0]))
        used.update(present)
        for other in present[1:]:
            if data[other] != data[present[0]]:
                gen.add_lost(f"JSON parameters give {attr} twice: {present[0]!r} was used, {other!r} "
                             f"({_short(data[other])}) was not")
    size_key = next((k for k in SIZE_KEYS if data.get(k) is not None), None)
    if size_key is not None:
        used.add(size_key)
        w, h = coerce_size(data[size_key], _RE_RES, f"JSON parameter {size_key}")
        if gen.width is not None and (gen.width, gen.height) != (w, h):
            gen.add_lost(f"JSON parameters give two sizes: {gen.width}x{gen.height} and {size_key} {w}x{h}")
        else:
            gen.width, gen.height = w, h
    if gen.vae in ("Default (model)", "None", "Automatic"):
        gen.vae = None
    loras = data.get("loras")
    if isinstance(loras, str):
        # older RuinedFooocus: "<file:weight>,<None:0.5>,..." with "None" for an empty slot
        for name, weight in _RE_TAG_LORA.findall(loras):
            if name.strip() != "None":
                gen.loras.append({"name": name.strip(), "weight": float(weight)})
    elif isinstance(loras, list):
        for entry in loras:
            rf = (_RE_RF_LORA.match(entry[1]) if isinstance(entry, (list, tuple)) and len(entry) == 2
                  and isinstance(entry[0], str) and isinstance(entry[1], str) else None)
            if rf is not None:
                # RuinedFooocus: [hash or "", "weight - file"]
                gen.loras.append({"name": rf[2], "weight": float(rf[1]), **({"hash": entry[0]} if entry[0] else {})})
            elif isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], str):
                gen.loras.append({"name": entry[0], "weight": entry[1] if len(entry) > 1 else None})
            elif isinstance(entry, dict):
                gen.loras.append(dict(entry))
        if gen.loras:
            gen.add_lost("LoRAs are identified by file name only")
    for key, value in data.items():
        if key in used:
            continue
        gen.extra[key] = value
        if key not in HARMLESS and value not in _EMPTY:
            gen.add_lost(f"JSON parameter '{key}': {_short(value)} has no field of its own (kept in extra)")
    if gen.seed is None:
        gen.add_note("JSON parameters without a seed")
    gen.add_note("JSON parameters in a 'parameters' chunk: a web front-end's own layout; prompt syntax unknown")
    return gen


def _short(v: Any) -> str:
    return (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))[:80]
