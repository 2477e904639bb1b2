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

``resolution`` is ``str((width, height))``; ``seed`` is a decimal string
because it is a 64-bit value. Sampler and scheduler are ComfyUI names
(Fooocus embeds ComfyUI). The typed ``prompt`` is what the user typed;
Fooocus actually conditions on ``full_prompt`` (style templates + the GPT-2
"Fooocus V2" expansion, each encoded and concatenated), which is kept in
``extra`` and reported in ``lost``.

sd-parsers reads the same fields but leaves the seed a string and drops the
resolution and LoRA list into untyped metadata; this module is ours.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

_RE_RES = re.compile(r"^\(\s*(\d{1,6})\s*,\s*(\d{1,6})\s*\)\Z")
_RE_INT = re.compile(r"^-?\d{1,40}\Z")
FIELDS = {"prompt", "negative_prompt", "seed", "steps", "guidance_scale", "sampler", "scheduler", "resolution",
          "base_model", "base_model_hash", "clip_skip", "vae", "loras", "version", "metadata_scheme"}
#: Keys that change the image but have no typed field.
AFFECTING = {"full_prompt", "full_negative_prompt", "prompt_expansion", "styles", "sharpness", "adm_guidance",
             "refiner_model", "refiner_switch", "refiner_model_hash", "performance", "freeu", "adaptive_cfg",
             "overwrite_step", "overwrite_switch", "inpaint_method", "inpaint_engine", "image_prompts"}


def is_fooocus_json(text: str) -> bool:
    t = text.lstrip()
    return t.startswith("{") and ('"metadata_scheme"' in t or '"full_prompt"' in t or "Fooocus" in t)


def _int(v: Any, key: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise ImportFailure(E_IMPORT_MALFORMED, f"Fooocus {key} is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and _RE_INT.match(v.strip()):
        return int(v.strip())
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ImportFailure(E_IMPORT_MALFORMED, f"Fooocus {key} is not an integer: {str(v)[:40]!r}")


def _float(v: Any, key: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
    raise ImportFailure(E_IMPORT_MALFORMED, f"Fooocus {key} is not a number: {str(v)[:40]!r}")


def _str(v: Any, key: str) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise ImportFailure(E_IMPORT_MALFORMED, f"Fooocus {key} is not a string")


def read(text: str, *, container: str = "png:tEXt:parameters") -> ImportedGeneration:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ImportFailure(E_IMPORT_MALFORMED, "Fooocus JSON is nested too deeply") from None
    except ValueError:
        raise ImportFailure(E_IMPORT_MALFORMED, "Fooocus parameters are not valid JSON") from None
    if not isinstance(data, dict):
        raise ImportFailure(E_IMPORT_MALFORMED, "Fooocus parameters are not a JSON object")
    gen = ImportedGeneration(source_tool="Fooocus", source_format="fooocus-json", container=container)
    gen.raw["parameters"] = text
    gen.prompt = _str(data.get("prompt"), "prompt")
    gen.negative_prompt = _str(data.get("negative_prompt"), "negative_prompt")
    gen.seed = _int(data.get("seed"), "seed")
    gen.steps = _int(data.get("steps"), "steps")
    gen.cfg_scale = _float(data.get("guidance_scale"), "guidance_scale")
    gen.sampler = _str(data.get("sampler"), "sampler")
    gen.schedule = _str(data.get("scheduler"), "scheduler")
    res = data.get("resolution")
    if res is not None:
        m = _RE_RES.match(res) if isinstance(res, str) else None
        if not m:
            raise ImportFailure(E_IMPORT_MALFORMED, f"Fooocus resolution {str(res)[:40]!r} is not '(width, height)'")
        gen.width, gen.height = int(m.group(1)), int(m.group(2))
    gen.model_name = _str(data.get("base_model"), "base_model")
    gen.model_hash = _str(data.get("base_model_hash"), "base_model_hash")
    gen.clip_skip = _int(data.get("clip_skip"), "clip_skip")
    vae = _str(data.get("vae"), "vae")
    if vae is not None and vae != "Default (model)":
        gen.vae = vae
    elif vae is not None:
        gen.add_note("vae 'Default (model)': the checkpoint's own VAE")
    gen.source_version = _str(data.get("version"), "version")
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
