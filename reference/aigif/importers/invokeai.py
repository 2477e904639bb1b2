"""InvokeAI: three generations of metadata.

* ``invokeai_metadata`` (InvokeAI >= 3): a JSON object with
  ``positive_prompt``, ``negative_prompt``, ``width``, ``height``, ``seed``,
  ``cfg_scale``, ``steps``, ``scheduler`` (one name for solver + sigmas,
  e.g. ``euler_k``), ``model`` (``{"model_name"|"name", "base_model"|"base",
  "hash"...}``), ``vae``, ``loras``, ``clip_skip``, ``rand_device``,
  ``cfg_rescale_multiplier``, SDXL style prompts, hires-fix ``hrf_*``,
  refiner ``refiner_*``, ``ipAdapters``, ``controlnets``...
* ``sd-metadata`` (InvokeAI 2.x): ``{"model_weights", "model_hash", "app_version",
  "image": {"prompt": [{"prompt", "weight"}], "steps", "cfg_scale", "seed",
  "width", "height", "sampler", "postprocessing", "variations", ...}}``.
* ``Dream`` (InvokeAI 1.x/2.x): the command line that made the image,
  ``"<prompt>" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms -G 0.9 ...``.

In 1.x/2.x the negative prompt is written inside the prompt in square
brackets. It is split exactly as InvokeAI did before encoding
(``split_prompt_to_positive_and_negative``: every ``[...]`` is replaced by a
space, runs of spaces collapse to one, the bracketed parts are joined with a
space), so the prompt keeps e.g. a trailing space; the raw prompt is kept in
``extra['raw_prompt']``.

sd-parsers strips both parts and drops the second value of options such as
``-U 4 0.95``; this module is ours.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .coerce import DECIMAL, RE_NUMBER, Coercer, load_json_object
from .containers import RawMetadata, TextItem
from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

#: InvokeAI writes JSON numbers, and decimal strings in places (and Dream switches are text).
_TYPED = Coercer("InvokeAI", strings=DECIMAL)
_RE_OPTION = re.compile(r"^--?[A-Za-z][\w-]*\Z")
_RE_SWITCH_AHEAD = re.compile(r"\s+-")
_RE_FIRST_SWITCH = re.compile(r"(?:^|\s)-{1,2}[A-Za-z]")

#: Dream command-line switches -> (field or extra key, type)
DREAM_SWITCHES = {
    "-s": ("steps", "int"), "--steps": ("steps", "int"),
    "-S": ("seed", "int"), "--seed": ("seed", "int"),
    "-W": ("width", "int"), "--width": ("width", "int"),
    "-H": ("height", "int"), "--height": ("height", "int"),
    "-C": ("cfg_scale", "float"), "--cfg_scale": ("cfg_scale", "float"),
    "-A": ("sampler", "str"), "--sampler": ("sampler", "str"),
    "-f": ("denoise", "float"), "--strength": ("denoise", "float"),
}
DREAM_EXTRA_NAMES = {
    "-G": "gfpgan_strength", "-cf": "codeformer_fidelity", "-U": "upscale", "-ft": "facetool",
    "-I": "init_img", "-M": "init_mask", "-v": "variation_amount", "-V": "with_variations", "-n": "iterations",
    "-F": "fit", "-P": "perlin", "-T": "threshold", "-m": "model", "-tm": "text_mask", "-x": "skip_normalize",
    "-t": "log_tokenization",
}
_KNOWN_SWITCHES = frozenset(DREAM_SWITCHES) | frozenset(DREAM_EXTRA_NAMES)
#: Extra Dream / sd-metadata keys that do not change the generated pixels.
HARMLESS = {"iterations", "log_tokenization", "skip_normalize", "app_id", "app_version", "type", "model",
            "generation_mode", "positive_style_prompt", "negative_style_prompt", "hires_fix", "seamless",
            "variations", "threshold", "perlin", "postprocessing", "ipAdapters", "controlnets", "t2iAdapters",
            "cfg_rescale_multiplier", "rand_device", "seamless_x", "seamless_y", "hrf_enabled"}


def split_prompt(prompt: str) -> tuple[str, str]:
    """InvokeAI 2.x split_prompt_to_positive_and_negative, re-implemented.

    Same result as InvokeAI's ``re.findall(r"\\[(.*?)\\]")`` / ``re.sub`` pair, but
    in linear time (the lazy pattern is quadratic on many unclosed ``[``).
    """
    parts: list[str] = []
    negatives: list[str] = []
    pos = 0
    i = 0
    n = len(prompt)
    cl = nl = -1                  # cached next "]" / newline (searches only move forward)
    while i < n:
        op = prompt.find("[", i)
        if op < 0:
            break
        if cl <= op:
            cl = prompt.find("]", op + 1)
        if nl != n and nl <= op:
            nl = prompt.find("\n", op + 1)
            nl = n if nl < 0 else nl
        if cl < 0:
            break
        if nl < cl:               # "." does not cross a newline: no match from this "["
            i = op + 1
            continue
        parts.append(prompt[pos:op])
        negatives.append(prompt[op + 1:cl])
        pos = i = cl + 1
    if not negatives:
        return prompt, ""
    parts.append(prompt[pos:])
    cleaned = " ".join(parts)
    return re.sub(" +", " ", cleaned), " ".join(negatives)


#: JSON key -> (ImportedGeneration field, type), for InvokeAI >= 3 and for the 2.x ``image`` object
METADATA_FIELDS = {
    "seed": ("seed", "int"), "steps": ("steps", "int"), "cfg_scale": ("cfg_scale", "float"), "width": ("width", "int"),
    "height": ("height", "int"), "clip_skip": ("clip_skip", "int"), "scheduler": ("sampler", "str"),
    "rand_device": ("rng", "str"), "app_version": ("source_version", "str"),
}
SD_METADATA_FIELDS = {
    "seed": ("seed", "int"), "steps": ("steps", "int"), "cfg_scale": ("cfg_scale", "float"), "width": ("width", "int"),
    "height": ("height", "int"), "sampler": ("sampler", "str"),
}


def _model_name(m: Any) -> tuple[str | None, dict]:
    if isinstance(m, str):
        return m, {}
    if isinstance(m, dict):
        name = m.get("model_name", m.get("name"))
        return (name if isinstance(name, str) else None), m
    return None, {}


# ------------------------------------------------------------------ InvokeAI >= 3

def read_metadata(text: str, *, container: str = "png:tEXt:invokeai_metadata") -> ImportedGeneration:
    data = load_json_object(text, "invokeai_metadata")
    gen = ImportedGeneration(source_tool="InvokeAI", source_format="invokeai-metadata", container=container,
                             prompt_syntax="compel")
    gen.raw["invokeai_metadata"] = text
    gen.prompt = _TYPED.str(data.get("positive_prompt"), "positive_prompt")
    gen.negative_prompt = _TYPED.str(data.get("negative_prompt"), "negative_prompt")
    _TYPED.fill(gen, data, METADATA_FIELDS)
    name, model = _model_name(data.get("model"))
    gen.model_name = name
    if isinstance(model.get("hash"), str):
        gen.model_hash = model["hash"]
    base = model.get("base", model.get("base_model"))
    if isinstance(base, str):
        gen.extra["model_base"] = base    # "sdxl", "sd-1", "flux"...: the family, when the name does not say it
    vae_name, _ = _model_name(data.get("vae"))
    gen.vae = vae_name
    loras = data.get("loras") or []
    if isinstance(loras, list):
        for entry in loras:
            if isinstance(entry, dict):
                lname, linfo = _model_name(entry.get("lora", entry.get("model")))
                d = {"name": lname, "weight": entry.get("weight")}
                if isinstance(linfo.get("hash"), str):
                    d["hash"] = linfo["hash"]
                gen.loras.append(d)
    mode = data.get("generation_mode")
    if isinstance(mode, str) and ("img2img" in mode or "inpaint" in mode or "outpaint" in mode):
        if data.get("strength") is not None:
            gen.denoise = _TYPED.float(data["strength"], "strength")
        gen.add_lost(f"generation_mode {mode!r}: starts from an init image that is not in the metadata")
    if data.get("hrf_enabled"):
        gen.hires = {k: v for k, v in data.items() if k.startswith("hrf_")}
        gen.add_lost("InvokeAI high-resolution fix (hrf_*) second pass")
    typed = set(METADATA_FIELDS) | {"positive_prompt", "negative_prompt", "model", "vae", "loras", "strength"}
    for key, value in data.items():
        if key in typed or key.startswith("hrf_"):
            continue
        gen.extra[key] = value
        if key in HARMLESS or value in (None, "", [], {}, False):
            continue
        gen.add_lost(f"InvokeAI parameter {key!r} has no field of its own (kept in extra)")
    for key in ("ipAdapters", "controlnets", "t2iAdapters"):
        if data.get(key):
            n = len(data[key]) if isinstance(data[key], list) else 1
            gen.add_lost(f"{key}: {n} adapter(s) with reference images not in the metadata")
    if data.get("positive_style_prompt") or data.get("negative_style_prompt"):
        gen.add_lost("SDXL style prompts (second text encoder) differ from the main prompts")
    if data.get("cfg_rescale_multiplier"):
        gen.add_lost(f"cfg_rescale_multiplier {data['cfg_rescale_multiplier']!r}")
    return gen


# ------------------------------------------------------------------ InvokeAI 2.x

_RE_VERSION = re.compile(r"(\d+)\.(\d+)")


def _syntax_of_version(version: str | None) -> str | None:
    """InvokeAI 2.2 introduced the attention syntax that compel took over; before it, prompts were
    'text:weight' sub-prompt blends (no registered syntax)."""
    m = _RE_VERSION.search(version or "")
    return "compel" if m and (int(m.group(1)), int(m.group(2))) >= (2, 2) else None

def read_sd_metadata(text: str, *, container: str = "png:tEXt:sd-metadata") -> ImportedGeneration:
    data = load_json_object(text, "sd-metadata")
    image = data.get("image")
    images = data.get("images")
    note = None
    if image is None and isinstance(images, list) and images:
        # Some 2.x versions write a list of the images of the request; a file is one of them.
        image = images[0]
        if len(images) > 1:
            note = f"sd-metadata lists {len(images)} images; the first was read"
    if not isinstance(image, dict):
        raise ImportFailure(E_IMPORT_MALFORMED, "sd-metadata has no 'image' object (nor an 'images' list of them)")
    gen = ImportedGeneration(source_tool="InvokeAI", source_format="invokeai-sd-metadata", container=container)
    if note:
        gen.add_note(note)
    gen.raw["sd-metadata"] = text
    gen.source_version = _TYPED.str(data.get("app_version"), "app_version")
    gen.prompt_syntax = _syntax_of_version(gen.source_version)
    # 2.x names the weights "model_weights"; lstein 1.x wrote the models.yaml name as "model_id"
    gen.model_name = _TYPED.str(data.get("model_weights"), "model_weights") \
        or _TYPED.str(data.get("model_id"), "model_id")
    gen.model_hash = _TYPED.str(data.get("model_hash"), "model_hash")
    prompts = image.get("prompt")
    raw_prompt = None
    if isinstance(prompts, str):
        raw_prompt = prompts
    elif isinstance(prompts, list) and prompts:
        first = prompts[0]
        if not isinstance(first, dict) or not isinstance(first.get("prompt"), str):
            raise ImportFailure(E_IMPORT_MALFORMED, "sd-metadata prompt entries must be {prompt, weight}")
        raw_prompt = first["prompt"]
        if len(prompts) > 1 or first.get("weight", 1.0) != 1.0:
            gen.add_lost(f"weighted prompt blend of {len(prompts)} prompt(s): {json.dumps(prompts, ensure_ascii=False)[:120]}")
    if raw_prompt is not None:
        gen.prompt, gen.negative_prompt = split_prompt(raw_prompt)
        gen.extra["raw_prompt"] = raw_prompt
    _TYPED.fill(gen, image, SD_METADATA_FIELDS)
    strength_key = next((k for k in ("strength", "strength_steps") if image.get(k) is not None), None)
    if strength_key is not None and image.get("type") == "img2img":   # 2.0 wrote "strength_steps"
        gen.denoise = _TYPED.float(image[strength_key], strength_key)
        gen.add_lost("img2img: the init image is not in the metadata")
    for key, value in data.items():
        if key not in ("image", "images", "app_version", "model_weights", "model_hash"):
            gen.extra[key] = value
    typed = set(SD_METADATA_FIELDS) | {"prompt", "strength", "strength_steps"}
    for key, value in image.items():
        if key in typed:
            continue
        gen.extra[key] = value
        if key == "postprocessing" and value:
            steps = value if isinstance(value, list) else [value]
            gen.add_lost("post-processing after generation: "
                         + ", ".join(str(p.get("type") or p.get("tool")) if isinstance(p, dict) else str(p)[:20]
                                   for p in steps))        # 2.x says "type", 1.x "tool"
        elif key == "variations" and value:
            gen.add_lost(f"seed variations {json.dumps(value)[:80]}")
        elif key == "facetool" and not image.get("facetool_strength"):
            continue    # the face restorer named, at strength 0: not applied
        elif key not in HARMLESS and value not in (None, 0, False, "", [], {}):
            gen.add_lost(f"InvokeAI parameter {key!r}: {json.dumps(value, ensure_ascii=False)[:60]}")
    return gen


# ------------------------------------------------------------------ InvokeAI 1.x "Dream"

def parse_dream(text: str) -> tuple[str, dict[str, list[str]]]:
    """'"prompt" -s 50 -S 1 ...' -> (prompt, {switch: [values]}).

    InvokeAI 2.0 wrote the prompt unquoted ("banana sushi -s 50 ..."): then it is everything
    before the first switch. A ``#`` token starts a comment (the seeds of a ``--grid``)."""
    s = text.strip()
    end = -1
    if s.startswith('"'):
        for quote in re.finditer('"', s):
            i = quote.start()
            if i == 0:
                continue
            if i == len(s) - 1 or _RE_SWITCH_AHEAD.match(s, i + 1):
                end = i
                break
        if end < 0:
            raise ImportFailure(E_IMPORT_MALFORMED, "Dream metadata: the quoted prompt is not closed")
        prompt, rest = s[1:end], s[end + 1:]
    else:
        first = _RE_FIRST_SWITCH.search(s)
        if first is None:
            raise ImportFailure(E_IMPORT_MALFORMED, "Dream metadata has no switches after its prompt")
        prompt, rest = s[:first.start()], s[first.start():]
    rest = rest.split(" # ", 1)[0]
    options: dict[str, list[str]] = {}
    current: str | None = None
    for tok in rest.split():
        if tok in _KNOWN_SWITCHES or (_RE_OPTION.match(tok) and tok[:2] not in _KNOWN_SWITCHES):
            current = tok
            options.setdefault(current, [])
        elif tok[:2] in _KNOWN_SWITCHES and len(tok) > 2 and not tok.startswith("--"):
            # early Dream lines glue a one-letter switch to its value: -S3357757885, -W512, -Ak_lms
            current = tok[:2]
            options.setdefault(current, []).append(tok[2:])
        elif current is None:
            raise ImportFailure(E_IMPORT_MALFORMED, f"Dream metadata: value {tok[:20]!r} before any switch")
        else:
            options[current].append(tok)
    return prompt, options


def read_dream(text: str, *, container: str = "png:tEXt:Dream") -> ImportedGeneration:
    raw_prompt, options = parse_dream(text)
    gen = ImportedGeneration(source_tool="InvokeAI", source_format="invokeai-dream", container=container)
    gen.add_note("Dream (InvokeAI 1.x/2.0-2.1) prompts use the 'text:weight' sub-prompt blend, not compel's "
                 "syntax (from 2.2): prompt syntax unknown")
    gen.raw["Dream"] = text
    gen.prompt, gen.negative_prompt = split_prompt(raw_prompt)
    gen.extra["raw_prompt"] = raw_prompt
    for switch, values in options.items():
        if switch in DREAM_SWITCHES:
            attr, kind = DREAM_SWITCHES[switch]
            if len(values) != 1:
                raise ImportFailure(E_IMPORT_MALFORMED, f"Dream switch {switch} needs one value, has {len(values)}")
            setattr(gen, attr, _TYPED.typed(values[0], kind, switch))
            continue
        name = DREAM_EXTRA_NAMES.get(switch, switch.lstrip("-"))
        value: Any = [float(v) if RE_NUMBER.match(v) else v for v in values]
        value = value[0] if len(value) == 1 else (True if not value else value)
        gen.extra[name] = value
        if name in ("gfpgan_strength", "codeformer_fidelity", "upscale", "facetool"):
            gen.add_lost(f"post-processing {name} {value!r} (face restoration / upscaling after generation)")
        elif name == "hires_fix" and value is True:
            gen.add_lost("Dream switch --hires_fix: a high-resolution fix second pass")
        elif name == "grid" and value is True:
            gen.add_lost("Dream switch --grid: the image is a grid of several generations (the record is the first)")
        elif name not in HARMLESS:
            gen.add_lost(f"Dream switch {switch} {' '.join(values)} has no field of its own")
    if "-I" in options or "--init_img" in options:
        gen.add_lost("img2img: the init image is not in the metadata")
    return gen


#: Which reader each InvokeAI text key needs, in the order they are preferred.
READERS = {"invokeai_metadata": read_metadata, "sd-metadata": read_sd_metadata, "Dream": read_dream}


def detect(meta: RawMetadata) -> TextItem | None:
    """The newest of the three layouts the image carries."""
    return next((it for it in map(meta.first, READERS) if it is not None), None)


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    gen = READERS[item.key](item.value, container=item.container)
    dream = meta.first("Dream")
    if item.key == "sd-metadata" and dream is not None:
        gen.raw["Dream"] = dream.value  # 2.x writes both; the command line is the same generation
        _merge_dream(gen, dream.value)
    return gen


def _merge_dream(gen: ImportedGeneration, text: str) -> None:
    """What only the Dream line says: the prompt as typed for a weighted blend (sd-metadata holds
    the normalised parts), and switches sd-metadata has no key for (--hires_fix, --grid)."""
    try:
        d = read_dream(text)
    except ImportFailure:
        gen.add_note("the Dream line next to sd-metadata could not be read")
        return
    if any(x.startswith("weighted prompt blend") for x in gen.lost):
        gen.prompt, gen.negative_prompt = d.prompt, d.negative_prompt
        gen.add_note("prompt taken from the Dream line: a 'text:weight' blend as typed")
    for x in d.lost:
        if x.startswith("Dream switch --"):
            gen.add_lost(x)
