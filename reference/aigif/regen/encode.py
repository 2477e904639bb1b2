"""Encoding: generate an image and write the AIGIF file that regenerates it.

``record(pipe, **call_kwargs)`` lets an existing diffusers script save a
.aigif beside each image; ``encode_fields`` backs ``aigif encode``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import __version__, codec, jsonform
from ..errors import AigifError
from ..file import AigifFile, Extension, PixelPayload
from ..registry import Registry, load
from . import Regenerator, loading, pixels

WRITER = "aigif-reference " + ".".join(__version__.split(".")[:2])  # major.minor: what decides the output


#: what ``software=`` writes of the ``software`` extension (SPEC.md §6.2.3): ``compact`` holds what a
#: verifier compares to predict a bit-exact image (§12.4: torch, diffusers, transformers, and the CPU kernels on
#: CPU), ``full`` adds the writer, ``none`` writes no extension (the fidelity of such a file is at best
#: "within tolerance"); a field left out is written as ""
SOFTWARE_LEVELS = {"compact": ("torch", "diffusers", "transformers", "cpu"),
                   "full": ("torch", "diffusers", "transformers", "cpu", "writer"), "none": ()}


def stamp(f: AigifFile, regen: Regenerator, image, keep_pixels: bool, digest_len: int = 8, software: str = "compact") -> AigifFile:
    """Record the platform, software versions (as much as ``software`` says) and digest of a generated image."""
    if software not in SOFTWARE_LEVELS:
        raise AigifError("E_FIELDS", f"software={software!r}: one of {', '.join(SOFTWARE_LEVELS)}")
    p = regen.platform
    f.device = p.device
    f.platform = p.platform_fields(regen.reg)
    f.extensions = [e for e in f.extensions if e.key != "software"]
    if SOFTWARE_LEVELS[software]:
        versions = {"torch": p.torch, "diffusers": p.diffusers, "transformers": p.transformers,
                    "cpu": p.cpu_capability if p.device == "cpu" else "", "writer": WRITER}
        f.extensions.append(Extension.of("software", {k: v if k in SOFTWARE_LEVELS[software] else "" for k, v in versions.items()}, regen.reg))
    f.extensions.sort(key=lambda e: e.tag)
    px = pixels.canonical(image)
    f.digest = pixels.digest(px, digest_len)
    if keep_pixels:
        f.pixels = PixelPayload("png", pixels.encode_png(px))
    return f


def smallest(f: AigifFile, reg: Registry) -> AigifFile:
    """The text coder giving the smallest file, ties to the lowest ID (SPEC.md §7.6)."""
    best = None
    for c in reg.table("text_coders").entries:
        f.text_coder = c["key"]
        try:
            n = len(codec.write(f, reg))
        except AigifError as err:
            if err.code != "E_UNSUPPORTED":
                raise
            continue
        if best is None or n < best[0]:
            best = (n, c["key"])
    if best is None:
        raise AigifError("E_UNSUPPORTED", "no text coder of the registry can encode this file here")
    f.text_coder = best[1]
    return f


def encode_fields(fields: dict, regen: Regenerator, keep_pixels: bool = False, text_coder: str | None = None, software: str = "compact"):
    """Fields (the JSON shape, registry defaults for what is missing) -> (image, file bytes); ``software``: see :data:`SOFTWARE_LEVELS`."""
    f = jsonform.from_json(fields, regen.reg)
    codec.write(f, regen.reg)  # reject impossible values before spending time on generation
    image = regen.generate(f)
    stamp(f, regen, image, keep_pixels, software=software)
    if text_coder:
        f.text_coder = text_coder
    else:
        smallest(f, regen.reg)
    return image, codec.write(f, regen.reg), f


# ------------------------------------------------------------------ record
_CALL_ARGS = {"prompt", "negative_prompt", "height", "width", "generator"}


def default_size(pipe) -> tuple[int, int]:
    """(height, width) a pipeline makes when the call gives none, as diffusers computes it:
    SDXL/SD3-style pipelines have ``default_sample_size``, SD 1.x/2.x uses the UNet's ``sample_size``."""
    s = getattr(pipe, "default_sample_size", None)
    if s is None:
        s = pipe.unet.config.sample_size
    h, w = (s, s) if isinstance(s, int) else s
    return h * pipe.vae_scale_factor, w * pipe.vae_scale_factor


def _recordable(pipe, call_kwargs: dict, by_arg: dict, family: str) -> dict:
    """The call's arguments that change the image: each must map to a family field
    (``arg`` in registry/families.json); one left at the pipeline's own default is dropped."""
    import inspect
    n = call_kwargs.get("num_images_per_prompt")
    if n is not None and n != 1:
        raise AigifError("E_FIELDS", f"num_images_per_prompt={n}: an AIGIF file holds one image (one seed); "
                         "call record() once per image, each with its own seeded generator")
    params = inspect.signature(pipe.__call__).parameters
    out, cannot = {}, []
    for k, v in call_kwargs.items():
        if k in _CALL_ARGS or k in by_arg or k == "seed":
            out[k] = v
        elif k in params and params[k].default is not inspect.Parameter.empty and _same(v, params[k].default):
            continue  # the pipeline's default: the regenerated call makes the same image without it
        else:
            cannot.append(f"{k}={v!r}")
    if cannot:
        raise AigifError("E_FIELDS", f"cannot record {', '.join(cannot)}: the {family} family has no field for "
                         f"{'it' if len(cannot) == 1 else 'them'} (recordable: {', '.join(sorted((set(by_arg) | _CALL_ARGS) - {'scheduler'}))}); "
                         "leave it at the pipeline's default")
    return out


def _same(a, b) -> bool:
    try:
        return type(a) in (int, float, str, bool, type(None)) and bool(a == b)
    except Exception:  # a value we cannot compare is not the default
        return False


def _model_key(pipe, reg: Registry) -> tuple[str, dict]:
    """Registry key of a loaded pipeline (by its source), else its family's unregistered entry."""
    src = str(getattr(pipe.config, "_name_or_path", "") or "")
    for m in reg.table("models").entries:
        s = m.get("source") or {}
        cands = [s.get("hub_repo"), *(m.get("aliases") or [])]
        if s.get("local"):
            cands.append(str((loading.ROOT / s["local"]).resolve()))
        if src and (src in cands or (Path(src).exists() and str(Path(src).resolve()) in cands)):
            return m["key"], {}
    fam = next((k for k, v in reg.families.items() if v.raw["pipeline"] == type(pipe).__name__), None)
    if fam is None:
        raise AigifError("E_REGEN_UNSUPPORTED", f"{type(pipe).__name__} is not a registered pipeline family")
    return f"unregistered-{fam}", {"weights_hash": b"", "model_name": Path(src).name}


def _scheduler_key(pipe, model_key: str, reg: Registry, regen: Regenerator) -> str:
    """The registry scheduler entry that reproduces ``pipe.scheduler`` exactly."""
    import diffusers
    entry = reg.table("models").by_key[model_key]
    try:
        if entry.get("unregistered"):  # the pipeline's own directory: where it was loaded from
            path = Path(str(getattr(pipe.config, "_name_or_path", "") or "") or "/nonexistent")
        else:
            path = loading.locate(model_key, {}, reg, regen.model_dirs)
        shipped = json.loads((path / "scheduler" / "scheduler_config.json").read_text())
    except (AigifError, OSError, ValueError):
        shipped = None
    if shipped is None and entry.get("unregistered"):
        src = str(getattr(pipe.config, "_name_or_path", "") or "") or "(unknown source)"
        raise AigifError("E_REGEN_UNSUPPORTED", f"the pipeline's model {src!r} is not a registered model (registry/models.json) "
                         f"and is not a local diffusers directory: record() writes such a model as {model_key} (its model_name "
                         "and an empty weights_hash) and needs the model's shipped scheduler config to name the scheduler; "
                         "load the pipeline with from_pretrained(LOCAL_DIR), then regenerate with --model-dir name:NAME=LOCAL_DIR")
    cur = dict(pipe.scheduler.config)
    for s in reg.table("schedulers").entries:
        if shipped is None:
            break
        base_cls = getattr(diffusers, shipped["_class_name"])
        cls = base_cls if s["class"] is None else getattr(diffusers, s["class"])
        if cls is not type(pipe.scheduler):
            continue
        cand = cls.from_config(base_cls.from_config(shipped).config, **s["config"])
        if dict(cand.config) == cur:
            return s["key"]
    raise AigifError("E_REGEN_UNSUPPORTED", f"{type(pipe.scheduler).__name__} with this configuration is not a registered scheduler")


def record(pipe, path: str | None = None, *, noise: str = "torch-cpu", keep_pixels: bool = False, regen: Regenerator | None = None,
           prompt_syntax: str = "plain", software: str = "compact", **call_kwargs):
    """Call ``pipe(**call_kwargs)`` and return (image, AigifFile); write it to ``path`` if given.

    ``generator`` must be a seeded torch.Generator (its initial seed is
    recorded) or absent with ``seed=`` given. Every other argument must map to
    a registry field of the pipeline's family, so the file reproduces the call.
    ``prompt_syntax`` (a key of the registry's prompt_syntaxes) says how the
    prompts are read: ``plain`` is what the pipeline itself does with them;
    another syntax (``"a1111"``) generates with that reading instead.
    ``software`` says how much of the software versions to record (:data:`SOFTWARE_LEVELS`).
    """
    import torch
    reg = load()
    # the caller's own generation: no work budget (that guards against files from elsewhere, SPEC.md §16)
    regen = regen or Regenerator(device=pipe.device.type, max_work=sys.maxsize)
    model, mfields = _model_key(pipe, reg)
    fam = reg.family_of(model)
    by_arg = {fl.arg: fl for fl in fam.fields if fl.arg}
    call_kwargs = _recordable(pipe, call_kwargs, by_arg, fam.key)
    gen = call_kwargs.pop("generator", None)
    seed = call_kwargs.pop("seed", None)
    if gen is not None:
        seed = gen.initial_seed()
        noise = "torch-cuda" if gen.device.type == "cuda" else "torch-cpu"
    if seed is None:
        raise AigifError("E_FIELDS", "record needs generator= (a seeded torch.Generator) or seed=")
    fields = {fl.name: call_kwargs[fl.arg] if call_kwargs.get(fl.arg) is not None else fl.default for fl in fam.fields if fl.arg and fl.arg != "scheduler"}
    for fl in fam.fields:
        if fl.type == "str" and fields.get(fl.name) is None:
            fields[fl.name] = ""
    if "clip_skip" in fields and fields["clip_skip"] is None:
        fields["clip_skip"] = 0
    fields["scheduler"] = _scheduler_key(pipe, model, reg, regen)
    size = default_size(pipe)
    dtype = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[pipe.dtype]
    f = jsonform.new(model, reg, prompt=call_kwargs.get("prompt", ""), negative_prompt=call_kwargs.get("negative_prompt") or "",
                     height=call_kwargs.get("height") or size[0], width=call_kwargs.get("width") or size[1],
                     seed=seed, fields=fields, dtype=dtype, noise=noise)
    f.model_fields.update(mfields)
    if prompt_syntax != "plain":
        if prompt_syntax not in reg.table("prompt_syntaxes").by_key:
            raise AigifError("E_FIELDS", f"prompt_syntax {prompt_syntax!r}: the registry has {', '.join(reg.table('prompt_syntaxes').by_key)}")
        f.extensions.append(Extension.of("prompts", {"syntax": prompt_syntax, "emphasis": 0, "pad_conds": 0}, reg))
    regen.adopt(f, pipe)
    image = regen.generate(f)
    stamp(f, regen, image, keep_pixels, software=software)
    smallest(f, reg)
    if path is not None:
        from ..fsutil import atomic_write
        atomic_write(path, codec.write(f, reg))
    return image, f
