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

from .coerce import Coercer, load_json_object
from .containers import RawMetadata, TextItem
from .errors import E_IMPORT_MALFORMED, ImportFailure
from .generation import ImportedGeneration

_RE_HASH8 = re.compile(r"[0-9A-Fa-f]{8}")
#: NovelAI writes JSON numbers; a number written as a string is not one.
_TYPED = Coercer("NovelAI")
#: Comment key -> (ImportedGeneration field, type)
TYPED_FIELDS = {
    "uc": ("negative_prompt", "str"), "seed": ("seed", "int"), "steps": ("steps", "int"),
    "scale": ("cfg_scale", "float"), "sampler": ("sampler", "str"), "noise_schedule": ("schedule", "str"),
    "width": ("width", "int"), "height": ("height", "int"), "n_samples": ("batch_size", "int"),
}
#: Keys read into fields (the rest go to extra).
FIELDS = set(TYPED_FIELDS) | {"prompt"}
HARMLESS = {"signed_hash", "request_type", "Generation time", "generation_time"}


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``Comment`` text of an image whose ``Software`` is NovelAI, or a Comment that is NovelAI's JSON."""
    soft = meta.first("Software")
    comment = meta.first("Comment")
    if comment is not None and ((soft is not None and soft.value.strip() == "NovelAI")
                                or (comment.value.lstrip().startswith("{") and '"uc"' in comment.value)):
        return comment
    return None


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    chunks: dict[str, str] = {}
    for it in meta.items:
        chunks.setdefault(it.key, it.value)
    return read_chunks(chunks, container=item.container)


def read_chunks(chunks: dict[str, str], *, container: str = "png:tEXt:Comment") -> ImportedGeneration:
    """``chunks``: the text items by key (Comment required; Description, Source, Software optional)."""
    comment = chunks.get("Comment")
    if comment is None:
        raise ImportFailure(E_IMPORT_MALFORMED, "NovelAI image without a Comment chunk")
    data = load_json_object(comment, "NovelAI Comment")
    gen = ImportedGeneration(source_tool="NovelAI", source_format="novelai-comment", container=container,
                             prompt_syntax="novelai")
    gen.raw.update({k: v for k, v in chunks.items() if isinstance(v, str)})
    prompt = _TYPED.str(data.get("prompt"), "prompt")
    description = chunks.get("Description")
    if prompt is None:
        prompt = description
    elif description is not None and description != prompt:
        gen.extra["Description"] = description
    gen.prompt = prompt
    _TYPED.fill(gen, data, TYPED_FIELDS)
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
        if key in FIELDS:
            continue
        gen.extra[key] = value
        if key in ("strength", "noise") and not is_img2img:
            continue
        if key not in HARMLESS and value not in (None, False, "", [], {}):  # null/false/0/empty: the option is off
            gen.add_lost(f"NovelAI parameter {key!r}: {json.dumps(value, ensure_ascii=False)[:80]} has no field of its own")
    if is_img2img:
        gen.denoise = _TYPED.float(data.get("strength"), "strength")
    elif "strength" in data:
        gen.add_note("'strength'/'noise' are img2img settings NovelAI writes for every request; kept in extra")
    return gen
