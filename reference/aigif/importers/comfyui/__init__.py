"""ComfyUI: generation parameters out of the executed ``prompt`` graph (API format).

The package: :mod:`.graph` (loading the graph, reading one sampler node),
:mod:`.walks` (the paths through it), :mod:`.workflow` (an image with only
the UI graph); this module assembles the generation.

ComfyUI's SaveImage writes two PNG text chunks: ``prompt`` (the graph that
ran: ``{node_id: {"class_type": ..., "inputs": {...}}}``, where an input is
a literal or a link ``[node_id, output_slot]``) and ``workflow`` (the UI
graph with positions). Only ``prompt`` is read; ``workflow`` holds the same
values as positional ``widgets_values`` and is kept in ``raw``. The WebP and
animated savers write both into EXIF instead (``Model`` = ``prompt:{...}``,
``Make`` = ``workflow:{...}``).

How the generation is found
---------------------------
1. **Output**: the SaveImage/PreviewImage-like nodes. The image path is
   followed upstream (VAEDecode, image post-processing; an image node with
   inputs of other names through any of them) to the *final sampler*, which
   may work on pixels (UltimateSDUpscale, FaceDetailer, DetailerForEach).
   ComfyUI embeds the same graph in every output, so when several outputs
   exist the importer cannot know which one this file is: it takes the
   output with the longest chain of sampler passes and says so in ``notes``.
2. **Pass chain**: from the final sampler, what it starts from (latent or
   image input) is followed upstream (LatentUpscale, LatentComposite's
   ``samples_to``, VAEEncode / VAEDecode, ...) to earlier samplers and
   finally to the source: an empty latent (txt2img: size and batch) or a
   LoadImage (img2img). A chain whose first sampler is fed by another
   sampler through anything else (Stable Cascade's stage C reaches stage B
   as ``stage_c`` conditioning) is extended upstream, so the base pass is
   the one that made the composition. Consecutive KSamplerAdvanced nodes
   where the second continues the first (``add_noise`` disabled,
   ``start_at_step`` = previous ``end_at_step``) form one logical pass.
   Pass-through nodes (rgthree contexts and switches, Impact's basic pipes,
   the efficiency-nodes samplers' outputs; :data:`.graph.PASSTHROUGH`) are
   looked through by every walk.
3. **Primary pass** = the first pass: its seed (``seed`` / ``noise_seed``),
   steps, cfg, ``sampler_name``, ``scheduler``, ``denoise`` are the typed
   fields. The next pass becomes ``hires`` (its node, seed, steps, cfg,
   sampler, scheduler, denoise, model, prompts, ``latent_ops`` and the
   LatentUpscale ``width``/``height``/``upscale_method``); further passes go
   to ``extra.later_passes``, samplers merged in through LatentComposite to
   ``extra.composited_samplers``, and all of them to ``lost``.
4. **Prompts**: ``positive`` / ``negative`` are followed through
   conditioning nodes (ConditioningCombine/Concat/Average, SetArea/SetMask,
   SetTimestepRange, unCLIPConditioning, ControlNetApply*, StyleModelApply,
   GLIGEN, FluxGuidance, reroutes...) to the text encoders (CLIPTextEncode,
   CLIPTextEncodeSDXL, ...). A text that reaches the sampler without an
   area/mask is *global*; the first global text is the prompt, exactly as
   typed (no stripping). Regional and additional texts are reported in
   ``lost`` and kept in ``extra``.
5. **Model, LoRA, clip skip, VAE**: ``model`` is followed through LoRA
   loaders and model patches to the checkpoint/UNet loader; the text
   encoder's ``clip`` through CLIPSetLastLayer (``stop_at_clip_layer: -2``
   is A1111 "Clip skip: 2"; an old CheckpointLoader ``config_name`` such as
   ``v1-inference_clip_skip_2.yaml`` says 2 too) and LoRA loaders; the
   VAEDecode's ``vae`` to a VAELoader (a checkpoint's own VAE gives
   ``vae = None``).

Values held in other nodes (String Literal, Text Multiline, CR and SDXL
size pickers, Seed nodes, a metadata saver's own fields) are read through
their links (:meth:`.graph.Graph.resolve`); a value computed at run time is
None and named in ``lost``, never a raw ``[node, slot]`` link. The model
family comes from the graph (:mod:`.families`); a missing CFG stays None.
Every walk is linear (visited sets, bounded hops) and ``lost``/``notes``
and the listed texts are capped, so a hostile graph costs time and memory
in proportion to its size.

Also accepted: SamplerCustom (KSamplerSelect + BasicScheduler & co.),
SamplerCustomAdvanced (RandomNoise, CFGGuider/BasicGuider), custom nodes
that carry ``sampler_name``/``steps``/``cfg``/``seed`` inputs, and early
(2023) sampler names with a ``sample_`` prefix.

Why not sd-parsers: its ComfyUI parser needs the ``workflow`` chunk (images
saved through the API have only ``prompt`` and fail), strips every prompt,
returns every sampler node without telling which one produced the image,
and does not follow the latent chain (no size for a second pass, no
img2img detection).
"""
from __future__ import annotations

import re
from typing import Any

from .. import samplers
from ..containers import RawMetadata, TextItem
from ..errors import E_IMPORT_UNSUPPORTED_TOOL, ImportFailure
from ..generation import ImportedGeneration
from .families import graph_family
from .graph import MAX_LISTED, MAX_OUTPUTS, Graph, Pass, as_str, load_graph, node_sort_key, read_pass, short
from .walks import (
    Chain,
    CondText,
    follow_image_to_sampler,
    is_output,
    merge_segments,
    pass_chain,
    prompt_of,
    upstream_sampler,
    walk_clip,
    walk_conditioning,
    walk_model,
)

#: Most entries of ``lost`` and ``notes`` one graph may produce (a hostile graph must not make the report, or
#: the ``source`` settings written from it, grow with the graph); the rest is counted in one last entry.
MAX_REPORT = 200

#: EXIF tags ComfyUI's WebP/animated savers write "prompt:{json}" / "workflow:{json}" into.
EXIF_TAGS = ("Make", "Model", "ImageDescription")
_UPSCALES = ("LatentUpscale", "ImageScale", "ImageUpscale")


def graph_text(meta: RawMetadata, name: str) -> TextItem | None:
    """The ``prompt`` or ``workflow`` text: its own PNG chunk, else the EXIF tag that carries it."""
    item = meta.first(name)
    if item is not None:
        return item
    for it in meta.items:
        if it.key in EXIF_TAGS:
            head, sep, rest = it.value.partition(":")
            if sep and head.lower() == name and rest.lstrip().startswith("{"):
                return TextItem(name, rest, f"{it.container}:{name}")
    return None


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``prompt`` text when it is a JSON graph."""
    item = graph_text(meta, "prompt")
    return item if item is not None and item.value.lstrip().startswith("{") else None


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    workflow = graph_text(meta, "workflow")
    return read_graph(item.value, container=item.container, workflow_text=workflow.value if workflow else None)


def read_graph(prompt_text: str, *, container: str = "png:tEXt:prompt",
               workflow_text: str | None = None) -> ImportedGeneration:
    g = load_graph(prompt_text)
    gen = ImportedGeneration(source_tool="ComfyUI", source_format="comfyui-prompt-graph", container=container,
                             prompt_syntax="comfyui")
    gen.raw["prompt"] = prompt_text
    if workflow_text is not None:
        gen.raw["workflow"] = workflow_text
    samplers = [nid for nid in g.nodes if g.is_sampler(nid)]
    if not samplers:
        classes = sorted({n["class_type"] for n in g.nodes.values()})
        raise ImportFailure(E_IMPORT_UNSUPPORTED_TOOL,
                            f"ComfyUI graph has no sampler node of a known kind (classes: {', '.join(classes)[:200]})")
    chain, vae_ref = _choose_output(g, samplers, gen)
    passes = {sid: read_pass(g, sid) for sid in set(chain.samplers) | set(samplers)}
    groups = merge_segments(g, chain, passes)
    base = passes[groups[0][0]]
    _primary_pass(g, gen, chain, base)
    pos_texts = _prompts(g, gen, base)
    _model_path(g, gen, base, pos_texts, vae_ref)
    _base_segments(g, gen, [passes[s] for s in groups[0][:MAX_LISTED]], base)
    _later_passes(g, gen, chain, [passes[grp[0]] for grp in groups[1:]], base)
    if chain.branches:
        gen.extra["composited_samplers"] = [_pass_summary(g, passes[s]) for s in chain.branches[:MAX_LISTED]]
        gen.add_lost(f"latents of {len(chain.branches)} other sampler(s) composited in (LatentComposite): "
                     + ", ".join('#' + s for s in chain.branches[:MAX_LISTED]))
    on_chain = set(chain.samplers) | set(chain.branches)
    unused = [s for s in sorted(samplers, key=node_sort_key) if s not in on_chain]
    if unused:
        gen.extra["other_samplers"] = unused[:MAX_LISTED]
        shown = ", ".join("#" + s for s in unused[:MAX_LISTED]) + (", ..." if len(unused) > MAX_LISTED else "")
        gen.add_note(f"{len(unused)} sampler node(s) not on the chosen output's chain: {shown}")
    _saver_fields(g, gen, gen.extra.get("output_node"))
    _flux_guidance(g, gen, base)
    _family(g, gen, base)
    _no_links(g, gen)
    _cap(gen)
    return gen


#: What metadata-writing save nodes (comfy-image-saver's "Save Image w/Metadata" and the like) state
#: themselves: input -> (field, type). A saver with at least three of them is one.
SAVER_FIELDS = {"seed_value": ("seed", int), "seed": ("seed", int), "steps": ("steps", int),
                "cfg": ("cfg_scale", float), "sampler_name": ("sampler", str), "scheduler": ("schedule", str),
                "width": ("width", int), "height": ("height", int), "positive": ("prompt", str),
                "negative": ("negative_prompt", str), "modelname": ("model_name", str)}


def _saver_fields(g: Graph, gen: ImportedGeneration, out: str | None) -> None:
    """Fill what the graph walk could not find from the fields a metadata saver states (never overriding)."""
    if out is None:
        return
    ins = g.inputs(out)
    keys = [k for k in SAVER_FIELDS if k in ins]
    if len(keys) < 3:
        return
    for k in keys:
        field, kind = SAVER_FIELDS[k]
        if getattr(gen, field) is not None:
            continue
        v = g.resolve(ins[k], (k, "value", "text", "string"), (int, float) if kind is not str else str)
        if kind is int and isinstance(v, float) and v.is_integer():
            v = int(v)
        if kind is str:
            ok = isinstance(v, str)
        else:
            ok = isinstance(v, (int, float)) and (kind is float or isinstance(v, int))
        if ok:
            setattr(gen, field, float(v) if kind is float else v)
            gen.add_note(f"{field} taken from the '{k}' field of {g.ct(out)} #{out} (the graph walk found none)")


def _flux_guidance(g: Graph, gen: ImportedGeneration, base: Pass) -> None:
    """Flux's distilled guidance (FluxGuidance on the positive path) is a value of its own, not the CFG scale."""
    seen: set[str] = set()
    ln = g.link(base.positive_ref)
    while ln is not None and ln[0] not in seen:
        seen.add(ln[0])
        ins = g.inputs(ln[0])
        if g.ct(ln[0]) == "FluxGuidance":
            v = g.resolve(ins.get("guidance"), ("guidance", "value"), (int, float))
            if v is not None:
                gen.extra["distilled_guidance"] = float(v)
                gen.add_lost(f"Flux distilled guidance {float(v)} (FluxGuidance #{ln[0]}) is not the CFG scale "
                             f"{gen.cfg_scale}; it is kept as extra.distilled_guidance")
            return
        ln = g.link(ins.get("conditioning"))


def _family(g: Graph, gen: ImportedGeneration, base: Pass) -> None:
    """The model family, from the nodes the base pass depends on (see :mod:`.families`)."""
    fam = graph_family(g, gen.extra.get("model_loader", {}), upstream_nodes(g, base.node))
    if fam["family"] is not None:
        gen.extra["model_family"] = fam
    if fam["family"] == "unknown":
        gen.add_lost(f"model family: {fam['evidence']}")


def upstream_nodes(g: Graph, start: str, limit: int = 512) -> list[str]:
    """The nodes a node depends on, nearest first (breadth first, each once; bounded for hostile graphs)."""
    order = [start]
    seen = {start}
    i = 0
    while i < len(order) and len(order) < limit:
        for v in g.inputs(order[i]).values():
            ln = g.link(v)
            if ln is not None and ln[0] not in seen:
                seen.add(ln[0])
                order.append(ln[0])
        i += 1
    return order


def _no_links(g: Graph, gen: ImportedGeneration) -> None:
    """Safety net: a value still holding a raw link ``[node, slot]`` says where it comes from instead."""
    def clean(v: Any, depth: int = 0) -> Any:
        if g.is_link(v):
            where = g.describe(v)
            gen.add_lost(f"a value comes from {where}, computed at run time (or past what the walk follows): no recorded value")
            return f"<computed by {where}>"
        if depth > 8:
            return v
        if isinstance(v, dict):
            return {k: clean(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x, depth + 1) for x in v]
        return v
    gen.extra = clean(gen.extra)
    gen.loras = clean(gen.loras)
    if gen.hires is not None:
        gen.hires = clean(gen.hires)
    for name in ("prompt", "negative_prompt", "sampler", "schedule", "model_name", "vae"):
        if not (getattr(gen, name) is None or isinstance(getattr(gen, name), str)):
            setattr(gen, name, None)


def _cap(gen: ImportedGeneration) -> None:
    for name in ("lost", "notes"):
        items = getattr(gen, name)
        if len(items) > MAX_REPORT:
            setattr(gen, name, items[:MAX_REPORT - 1] + [f"... and {len(items) - MAX_REPORT + 1} more"])


def _choose_output(g: Graph, samplers: list[str], gen: ImportedGeneration) -> tuple[Chain, object]:
    """Step 1: the output this file most likely is, and the latent chain behind it (+ its VAE link)."""
    #: (output node, its sampler, post-processing after the sampler, VAE link)
    candidates: list[tuple[str | None, str, list[str], Any]] = []
    for nid in sorted(g.nodes, key=node_sort_key):
        if is_output(g, nid):
            final, post, vae_ref = follow_image_to_sampler(g, nid)
            if final is not None:
                candidates.append((nid, final, post, vae_ref))
    if not candidates:
        # no recognisable output: take the sampler no other sampler consumes, last by id
        consumed = {u for u in (upstream_sampler(g, sid) for sid in samplers) if u is not None}
        final = sorted([s for s in samplers if s not in consumed] or samplers, key=node_sort_key)[-1]
        candidates = [(None, final, [], None)]
        gen.add_note("no SaveImage/PreviewImage output found: took the last sampler that feeds no other")
    candidates = candidates[:MAX_OUTPUTS]
    chains: dict[str, Chain] = {}
    for c in candidates:
        if c[1] not in chains:
            chains[c[1]] = pass_chain(g, c[1])
    out_node, final, post, vae_ref = max(candidates, key=lambda c: (len(chains[c[1]].samplers), node_sort_key(c[1])))
    finals = sorted({c[1] for c in candidates}, key=node_sort_key)
    if len(finals) > 1:
        gen.add_note(f"the graph has {len(candidates)} image outputs fed by samplers {', '.join('#' + f for f in finals)}; "
                     f"took output #{out_node} (sampler #{final}, the longest chain of passes) - ComfyUI stores the same "
                     f"graph in every output, so this file may be any of them")
    if post:
        gen.add_lost(f"image post-processing after the last sampler: {'; '.join(post[:MAX_LISTED])}")
    if out_node is not None:
        gen.extra["output_node"] = out_node
    return chains[final], vae_ref


def _primary_pass(g: Graph, gen: ImportedGeneration, chain: Chain, base: Pass) -> None:
    """Step 2: the typed fields are the first pass; its latent source gives the size."""
    gen.seed = base.seed
    gen.steps = base.steps
    gen.cfg_scale = base.cfg
    gen.sampler = base.sampler_name
    gen.schedule = base.scheduler
    gen.denoise = base.denoise
    if base.seed is None:
        gen.add_note(f"sampler #{base.node} has no seed literal (add_noise disabled or an unresolved link)")
    for u in base.unresolved:
        gen.add_lost(u)
    for x in base.linked:
        gen.add_lost(f"sampler #{base.node} ({base.cls}) also takes {x}")
    if base.cfg is None:
        gen.add_lost(f"CFG scale: the base pass #{base.node} ({base.cls}) states none"
                     + (" (a guider without CFG)" if base.cls == "SamplerCustomAdvanced" else "")
                     + "; no value may be assumed for it")
    _sampler_report(gen, base)
    src = chain.source
    for u in src.get("unresolved", []):
        gen.add_lost(u)
    if src["type"] == "empty_latent":
        gen.width, gen.height, gen.batch_size = src["width"], src["height"], src["batch_size"]
    elif src["type"] == "image":
        gen.add_lost(f"img2img: the base pass starts from the image {src.get('image')!r} ({src['class']} #{src['node']}),"
                     " which is not in the metadata; its size is the generation size")
        gen.extra["init_image"] = src.get("image")
    else:
        gen.add_note("the latent source of the base pass could not be identified: no size")
    # the VAEEncode of an img2img source is how the image gets in, not an operation on the latent
    pre = [op for op in chain.transforms.get(base.node, [])
           if not (src["type"] == "image" and op.cls.startswith("VAEEncode"))]
    if pre:
        gen.add_lost(f"latent operations before the base sampler: {'; '.join(map(str, pre[:MAX_LISTED]))}"
                     + (f" and {len(pre) - MAX_LISTED} more" if len(pre) > MAX_LISTED else ""))


def _sampler_report(gen: ImportedGeneration, base: Pass) -> None:
    """What the registry's reading of the sampler names cannot carry: GPU noise, approximate pairs, names it
    does not know (the converter reports a pair without any diffusers scheduler itself)."""
    name, sched = base.sampler_name, base.scheduler
    if not isinstance(name, str):
        return
    try:
        res = samplers.resolve_comfyui(name, sched)
    except samplers.UnknownSamplerName as e:
        gen.add_lost(f"sampler / scheduler {name!r} / {sched!r}: {e.args[0] if e.args else e}; not in the registry")
        return
    if name.endswith("_gpu"):  # ComfyUI's naming: the same solver with its noise drawn on the GPU
        gen.add_lost(f"sampler {name!r}: " + next((r for r in res.reading if "GPU" in r),
                                                   "its SDE noise is drawn on the GPU"))
    if res.status == samplers.APPROXIMATE:
        gen.add_lost(f"sampler {name!r} / {sched!r} is approximated by {res.key}: {'; '.join(res.pair_notes)}")


def _prompts(g: Graph, gen: ImportedGeneration, base: Pass) -> list[CondText]:
    """Step 4: the prompts, and everything on the conditioning paths that one prompt string cannot say."""
    prompt, pos_texts, pos_mods = prompt_of(g, base.positive_ref)
    negative, neg_texts, neg_mods = prompt_of(g, base.negative_ref)
    gen.prompt, gen.negative_prompt = prompt, negative
    if base.positive_ref is None and base.negative_ref is None:
        gen.add_lost(f"prompt and negative prompt: sampler #{base.node} ({base.cls}) takes its conditioning in a "
                     "form that is not read")
    elif prompt is None:
        gen.add_lost(f"no positive prompt found on the conditioning path of sampler #{base.node}")
    _report_texts(gen, "positive", pos_texts)
    _report_texts(gen, "negative", neg_texts)
    for m in pos_mods:
        gen.add_lost(f"positive conditioning modified by {m}")
    for m in neg_mods:
        gen.add_lost(f"negative conditioning modified by {m}")
    return pos_texts


def _model_path(g: Graph, gen: ImportedGeneration, base: Pass, pos_texts: list[CondText], vae_ref) -> None:
    """Step 5: model (+ LoRAs, patches), clip skip, VAE."""
    model, mloras, patches = walk_model(g, base.model_ref)
    if model:
        gen.model_name = model["name"]
        gen.extra["model_loader"] = model
    else:
        gen.add_note(f"no checkpoint loader found on the model path of sampler #{base.node}")
    for p in patches:
        gen.add_lost(f"model patched by {p}")
    clip_ref = pos_texts[0].clip_ref if pos_texts else None
    clip_skip, cloras, config_name = walk_clip(g, clip_ref)
    if clip_skip is None and model.get("config_name") and isinstance(model.get("config_name"), str):
        config_name = model["config_name"]
    if clip_skip is None and config_name:
        m = re.search(r"clip_skip_([0-9]{1,3})", config_name)  # old CheckpointLoader configs name their clip skip
        if m:
            clip_skip = int(m.group(1))
            gen.add_note(f"clip skip {clip_skip} taken from the checkpoint config name {config_name!r}")
    if clip_skip is None and isinstance(model.get("clip_skip"), int) and model["clip_skip"] < 0:
        clip_skip = -model["clip_skip"]  # efficiency-nodes' loader: clip_skip -2 is A1111 "Clip skip: 2"
    gen.clip_skip = clip_skip
    loras = mloras[:]
    for cl in cloras:
        if not any(lora["node"] == cl["node"] for lora in loras):
            loras.append({"name": cl["name"], "weight": None, "weight_clip": cl["weight_clip"], "node": cl["node"]})
    gen.loras = loras
    vae_link = g.link(vae_ref)
    if vae_link:
        vins = g.inputs(vae_link[0])
        vae = as_str(g, vins.get("vae_name"), ("vae_name",))
        if vae not in (None, "Baked VAE"):  # efficiency-nodes' name for the checkpoint's own VAE
            gen.vae = vae
    elif isinstance(model.get("vae_name"), str) and model["vae_name"] != "Baked VAE":
        gen.vae = model["vae_name"]


def _base_segments(g: Graph, gen: ImportedGeneration, segs: list[Pass], base: Pass) -> None:
    """The KSamplerAdvanced segments the first pass is split into, and the base sampler's other inputs."""
    if len(segs) > 1:
        gen.extra["base_segments"] = [_pass_summary(g, s) for s in segs]
        for s in segs[1:]:
            diffs = _pass_diff(g, base, s)
            end = s.end_at_step if s.steps is None or s.end_at_step is None else min(s.end_at_step, s.steps)
            gen.add_lost(f"steps {s.start_at_step}-{end} of the base pass run in KSamplerAdvanced #{s.node}"
                         + (f" with {diffs}" if diffs else ""))
    elif base.start_at_step not in (None, 0) or (base.end_at_step is not None and base.steps is not None
                                                   and base.end_at_step < base.steps):
        gen.add_lost(f"sampler #{base.node} runs only steps {base.start_at_step}-{base.end_at_step} of {base.steps}")
    if base.other:
        gen.extra["sampler_inputs"] = base.other
    gen.extra["sampler_node"] = base.node
    gen.extra["sampler_class"] = base.cls
    for n in base.notes:
        gen.add_note(n)


def _later_passes(g: Graph, gen: ImportedGeneration, chain: Chain, later: list[Pass], base: Pass) -> None:
    """Step 3: the second pass becomes ``hires``; any further pass goes to ``extra`` and ``lost``."""
    if not later:
        return
    hp = later[0]
    ops = chain.transforms.get(hp.node, [])
    gen.hires = _pass_summary(g, hp)
    gen.hires["latent_ops"] = [str(op) for op in ops[:MAX_LISTED]]
    up = [str(op) for op in [op for op in ops if op.cls.startswith(_UPSCALES)][:MAX_LISTED]]
    for op in ops:
        if op.cls == "LatentUpscale" and op.inputs:
            for k in ("width", "height", "upscale_method"):
                gen.hires.setdefault(k, op.inputs.get(k))
    gen.add_note(f"{len(chain.samplers)} sampler nodes in the chain to the output "
                 f"({' -> '.join('#' + s for s in chain.samplers[:MAX_LISTED])}); the typed fields are the base pass "
                 f"#{base.node}, the second pass #{hp.node} is in 'hires'")
    diffs = _pass_diff(g, base, hp)
    gen.add_lost(f"second pass #{hp.node} ({hp.sampler_name}, {hp.steps} steps, denoise {hp.denoise}"
                 + (f", {'; '.join(up)}" if up else "") + ")" + (f" differs in {diffs}" if diffs else ""))
    if len(later) > 1:
        more = later[1:MAX_LISTED + 1]
        gen.extra["later_passes"] = [_pass_summary(g, p) for p in more]
        gen.add_lost(f"{len(later) - 1} more sampler pass(es) after the second: " + ", ".join('#' + p.node for p in more))


def _report_texts(gen: ImportedGeneration, label: str, texts: list[CondText]) -> None:
    regional = [t for t in texts if t.regional]
    globals_ = [t for t in texts if not t.regional]
    for t in globals_[1:]:
        gen.add_lost(f"additional {label} text from {t.cls} #{t.node} combined with the {label} prompt: "
                     f"{short(t.text, 80)}")
    for t in regional:
        gen.add_lost(f"regional {label} text from {t.cls} #{t.node} via {', '.join(t.regional)}: {short(t.text, 80)}")
    for t in texts:
        if t.other_texts:
            gen.add_lost(f"{t.cls} #{t.node} has more {label} text fields: "
                         + ", ".join(f"{k}={short(v)}" for k, v in t.other_texts.items()))
    if len(texts) > 1:
        gen.extra[f"{label}_texts"] = [{"node": t.node, "class": t.cls, "text": t.text, "regions": t.regional,
                                        **({"other": t.other_texts} if t.other_texts else {})} for t in texts]
    if not globals_ and texts:
        gen.add_lost(f"the {label} conditioning has only regional texts; no {label} prompt taken")


def _pass_summary(g: Graph, p: Pass) -> dict:
    model, loras, patches = walk_model(g, p.model_ref)
    texts_p, _ = walk_conditioning(g, p.positive_ref)
    texts_n, _ = walk_conditioning(g, p.negative_ref)
    gp = [t for t in texts_p if not t.regional]
    gn = [t for t in texts_n if not t.regional]
    d = {"node": p.node, "class": p.cls, "seed": p.seed, "steps": p.steps, "cfg": p.cfg,
         "sampler": p.sampler_name, "scheduler": p.scheduler, "denoise": p.denoise,
         "model": model.get("name"), "prompt": gp[0].text if gp else None,
         "negative_prompt": gn[0].text if gn else None}
    if p.start_at_step is not None:
        d.update(start_at_step=p.start_at_step, end_at_step=p.end_at_step, add_noise=p.add_noise,
                 return_with_leftover_noise=p.leftover_noise)
    if loras:
        d["loras"] = loras
    if p.other:
        d["other_inputs"] = p.other
    return d


def _pass_diff(g: Graph, a: Pass, b: Pass) -> str:
    sa, sb = _pass_summary(g, a), _pass_summary(g, b)
    keys = ("model", "prompt", "negative_prompt", "cfg", "sampler", "scheduler")
    return ", ".join(f"{k} {short(sb[k])}" for k in keys if sa.get(k) != sb.get(k))
