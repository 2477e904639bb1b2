"""NovelAI: ``Description`` / ``Comment`` / ``Source`` PNG text chunks.

NovelAI writes ``Title`` ("AI generated image"), ``Software`` ("NovelAI"),
``Source`` (model name and an 8-hex model hash, e.g. "Stable Diffusion
1D44365E"), ``Description`` (the prompt) and ``Comment``, a JSON object::

    {"steps": 50, "sampler": "k_euler_ancestral", "seed": 2253955223, "strength": 0.4,
     "noise": 0.0, "scale": 10.0, "uc": "<negative prompt>"}

Newer images add ``prompt``, ``width``, ``height``, ``n_samples``,
``noise_schedule``, ``sm`` / ``sm_dyn`` (SMEA), ``cfg_rescale``,
``uncond_scale``, ``request_type``, ``v4_prompt``... and also hide the same
chunks as JSON in the alpha channel (stealth ``stealth_pngcomp``), which
:mod:`.containers` reads.

``strength`` and ``noise`` are img2img settings that NovelAI writes even
for text-to-image; they become ``denoise`` only when ``request_type`` says
the image was an img2img request.

sd-parsers reads the same chunks but strips the prompt; this module is ours.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

_RE_HASH8 = re.compile(r"[0-9A-Fa-f]{8}")
TYPED = {"steps", "sampler", "seed", "scale", "uc", "prompt", "width", "height", "noise_schedule", "n_samples"}
HARMLESS = {"signed_hash", "request_type", "Generation time", "generation_time"}


def _int(v: Any, key: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ImportFailure(E_IMPORT_MALFORMED, f"NovelAI {key} is not an integer")


def _float(v: Any, key: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise ImportFailure(E_IMPORT_MALFORMED, f"NovelAI {key} is not a number")


def _str(v: Any, key: str) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise ImportFailure(E_IMPORT_MALFORMED, f"NovelAI {key} is not a string")


def read(chunks: dict[str, str], *, container: str = "png:tEXt:Comment") -> ImportedGeneration:
    """``chunks``: the text items by key (Comment required; Description, Source, Software optional)."""
    comment = chunks.get("Comment")
    if comment is None:
        raise ImportFailure(E_IMPORT_MALFORMED, "NovelAI image without a Comment chunk")
    try:
        data = json.loads(comment)
    except RecursionError:
        raise ImportFailure(E_IMPORT_MALFORMED, "NovelAI Comment JSON is nested too deeply") from None
    except ValueError:
        raise ImportFailure(E_IMPORT_MALFORMED, "NovelAI Comment is not valid JSON") from None
    if not isinstance(data, dict):
        raise ImportFailure(E_IMPORT_MALFORMED, "NovelAI Comment is not a JSON object")
    gen = ImportedGeneration(source_tool="NovelAI", source_format="novelai-comment", container=container)
    gen.raw.update({k: v for k, v in chunks.items() if isinstance(v, str)})
    prompt = _str(data.get("prompt"), "prompt")
    description = chunks.get("Description")
    if prompt is None:
        prompt = description
    elif description is not None and description != prompt:
        gen.extra["Description"] = description
    gen.prompt = prompt
    gen.negative_prompt = _str(data.get("uc"), "uc")
    gen.seed = _int(data.get("seed"), "seed")
    gen.steps = _int(data.get("steps"), "steps")
    gen.cfg_scale = _float(data.get("scale"), "scale")
    gen.sampler = _str(data.get("sampler"), "sampler")
    gen.schedule = _str(data.get("noise_schedule"), "noise_schedule")
    gen.width = _int(data.get("width"), "width")
    gen.height = _int(data.get("height"), "height")
    gen.batch_size = _int(data.get("n_samples"), "n_samples")
    if gen.width is None:
        gen.add_note("the Comment carries no width/height (older NovelAI): generation size unknown "
                     "(usually the pixel size of an uncropped original)")
    source = chunks.get("Source")
    if isinstance(source, str):
        gen.model_name = source
        parts = source.rsplit(None, 1)
        if len(parts) == 2 and _RE_HASH8.fullmatch(parts[1]):
            gen.model_hash = parts[1]
    for key in ("Title", "Software", "Generation time"):
        if key in chunks:
            gen.extra[key] = chunks[key]
    request = data.get("request_type")
    is_img2img = isinstance(request, str) and "img2img" in request.lower()
    for key, value in data.items():
        if key in TYPED:
            continue
        gen.extra[key] = value
        if key in ("strength", "noise") and not is_img2img:
            continue
        if key not in HARMLESS:
            gen.add_lost(f"NovelAI parameter {key!r}: {json.dumps(value, ensure_ascii=False)[:80]} has no field of its own")
    if is_img2img:
        gen.denoise = _float(data.get("strength"), "strength")
    elif "strength" in data:
        gen.add_note("'strength'/'noise' are img2img settings NovelAI writes for every request; kept in extra")
    return gen
