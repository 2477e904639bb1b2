"""SwarmUI (formerly StableSwarmUI): the ``sui_image_params`` JSON.

Where: the PNG ``parameters`` text chunk; in JPEG and WebP the EXIF
``UserComment`` (``UNICODE\\0`` prefix, UTF-16 little-endian: SwarmUI writes it
through .NET, not piexif). The layout::

    {"sui_image_params": {"prompt", "negativeprompt", "model", "seed", "steps", "cfgscale",
                          "width", "height", "sampler", "scheduler", "clipstopatlayer", "vae",
                          "loras", "loraweights", "initimagecreativity", "refiner...", "swarm_version", ...},
     "sui_extra_data": {"date", "prep_time", "generation_time", "unused_parameters"},
     "sui_models": [{"name", "param", "hash": "0x<sha256>"}]}

SwarmUI runs ComfyUI as its backend: ``sampler`` and ``scheduler`` are
ComfyUI names, and the prompt's ``(word:1.2)`` weights are parsed by
ComfyUI's text encoder (SwarmUI first expands its own ``<lora:...>``,
``<random:...>``, ``<segment:...>`` tags), so the prompt syntax is
"comfyui". A PNG from SwarmUI usually carries the executed ComfyUI graph
(``prompt``) too; the SwarmUI record is read, since it is what the user set
and it names the tool. Older versions wrote ``comfyuisampler`` /
``autowebuisampler`` instead of ``sampler``.
"""
from __future__ import annotations

import json
from typing import Any

from .coerce import LENIENT, Coercer, load_json_object
from .containers import RawMetadata, TextItem
from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

_TYPED = Coercer("SwarmUI", strings=LENIENT)
#: sui_image_params key -> (ImportedGeneration field, type)
TYPED_FIELDS = {
    "prompt": ("prompt", "str"), "negativeprompt": ("negative_prompt", "str"), "seed": ("seed", "int"),
    "steps": ("steps", "int"), "cfgscale": ("cfg_scale", "float"), "width": ("width", "int"),
    "height": ("height", "int"), "model": ("model_name", "str"), "swarm_version": ("source_version", "str"),
    "batchsize": ("batch_size", "int"),
}
#: Keys that do not change the pixels (UI state, provenance).
HARMLESS = {"aspectratio", "automaticvae", "sidelength", "imageformat", "nopreviews", "wildcardseed", "date",
            "used_wildcards", "original_prompt", "original_negativeprompt", "generation_time", "donotsave",
            "internalbackendtype", "exactbackendid", "personalnote", "prep_time"}
#: Older names of the sampler key.
SAMPLER_KEYS = ("sampler", "comfyuisampler", "autowebuisampler")
FIELDS = set(TYPED_FIELDS) | set(SAMPLER_KEYS) | {"scheduler", "clipstopatlayer", "vae", "loras", "loraweights",
                                                   "initimagecreativity"}


def is_swarm_json(text: str) -> bool:
    t = text.lstrip()
    return t.startswith("{") and '"sui_image_params"' in t


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``sui_image_params`` JSON: its own chunk (legacy), ``parameters``, or an EXIF / comment text."""
    for key in ("sui_image_params", "parameters"):
        item = meta.first(key)
        if item is not None and (key == "sui_image_params" or is_swarm_json(item.value)):
            return item
    return meta.first_comment(is_swarm_json)


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    gen = read_text(item.value, container=item.container)
    graph = meta.first("prompt")
    if graph is not None:
        gen.raw["prompt"] = graph.value   # the ComfyUI graph SwarmUI ran, for reference
    return gen


def read_text(text: str, *, container: str = "png:tEXt:parameters") -> ImportedGeneration:
    data = load_json_object(text, "SwarmUI parameters")
    params = data.get("sui_image_params", data)
    if not isinstance(params, dict):
        raise ImportFailure(E_IMPORT_MALFORMED, "SwarmUI sui_image_params is not a JSON object")
    gen = ImportedGeneration(source_tool="SwarmUI", source_format="swarmui-json", container=container,
                             prompt_syntax="comfyui")
    gen.raw["parameters"] = text
    _TYPED.fill(gen, params, TYPED_FIELDS)
    sampler_key = next((k for k in SAMPLER_KEYS if params.get(k) is not None), None)
    if sampler_key is not None:
        gen.sampler = _TYPED.str(params[sampler_key], sampler_key)
    gen.schedule = _TYPED.str(params.get("scheduler"), "scheduler")
    if params.get("clipstopatlayer") is not None:
        layer = _TYPED.int(params["clipstopatlayer"], "clipstopatlayer")
        if layer is not None and layer < 0:
            gen.clip_skip = -layer        # ComfyUI's stop_at_clip_layer -2 is A1111's "Clip skip: 2"
        else:
            gen.add_lost(f"SwarmUI clipstopatlayer {layer!r} is not a negative layer index")
    vae = _TYPED.str(params.get("vae"), "vae")
    if vae not in (None, "", "None", "Automatic"):
        gen.vae = vae
    _loras(gen, params)
    if params.get("initimagecreativity") is not None:
        gen.denoise = _TYPED.float(params["initimagecreativity"], "initimagecreativity")
        gen.add_lost("img2img (initimagecreativity): the init image is not in the metadata")
    models = data.get("sui_models")
    if isinstance(models, list):
        for m in models:
            if isinstance(m, dict) and m.get("param") == "model" and isinstance(m.get("hash"), str):
                h = m["hash"]
                gen.model_hash = h[2:] if h.lower().startswith("0x") else h
                if isinstance(m.get("name"), str) and gen.model_name is None:
                    gen.model_name = m["name"]
    for key, value in params.items():
        if key in FIELDS:
            continue
        gen.extra[key] = value
        if key in HARMLESS or value in (None, "", [], {}, False):
            continue
        if key.startswith("refiner"):
            gen.add_lost(f"SwarmUI refiner / upscale pass ({key}: {_short(value)}) is not in the typed fields")
        else:
            gen.add_lost(f"SwarmUI parameter '{key}': {_short(value)} has no field of its own (kept in extra)")
    for key in ("sui_extra_data", "sui_models"):
        if key in data:
            gen.extra[key] = data[key]
    extra = data.get("sui_extra_data")
    if isinstance(extra, dict) and isinstance(extra.get("unused_parameters"), list):
        gen.add_note("SwarmUI lists parameters it did not use: "
                     + ", ".join(str(x) for x in extra["unused_parameters"][:20]))
    return gen


def _loras(gen: ImportedGeneration, params: dict) -> None:
    names = params.get("loras")
    if names in (None, [], ""):
        return
    if not isinstance(names, list):
        raise ImportFailure(E_IMPORT_MALFORMED, "SwarmUI loras is not a list")
    weights = params.get("loraweights")
    weights = weights if isinstance(weights, list) else []
    for i, name in enumerate(names):
        w: Any = weights[i] if i < len(weights) else None
        gen.loras.append({"name": str(name), "weight": _TYPED.float(w, "loraweights") if w is not None else None})
    gen.add_lost("LoRAs are identified by file name only")


def _short(v: Any) -> str:
    return (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))[:80]
