"""From an existing AI image's metadata to an AIGIF file (SPEC.md §5.3), with
an honest report of what was carried and what was lost.

The tool readers of this package read each tool's metadata into an
``ImportedGeneration``; this module maps it onto the registry: sampler names
through the schedulers table's name tables (:mod:`.samplers`), models through
their A1111 hashes and file names, A1111's RNG setting to a noise source.
Whatever has no field goes, as the tool wrote it, into the ``source``
extension — nothing is dropped silently.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ..errors import AigifError
from ..file import AigifFile, Extension
from ..registry import Registry, load
from . import samplers
from .generation import ImportedGeneration

# A1111's "RNG" setting (absent means GPU) and each tool's noise habit.
RNG_NOISE = {"GPU": "torch-cuda", "CPU": "torch-cpu", "NV": "a1111-nv"}
TOOL_NOISE = {"ComfyUI": "torch-cpu", "Fooocus": "torch-cpu"}
FAMILY_HINTS = ((re.compile(r"flux", re.I), "flux"), (re.compile(r"sd3|sd_3|stable-diffusion-3", re.I), "sd3"),
                (re.compile(r"xl|pony|illustrious", re.I), "sdxl"), (re.compile(r"pixart.*sigma", re.I), "pixart-sigma"),
                (re.compile(r"pixart", re.I), "pixart-alpha"), (re.compile(r"sana", re.I), "sana"))


@dataclass
class Conversion:
    file: AigifFile
    tool: str
    carried: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def scheduler_key(tool: str, sampler: str | None, schedule: str | None, reg: Registry) -> str | None:
    """Registry scheduler for a tool's sampler/schedule names, or None when no entry runs them.

    The names resolve through the registry's name tables to a (solver,
    schedule) pair — which knows, e.g., that A1111 >= 1.9's "Automatic" means
    Karras for DPM++ 2M — and the entry that lists that pair is the answer."""
    if not sampler:
        return None
    try:
        res = samplers.resolve(tool, sampler, schedule, reg)
    except samplers.UnknownSamplerName:
        return None
    return samplers.registry_key(res, reg)


def model_key(name: str | None, hexhash: str | None, reg: Registry) -> tuple[str, dict, str]:
    """(model key, model fields, how it was found)."""
    h = (hexhash or "").lower()
    stem = PurePath(name or "").name
    for m in reg.table("models").entries:
        if m.get("unregistered"):
            continue
        if h and any(x.startswith(h) or h.startswith(x) for x in m.get("a1111_hashes", [])):
            return m["key"], {}, f"A1111 hash {h}"
        names = {PurePath(n).stem.lower() for n in m.get("file_names", [])}
        if stem and PurePath(stem).stem.lower() in names:
            return m["key"], {}, f"file name {stem}"
    family = next((fam for rx, fam in FAMILY_HINTS if rx.search(stem)), "sd")
    try:
        raw = bytes.fromhex(h) if h and len(h) % 2 == 0 and len(h) <= 64 else b""
    except ValueError:
        raw = b""
    return f"unregistered-{family}", {"weights_hash": raw, "model_name": stem}, f"not in the registry; family {family} guessed from the name"


def convert(gen, reg: Registry | None = None) -> Conversion:
    """ImportedGeneration -> Conversion (raises AigifError E_FIELDS when the
    metadata lacks what every AIGIF file needs)."""
    reg = reg or load()
    if gen.seed is None:
        raise AigifError("E_FIELDS", f"{gen.source_tool} metadata has no seed: the image cannot be regenerated")
    key, mfields, how = model_key(gen.model_name, gen.model_hash, reg)
    fam = reg.family_of(key)
    conv = Conversion(AigifFile(model=key, height=0, width=0, seed=0), gen.source_tool)
    f = conv.file
    conv.notes.append(f"model {key}: {how}")
    f.model_fields = mfields
    f.prompt, f.negative_prompt = gen.prompt or "", gen.negative_prompt or ""
    f.seed = gen.seed
    g = fam.size_multiple
    w, h = gen.width, gen.height
    if w is None or h is None:
        if not gen.image_size:
            raise AigifError("E_FIELDS", f"{gen.source_tool} metadata has no image size")
        w, h = gen.image_size
        conv.lost.append(f"generation size: not in the metadata; the image's own size {w}x{h} was used")
    if w % g or h % g:
        conv.lost.append(f"size {w}x{h} is not a multiple of {g} ({fam.key} family): rounded down to {w // g * g}x{h // g * g}")
        w, h = max(g, w // g * g), max(g, h // g * g)
    f.width, f.height = min(w, 16384), min(h, 16384)
    if not 0 <= f.seed < 2 ** 64:
        raise AigifError("E_RANGE", f"seed {f.seed} is not an unsigned 64-bit integer")
    conv.carried += ["prompt", "negative prompt", "seed", "size", f"model ({key})"]
    f.fields = {x.name: x.default for x in fam.fields}
    if gen.steps is not None:
        f.fields["steps"] = gen.steps
        conv.carried.append("steps")
    if gen.cfg_scale is not None:
        f.fields["guidance"] = float(gen.cfg_scale)
        conv.carried.append("CFG scale")
    sk = scheduler_key(gen.source_tool, gen.sampler, gen.schedule, reg)
    if sk is not None and reg.table("schedulers").by_key[sk]["kind"] in ("any", fam.raw["scheduler_kind"]):
        f.fields["scheduler"] = sk
        conv.carried.append(f"sampler ({gen.sampler}{' / ' + gen.schedule if gen.schedule else ''} -> {sk})")
    elif gen.sampler:
        schedule = f" / {gen.schedule!r}" if gen.schedule else ""
        conv.lost.append(f"sampler {gen.sampler!r}{schedule} has no registered diffusers scheduler (kept in the source extension)")
    if gen.clip_skip is not None and "clip_skip" in f.fields:
        f.fields["clip_skip"] = max(0, gen.clip_skip - 1)  # A1111: 1 = no skip; diffusers: 0 = no skip
        conv.carried.append("clip skip")
    a1111 = gen.source_tool in ("AUTOMATIC1111", "Forge")
    # an RNG value A1111 does not write is not guessed at (it stays in the source extension)
    noise = RNG_NOISE.get(gen.rng or "GPU", "unknown") if a1111 else TOOL_NOISE.get(gen.source_tool, "unknown")
    f.noise = noise
    if noise == "unknown" and a1111:
        conv.lost.append(f"noise source: RNG {gen.rng!r} is none of {', '.join(RNG_NOISE)}")
    elif noise == "unknown":
        conv.lost.append(f"noise source: {gen.source_tool} does not record where its noise came from")
    else:
        conv.carried.append(f"noise source ({noise})")
    f.device, f.dtype, f.text_coder = "unknown", "float16", "deflate"
    conv.lost.append("platform: the source records no GPU/CUDA/versions (device 'unknown')")
    settings = {}
    for k in ("eta_noise_seed_delta", "vae", "hires", "denoise", "batch_size"):
        v = getattr(gen, k, None)
        if v not in (None, [], {}):
            settings[k] = v
    if gen.loras:
        settings["loras"] = gen.loras
    if gen.rng:
        settings["rng"] = gen.rng
    if gen.sampler:
        settings["sampler"] = gen.sampler
    if gen.schedule:
        settings["schedule"] = gen.schedule
    if gen.clip_skip is not None:
        settings["clip_skip"] = gen.clip_skip
    if gen.model_name:
        settings["model"] = gen.model_name
    if gen.model_hash:
        settings["model_hash"] = gen.model_hash
    settings.update({f"extra.{k}": v for k, v in (gen.extra or {}).items()})
    for k, why in (("eta_noise_seed_delta", "ENSD"), ("hires", "hires fix"), ("loras", "LoRAs"), ("vae", "VAE override")):
        if k in settings:
            conv.lost.append(f"{why} is not applied on regeneration (kept in the source extension)")
    conv.lost += [x for x in gen.lost if x not in conv.lost]
    conv.notes += gen.notes
    if settings:
        settings_json = json.dumps(settings, ensure_ascii=False, sort_keys=True, default=str)
        f.extensions = [Extension.of("source", {"tool": gen.source_tool, "settings": settings_json}, reg)]
    return conv


def to_imported(f: AigifFile, reg: Registry | None = None):
    """AigifFile -> ImportedGeneration in AUTOMATIC1111's terms (for export)."""
    reg = reg or load()
    src = f.extension_fields("source")
    settings = json.loads(src["settings"]) if src is not None else {}
    key = f.fields.get("scheduler", "default")
    names = samplers.a1111_names(key, reg)
    # keep A1111's own spelling when the file came from A1111 and it still names this scheduler
    from_a1111 = src is not None and src["tool"] in ("AUTOMATIC1111", "Forge")
    sampler, schedule = (settings.get("sampler"), settings.get("schedule")) if from_a1111 else (None, None)
    if names and (sampler is None or scheduler_key("AUTOMATIC1111", sampler, schedule, reg) != key):
        sampler, schedule = names
    elif sampler is None and not names:
        sampler = settings.get("sampler")  # no A1111 name exists: say what the source called it
    m = reg.table("models").by_key[f.model]
    name = f.model_fields.get("model_name") or settings.get("model") or (m.get("file_names") or [m["key"]])[0]
    h = f.model_fields.get("weights_hash", b"").hex() or settings.get("model_hash") or (m.get("a1111_hashes") or [None])[0]
    rng = {"torch-cpu": "CPU", "a1111-nv": "NV"}.get(f.noise)
    clip = f.fields.get("clip_skip")
    return ImportedGeneration(
        source_tool="AIGIF", prompt=f.prompt, negative_prompt=f.negative_prompt, seed=f.seed,
        steps=f.fields.get("steps"), cfg_scale=f.fields.get("guidance"), sampler=sampler, schedule=schedule,
        width=f.width, height=f.height, model_name=PurePath(name).stem if name else None, model_hash=h,
        clip_skip=(clip + 1) if clip else settings.get("clip_skip"), rng=rng or settings.get("rng"),
        eta_noise_seed_delta=settings.get("eta_noise_seed_delta"))
