"""From an existing AI image's metadata to an AIGIF file (SPEC.md §5.3), with
an honest report of what was carried and what was lost.

The tool readers of this package read each tool's metadata into an
``ImportedGeneration``; this module maps it onto the registry: sampler names
through the schedulers table's name tables (:mod:`.samplers`), models through
their A1111 hashes and file names, A1111's RNG setting to a noise source.
Whatever has no field goes, as the tool wrote it, into the ``source``
extension — nothing is dropped silently.

Unknown stays unknown: a steps or CFG value the source did not state is
filled with the family default only because every file needs one, is named
in ``lost`` and listed under ``unknown`` in the source extension, and
:func:`to_imported` leaves it out again. A model that is not in the registry
is ``unregistered-<family>`` with the family from the record (SD.Next's
``Pipeline``, InvokeAI's base, Forge's text-encoder modules) or the name
(:data:`FAMILY_HINTS`); a name of an architecture no family describes
(:data:`UNSUPPORTED_FAMILIES`) is refused (``E_UNSUPPORTED``), and a name
without any hint is assumed sd and reported so. Sizes outside 1..16384 are
clamped and reported, never silently.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ..errors import AigifError
from ..file import AigifFile, Extension
from ..prompts import a1111 as a1111_syntax
from ..regen.resources import extension as resources_extension
from ..registry import Registry, load
from . import resources as importer_resources
from . import samplers
from .generation import ImportedGeneration

# A1111's "RNG" setting (absent means GPU) and each tool's noise habit.
RNG_NOISE = {"GPU": "torch-cuda", "CPU": "torch-cpu", "NV": "a1111-nv"}
TOOL_NOISE = {"ComfyUI": "torch-cpu", "Fooocus": "torch-cpu"}
#: Families told from a model's name (checked in order; the first match wins). SDXL derivatives
#: (Pony, Illustrious, NoobAI, Animagine...) rarely say "xl"; they are named here.
FAMILY_HINTS = (
    (re.compile(r"flux", re.I), "flux"),
    (re.compile(r"sd3|sd_3|stable[-_ ]?diffusion[-_ ]?3", re.I), "sd3"),
    (re.compile(r"xl|pony|illustrious|noob|animagine", re.I), "sdxl"),
    (re.compile(r"pixart.*sigma", re.I), "pixart-sigma"), (re.compile(r"pixart", re.I), "pixart-alpha"),
    (re.compile(r"sana", re.I), "sana"),
    (re.compile(r"sd[-_ ]?(?:v?1[-_.]?[45]|15)(?:[^0-9]|$)|v1-[45]-pruned|stable[-_ ]?diffusion[-_ ]?v?1", re.I), "sd"),
)
#: Model architectures no AIGIF family describes: a source naming one cannot be converted faithfully.
UNSUPPORTED_FAMILIES = (
    (re.compile(r"aura[-_ ]?flow", re.I), "AuraFlow"), (re.compile(r"hunyuan", re.I), "HunyuanDiT"),
    (re.compile(r"cascade|wuerstchen|würstchen", re.I), "Stable Cascade"), (re.compile(r"kolors", re.I), "Kolors"),
    (re.compile(r"(?<![a-z])lumina", re.I), "Lumina"), (re.compile(r"hidream", re.I), "HiDream"),
    (re.compile(r"qwen[-_ ]?image", re.I), "Qwen-Image"), (re.compile(r"(?<![a-z])chroma(?![a-z])", re.I), "Chroma"),
    (re.compile(r"(?<![a-z])wan[-_ ]?2", re.I), "Wan"),
    # not bare "anima": anime checkpoints are named so too
    (re.compile(r"cosmos|(?<![a-z])anima[-_ ]preview", re.I), "Cosmos"),
)
#: What other fields of a record say about the family: SD.Next's "Pipeline", InvokeAI's model "base".
PIPELINE_FAMILIES = {"StableDiffusionXLPipeline": "sdxl", "StableDiffusionXLImg2ImgPipeline": "sdxl",
                     "StableDiffusionPipeline": "sd", "StableDiffusion3Pipeline": "sd3", "FluxPipeline": "flux",
                     "PixArtSigmaPipeline": "pixart-sigma", "PixArtAlphaPipeline": "pixart-alpha",
                     "SanaPipeline": "sana"}
INVOKEAI_BASES = {"sdxl": "sdxl", "sd-1": "sd", "sd-2": "sd", "sd-3": "sd3", "flux": "flux", "sdxl-refiner": "sdxl"}
#: The family fields whose value must come from the source; a default in their place is not a fact.
SOURCED_FIELDS = {"steps": "steps", "guidance": "CFG scale"}
#: Tools whose sampler names are another tool's (SwarmUI and RuinedFooocus run ComfyUI's samplers,
#: Draw Things names them as A1111 does).
SAMPLER_NAMES_OF = {"SwarmUI": "ComfyUI", "RuinedFooocus": "ComfyUI", "Draw Things": "AUTOMATIC1111"}
#: Tools whose model hash is not a SHA-256 prefix (NovelAI writes its own 8-hex id).
FOREIGN_HASH_TOOLS = {"NovelAI"}
#: The largest width/height an AIGIF file holds (SPEC.md §11).
MAX_SIDE = 16384
#: Weight-file extensions a model name may end in; anything else after a dot is part of the name
#: ("Sour orangeMIXv4.1", "model.fp16").
WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")


#: what the ``source`` extension's settings keep of an imported generation: settings key -> attribute
#: (an empty value is left out; clip_skip 0 is kept)
SOURCE_SETTINGS = {
    "eta_noise_seed_delta": "eta_noise_seed_delta", "vae": "vae", "hires": "hires", "denoise": "denoise",
    "batch_size": "batch_size", "loras": "loras", "rng": "rng", "sampler": "sampler", "schedule": "schedule",
    "clip_skip": "clip_skip", "model": "model_name", "model_hash": "model_hash", "source_version": "source_version",
}

def model_stem(name: str) -> str:
    """A model's name without its directory and weight-file extension, every other dot kept."""
    base = PurePath(name.replace("\\", "/")).name
    for suffix in WEIGHT_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[:-len(suffix)]
    return base


@dataclass
class Conversion:
    file: AigifFile
    tool: str
    #: ``lost`` lists what changes the image and has no field: a non-empty list makes the file
    #: a partial record (its ``partial`` extension, SPEC.md §12.10)
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
    tables = samplers.tables(reg).tool_table
    # A tool without a name table of its own (a web front-end's JSON): its names count only when
    # exactly one table knows them, so that no name is read in a table it was not written for.
    candidates = [tool] if tool in tables else [t for t in ("AUTOMATIC1111", "ComfyUI") if t in tables]
    found = []
    for t in candidates:
        try:
            found.append(samplers.resolve(t, sampler, schedule, reg))
        except samplers.UnknownSamplerName:
            continue
    if len(found) != 1:
        return None
    return samplers.registry_key(found[0], reg)


def model_key(name: str | None, hexhash: str | None, reg: Registry, *,
              family: str | None = None) -> tuple[str, dict, str]:
    """(model key, model fields, how it was found).

    A model not in the registry is ``unregistered-<family>``: the family from ``family`` (what the
    record says elsewhere) or the name's hints. Raises AigifError E_UNSUPPORTED when the name is of
    an architecture no family describes; a name without any hint is the sd family, and ``how`` says
    that this is an assumption (the caller reports it as lost)."""
    h = (hexhash or "").lower()
    stem = model_stem(name or "")
    for m in reg.table("models").entries:
        if m.get("unregistered"):
            continue
        if h and any(x.startswith(h) or h.startswith(x) for x in m.get("a1111_hashes", [])):
            return m["key"], {}, f"A1111 hash {h}"
        names = {model_stem(n).lower() for n in m.get("file_names", [])}
        if stem and stem.lower() in names:
            return m["key"], {}, f"file name {stem}"
    how = "family {fam} from the record"
    if family is not None and not any(m["key"] == f"unregistered-{family}" for m in reg.table("models").entries):
        # the record names a family (ComfyUI: from the graph's nodes and loaders) that AIGIF does not describe
        raise AigifError("E_UNSUPPORTED", f"model {stem!r}: its family is not known" if family == "unknown" else
                         f"model {stem!r} is of the {family} family, which no AIGIF model family describes")
    if family is None:
        family = next((fam for rx, fam in FAMILY_HINTS if rx.search(stem)), None)
        how = "family {fam} from the name"
        if family is None:
            arch = next((label for rx, label in UNSUPPORTED_FAMILIES if rx.search(stem)), None)
            if arch is not None:
                raise AigifError("E_UNSUPPORTED", f"model {stem!r} looks like a {arch} model: no AIGIF model family "
                                                  "describes that architecture")
            family, how = "sd", "family unknown: sd assumed"
    try:
        raw = bytes.fromhex(h) if h and len(h) % 2 == 0 and len(h) <= 64 else b""
    except ValueError:
        raw = b""
    return (f"unregistered-{family}", {"weights_hash": raw, "model_name": stem},
            "not in the registry; " + how.format(fam=family))


def record_family(gen) -> str | None:
    """The family a record states outside the model name (SD.Next's Pipeline, InvokeAI's base, the family
    the ComfyUI importer read from the graph)."""
    told = gen.extra.get("model_family") if isinstance(gen.extra, dict) else None
    if isinstance(told, dict) and isinstance(told.get("family"), str):
        return told["family"]
    pipe = gen.extra.get("Pipeline") if isinstance(gen.extra, dict) else None
    if isinstance(pipe, str) and pipe in PIPELINE_FAMILIES:
        return PIPELINE_FAMILIES[pipe]
    base = gen.extra.get("model_base")
    if isinstance(base, str) and base in INVOKEAI_BASES:
        return INVOKEAI_BASES[base]
    # Forge names the separate text encoders / VAE of a UNet-only checkpoint: "Module 1: t5xxl_fp16...".
    modules = " ".join(str(v) for k, v in gen.extra.items() if k.startswith("Module ")).lower()
    if "clip_g" in modules and "t5" in modules:
        return "sd3"
    if "t5" in modules and "clip_l" in modules:
        return "flux"
    return None


def _utf8_safe_json(value) -> str:
    """JSON for an extension string: UTF-8 text when it has a UTF-8 form; a value holding a lone
    surrogate (which UTF-8 cannot encode, and the writer would fail on) is written with \\u escapes,
    which JSON reads back to the very same string."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    return text


def _utf8_safe(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def convert(gen, reg: Registry | None = None) -> Conversion:
    """ImportedGeneration -> Conversion (raises AigifError E_FIELDS when the
    metadata lacks what every AIGIF file needs)."""
    reg = reg or load()
    if gen.seed is None:
        raise AigifError("E_FIELDS", f"{gen.source_tool} metadata has no seed: the image cannot be regenerated")
    model_hash = gen.model_hash if gen.source_tool not in FOREIGN_HASH_TOOLS else None
    key, mfields, how = model_key(gen.model_name, model_hash, reg, family=record_family(gen))
    fam = reg.family_of(key)
    conv = Conversion(AigifFile(model=key, height=0, width=0, seed=0), gen.source_tool)
    f = conv.file
    conv.notes.append(f"model {key}: {how}")
    if how.endswith("sd assumed"):
        conv.lost.append(f"model family: {gen.model_name!r} is not in the registry and its name does not say its "
                         "family; the sd family was assumed")
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
    if w > MAX_SIDE or h > MAX_SIDE or w < 1 or h < 1:
        # not clamped silently: a 65535-pixel JPEG header or a ComfyUI width of 1e308 is not a size
        conv.lost.append(f"size {w}x{h} is outside 1..{MAX_SIDE}: clamped to "
                         f"{min(max(w, 1), MAX_SIDE)}x{min(max(h, 1), MAX_SIDE)}")
        w, h = min(max(w, 1), MAX_SIDE), min(max(h, 1), MAX_SIDE)
    if w % g or h % g:
        conv.lost.append(f"size {w}x{h} is not a multiple of {g} ({fam.key} family): rounded down to {w // g * g}x{h // g * g}")
        w, h = max(g, w // g * g), max(g, h // g * g)
    f.width, f.height = w, h
    if not 0 <= f.seed < 2 ** 64:
        raise AigifError("E_RANGE", f"seed {f.seed} is not an unsigned 64-bit integer")
    conv.carried += ["prompt", "negative prompt", "seed", "size", f"model ({key})"]
    f.fields = {x.name: x.default for x in fam.fields}
    unknown: list[str] = []
    if gen.steps is not None:
        f.fields["steps"] = gen.steps
        conv.carried.append("steps")
    cfg = gen.cfg_scale
    if cfg is not None and not math.isfinite(cfg):
        conv.lost.append(f"CFG scale {cfg!r} is not a finite number")
        cfg = None
    if cfg is not None:
        f.fields["guidance"] = float(cfg)
        conv.carried.append("CFG scale")
    for fname, label in SOURCED_FIELDS.items():
        if fname in f.fields and (gen.steps if fname == "steps" else cfg) is None:
            # The file must hold a value; it holds the family default, flagged as not the source's.
            unknown.append(fname)
            conv.lost.append(f"{label}: not in the metadata (unknown); the file holds the {fam.key} family default "
                             f"{f.fields[fname]!r} only because every file needs a value")
    sk = scheduler_key(SAMPLER_NAMES_OF.get(gen.source_tool, gen.source_tool), gen.sampler, gen.schedule, reg)
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
    # what the platform decides is the fidelity class (SPEC.md §12.4), not the recipe: a note
    conv.notes.append("platform: the source records no GPU/CUDA/versions (device 'unknown')")
    settings = {key: v for key, attr in SOURCE_SETTINGS.items() if (v := getattr(gen, attr, None)) not in (None, "", [], {})}
    if unknown:
        settings["unknown"] = unknown
    settings.update({f"extra.{k}": v for k, v in (gen.extra or {}).items()})
    expressed = _resources(gen, conv, reg)
    for k, why in (("eta_noise_seed_delta", "ENSD"), ("hires", "hires fix"), ("loras", "LoRAs"), ("vae", "VAE override")):
        if k in settings and k not in expressed:
            conv.lost.append(f"{why} is not applied on regeneration (kept in the source extension)")
    conv.lost += [x for x in gen.lost if x not in conv.lost]
    conv.notes += gen.notes
    if settings:
        f.extensions.append(Extension.of("source", {"tool": _utf8_safe(gen.source_tool),
                                                    "settings": _utf8_safe_json(settings)}, reg))
    _prompt_syntax(gen, fam.key, conv, reg)
    if conv.lost:  # SPEC.md §12.10: what changes the image and is not expressed makes a partial record
        f.extensions.append(Extension.of("partial", {"missing": _missing(conv.lost)}, reg))
    f.extensions.sort(key=lambda e: e.tag)
    return conv


def _resources(gen, conv: Conversion, reg: Registry) -> set[str]:
    """Add the ``resources`` extension (SPEC.md §12.11) when every LoRA, embedding and the VAE of an
    A1111-infotext source can be said exactly; the settings keys it expresses (none otherwise: they
    stay lost, with the reason)."""
    if gen.source_tool not in importer_resources.A1111_TOOLS:
        return set()
    found, problems, notes = importer_resources.a1111_resources(gen)
    conv.notes += notes
    if problems:
        conv.lost += problems
        return set()
    if not found:
        return set()
    conv.file.extensions.append(resources_extension(found, reg))
    conv.carried.append("resources, to supply with --resource-dir: " + "; ".join(r.describe() for r in found))
    return {"loras", "vae"}


MISSING_MAX_BYTES = 4096  # the partial extension's list: enough to say what, not a log


def _missing(lost: list[str]) -> str:
    """The `partial` extension's ``missing``: the lost items, one per line, within MISSING_MAX_BYTES."""
    lines: list[str] = []
    size = 0
    for n, item in enumerate(lost):
        line = _utf8_safe(" ".join(item.split()))  # one line each, whatever the source wrote
        if size + len(line.encode()) + 1 > MISSING_MAX_BYTES - 32:
            lines.append(f"… and {len(lost) - n} more")
            break
        lines.append(line)
        size += len(line.encode()) + 1
    return "\n".join(lines)


# AUTOMATIC1111's "Emphasis:" infotext values -> the `prompts` extension's emphasis (SPEC.md §12.9.2)
EMPHASIS_MODES = {name: i for i, name in enumerate(a1111_syntax.EMPHASIS_MODES)}


def _prompt_syntax(gen, family: str, conv: Conversion, reg: Registry) -> None:
    """The `prompts` extension: how the source tool read its prompts (SPEC.md §12.9)."""
    f, syntax = conv.file, gen.prompt_syntax
    if syntax is None:
        conv.lost.append(f"prompt syntax: {gen.source_tool}'s way of reading prompts is not known here; read as plain text")
        return
    if syntax not in reg.table("prompt_syntaxes").by_key:
        conv.lost.append(f"prompt syntax {syntax!r} is not registered; read as plain text")
        return
    fields = {"syntax": syntax, "emphasis": 0, "pad_conds": 0}
    if syntax == "a1111":
        mode = gen.emphasis or "Original"
        if mode not in EMPHASIS_MODES:
            conv.lost.append(f"Emphasis {mode!r} is none of {', '.join(EMPHASIS_MODES)}; Original used")
            mode = "Original"
        fields["emphasis"] = EMPHASIS_MODES[mode]
        extra = gen.extra or {}
        if str(extra.get("Pad conds v0", "")).lower() == "true":
            fields["pad_conds"] = 2
        elif str(extra.get("Pad conds", "")).lower() == "true":
            fields["pad_conds"] = 1
        if family == "sdxl" and f.fields.get("clip_skip"):
            conv.notes.append("clip skip: AUTOMATIC1111 does not apply it to SDXL; written as 0")
            f.fields["clip_skip"] = 0
    conv.carried.append(f"prompt syntax ({syntax}" + (f", emphasis {gen.emphasis}" if gen.emphasis else "") + ")")
    if syntax != "plain":
        f.extensions.append(Extension.of("prompts", fields, reg))
        f.extensions.sort(key=lambda e: e.tag)
    if not reg.table("prompt_syntaxes").by_key[syntax]["regenerates"]:
        conv.lost.append(f"prompt syntax {syntax}: no regenerator applies it")
        return
    from .. import prompts
    for what, text in (("prompt", f.prompt), ("negative prompt", f.negative_prompt)):
        try:  # what the regenerator will refuse, said now (SPEC.md §12.9, Appendix G)
            for part, _ in (prompts.subprompts(syntax, text) if what == "prompt" else [(text, 1.0)]):
                for _, entry in prompts.schedule(syntax, part, 20):
                    prompts.fragments(syntax, entry)
        except prompts.PromptSyntaxUnsupported as exc:
            conv.lost.append(f"{what}: the {syntax} construct {exc.construct} cannot be applied on regeneration")


def to_imported(f: AigifFile, reg: Registry | None = None):
    """AigifFile -> ImportedGeneration in AUTOMATIC1111's terms (for export).

    Only what the file knows is written: a value the source did not have (``unknown`` in the
    source extension) is left out, as is the key of an unregistered model; a sampler with no A1111
    name is left out with a reason in ``lost`` (the caller warns). A file converted from
    A1111/Forge/SD.Next gets its hires, LoRA/TI hashes, VAE and Version back from the extension."""
    reg = reg or load()
    src = f.extension_fields("source")
    settings = json.loads(src["settings"]) if src is not None else {}
    unknown = set(settings.get("unknown", []))
    key = f.fields.get("scheduler", "default")
    names = samplers.a1111_names(key, reg)
    tool = src["tool"] if src is not None else None
    # keep A1111's own spelling when the file came from A1111 and it still names this scheduler
    from_a1111 = tool in ("AUTOMATIC1111", "Forge", "SD.Next")
    lost: list[str] = []
    sampler, schedule = (settings.get("sampler"), settings.get("schedule")) if from_a1111 else (None, None)
    if names and (sampler is None or scheduler_key("AUTOMATIC1111", sampler, schedule, reg) != key):
        sampler, schedule = names
    elif sampler is None and settings.get("sampler"):
        lost.append(f"sampler {settings['sampler']!r} of {tool} has no A1111 name: the Sampler line is left out")
    m = reg.table("models").by_key[f.model]
    name = f.model_fields.get("model_name") or settings.get("model")
    if not name and not m.get("unregistered"):
        name = (m.get("file_names") or [m["key"]])[0]
    source_hash = settings.get("model_hash") if tool not in FOREIGN_HASH_TOOLS else None
    h = f.model_fields.get("weights_hash", b"").hex() or source_hash or (m.get("a1111_hashes") or [None])[0]
    if h and len(h) > 10 and all(c in "0123456789abcdefABCDEF" for c in h):
        h = h[:10]   # A1111's "Model hash" is AutoV2: the first 10 hex digits of the SHA-256
    rng = {"torch-cpu": "CPU", "a1111-nv": "NV"}.get(f.noise)
    clip = f.fields.get("clip_skip")
    extra: dict = {}
    hires = None
    denoise = None
    version = None
    vae = settings.get("vae")        # a VAE file name means the same in A1111, whoever wrote it
    if from_a1111:
        extra = {k[len("extra."):]: v for k, v in settings.items() if k.startswith("extra.")}
        hires = settings.get("hires") or None
        denoise = settings.get("denoise")
        version = settings.get("source_version")
    syntax = (f.extension_fields("prompts") or {"syntax": "plain"})["syntax"]
    prompt, negative = (_for_a1111(t, syntax, what, lost) for t, what in ((f.prompt, "prompt"), (f.negative_prompt, "negative prompt")))
    emphasis = (f.extension_fields("prompts") or {}).get("emphasis", 0)
    if emphasis:
        extra["Emphasis"] = a1111_syntax.EMPHASIS_MODES[emphasis]
    gen = ImportedGeneration(
        source_tool="AIGIF", prompt=prompt, negative_prompt=negative, seed=f.seed, prompt_syntax="a1111",
        steps=None if "steps" in unknown else f.fields.get("steps"),
        cfg_scale=None if "guidance" in unknown else f.fields.get("guidance"), sampler=sampler, schedule=schedule,
        width=f.width, height=f.height, model_name=model_stem(name) if name else None, model_hash=h,
        clip_skip=(clip + 1) if clip else settings.get("clip_skip"), rng=rng or settings.get("rng"),
        eta_noise_seed_delta=settings.get("eta_noise_seed_delta"), vae=vae, hires=hires, denoise=denoise,
        source_version=version, extra=extra)
    gen.lost += lost
    return gen


_A1111_SPECIAL = re.compile(r"([\\()\[\]])")
_A1111_WORDS = re.compile(r"\b(BREAK|AND)\b")


def _for_a1111(text: str, syntax: str, what: str, warnings: list[str]) -> str:
    """A prompt as AUTOMATIC1111 must be given it to read what the file means:
    a plain prompt has its brackets and backslashes escaped (A1111 would read
    them as weights); what A1111 cannot be told to read literally is named."""
    if syntax == "a1111":
        return text
    if syntax != "plain":
        warnings.append(f"{what}: written in {syntax} syntax; AUTOMATIC1111 reads its weights its own way")
        return text
    m = _A1111_WORDS.search(text)
    if m:
        warnings.append(f"{what}: AUTOMATIC1111 reads the word {m.group(1)} as a keyword (it has no escape)")
    if a1111_syntax.extra_networks(text)[1]:
        warnings.append(f"{what}: AUTOMATIC1111 reads <name:…> as an extra network (it has no escape)")
    escaped = _A1111_SPECIAL.sub(r"\\\1", text)
    if not m and what == "prompt" and a1111_syntax.subprompts(escaped) != [(escaped, 1.0)]:
        warnings.append(f"{what}: AUTOMATIC1111 reads a trailing ':number' as a guidance weight (it has no escape)")
    return escaped
