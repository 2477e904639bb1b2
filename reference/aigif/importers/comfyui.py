"""ComfyUI: generation parameters out of the executed ``prompt`` graph (API format).

ComfyUI's SaveImage writes two PNG text chunks: ``prompt`` (the graph that
ran: ``{node_id: {"class_type": ..., "inputs": {...}}}``, where an input is
a literal or a link ``[node_id, output_slot]``) and ``workflow`` (the UI
graph with positions). Only ``prompt`` is read; ``workflow`` holds the same
values as positional ``widgets_values`` and is kept in ``raw``.

How the generation is found
---------------------------
1. **Output**: the SaveImage/PreviewImage-like nodes. The image path is
   followed upstream (VAEDecode, image post-processing) to the *final
   sampler*. ComfyUI embeds the same graph in every output, so when several
   outputs exist the importer cannot know which one this file is: it takes
   the output with the longest chain of sampler passes and says so in
   ``notes``.
2. **Pass chain**: from the final sampler, the latent input is followed
   upstream (LatentUpscale, LatentComposite's ``samples_to``, VAEEncode of a
   decoded image, ...) to earlier samplers and finally to the source: an
   EmptyLatentImage (txt2img: size and batch) or a LoadImage (img2img).
   Consecutive KSamplerAdvanced nodes where the second continues the first
   (``add_noise`` disabled, ``start_at_step`` = previous ``end_at_step``)
   form one logical pass (base/refiner split).
3. **Primary pass** = the first pass: its seed (``seed`` / ``noise_seed``),
   steps, cfg, ``sampler_name``, ``scheduler``, ``denoise`` are the typed
   fields. The next pass becomes ``hires`` (upscale + second sampler);
   anything beyond goes to ``extra`` and ``lost``.
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
   is A1111 "Clip skip: 2") and LoRA loaders; the VAEDecode's ``vae`` to a
   VAELoader (a checkpoint's own VAE gives ``vae = None``).

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

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, E_IMPORT_UNSUPPORTED_TOOL, ImportFailure
from .generation import ImportedGeneration

SAMPLER_CLASSES = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
_GENERIC_SAMPLER_INPUTS = {"sampler_name", "steps", "cfg"}
CHECKPOINT_INPUTS = ("ckpt_name", "unet_name", "model_path", "model_name")
TEXT_INPUTS = ("text", "text_g", "t5xxl", "clip_g", "clip_l", "text_l", "prompt")
STRING_VALUE_INPUTS = ("text", "string", "value", "prompt", "Text", "STRING", "String", "text_positive")
REGION_CLASSES = {"ConditioningSetArea", "ConditioningSetAreaPercentage", "ConditioningSetMask",
                  "ConditioningSetAreaStrength", "GLIGENTextBoxApply"}
LATENT_PASS_INPUTS = ("samples", "samples_to", "latent", "latent_image", "pixels", "image", "images", "LATENT",
                      "IMAGE", "input")
SCHEDULER_NODE_NAMES = {
    "KarrasScheduler": "karras", "ExponentialScheduler": "exponential",
    "PolyexponentialScheduler": "polyexponential", "SDTurboScheduler": "turbo",
    "AlignYourStepsScheduler": "align_your_steps", "BetaSamplingScheduler": "beta",
    "LaplaceScheduler": "laplace", "VPScheduler": "vp", "GITSScheduler": "gits",
}


@dataclass
class Pass:
    """One sampler node (segment) with its values resolved."""

    node: str
    cls: str
    seed: int | None = None
    steps: int | None = None
    cfg: float | None = None
    sampler_name: str | None = None
    scheduler: str | None = None
    denoise: float | None = None
    start_at_step: int | None = None
    end_at_step: int | None = None
    add_noise: Any = None
    leftover_noise: Any = None
    model_ref: Any = None
    positive_ref: Any = None
    negative_ref: Any = None
    latent_ref: Any = None
    other: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


#: Largest graph read, and the most node visits all walks together may make
#: (real workflows have tens to a few hundred nodes; the walks are linear per
#: sampler, so a hostile graph could otherwise cost O(nodes x samplers)).
MAX_NODES = 10_000
MAX_VISITS = 1_000_000
#: Most entries kept in the per-sampler summaries of extra.
MAX_LISTED = 32
#: Most image outputs compared when choosing the one this file is.
MAX_OUTPUTS = 64


class Graph:
    def __init__(self, nodes: dict[str, dict]):
        self.nodes = nodes
        self.visits = 0

    def _tick(self) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"ComfyUI graph too complex to walk ({MAX_VISITS} node visits)")

    # -- basic access
    def node(self, nid: str) -> dict | None:
        return self.nodes.get(nid)

    def ct(self, nid: str) -> str:
        n = self.nodes.get(nid)
        return n["class_type"] if n else ""

    def inputs(self, nid: str) -> dict:
        self._tick()
        n = self.nodes.get(nid)
        return n["inputs"] if n else {}

    def link(self, value: Any) -> tuple[str, int] | None:
        """(node_id, slot) when value is a link to an existing node."""
        if (isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)
                and not isinstance(value[1], bool) and isinstance(value[0], (str, int))
                and not isinstance(value[0], bool) and str(value[0]) in self.nodes):
            return str(value[0]), value[1]
        return None

    def literal(self, nid: str, name: str) -> Any:
        v = self.inputs(nid).get(name)
        return None if isinstance(v, list) else v

    def resolve(self, value: Any, names: tuple[str, ...], want: type | tuple) -> Any:
        """A literal, or the value behind a link to a primitive-like node (a few hops at most)."""
        seen = set()
        for _ in range(8):
            if isinstance(value, want) and not isinstance(value, bool):
                return value
            ln = self.link(value)
            if ln is None or ln[0] in seen:
                return None
            seen.add(ln[0])
            ins = self.inputs(ln[0])
            for n in names:
                if n in ins:
                    value = ins[n]
                    break
            else:
                literals = [v for v in ins.values() if isinstance(v, want) and not isinstance(v, bool)]
                if len(literals) != 1:
                    return None
                value = literals[0]
        return None

    def is_sampler(self, nid: str) -> bool:
        ct = self.ct(nid)
        if ct in SAMPLER_CLASSES:
            return True
        ins = self.inputs(nid)
        return _GENERIC_SAMPLER_INPUTS <= set(ins) and ("seed" in ins or "noise_seed" in ins) and "model" in ins


def _load_graph(text: str) -> Graph:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ImportFailure(E_IMPORT_MALFORMED, "ComfyUI prompt JSON is nested too deeply") from None
    except ValueError as e:
        raise ImportFailure(E_IMPORT_MALFORMED, f"ComfyUI prompt is not valid JSON ({e.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ImportFailure(E_IMPORT_MALFORMED, "ComfyUI prompt is not a JSON object of nodes")
    nodes: dict[str, dict] = {}
    for nid, node in data.items():
        if isinstance(node, dict) and isinstance(node.get("class_type"), str) and isinstance(node.get("inputs"), dict):
            nodes[str(nid)] = node
    if not nodes:
        raise ImportFailure(E_IMPORT_MALFORMED, "ComfyUI prompt has no nodes with class_type and inputs")
    if len(nodes) > MAX_NODES:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"ComfyUI graph has {len(nodes)} nodes (limit {MAX_NODES})")
    return Graph(nodes)


def _int(g: Graph, value: Any, names: tuple[str, ...], what: str, *, required: bool = False) -> int | None:
    v = g.resolve(value, names, (int, float))
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        return v
    if required and value is not None:
        raise ImportFailure(E_IMPORT_MALFORMED, f"ComfyUI {what} is not an integer: {_short(value)}")
    return None


def _float(g: Graph, value: Any, names: tuple[str, ...]) -> float | None:
    v = g.resolve(value, names, (int, float))
    return float(v) if isinstance(v, (int, float)) else None


def _str(g: Graph, value: Any, names: tuple[str, ...]) -> str | None:
    v = g.resolve(value, names, str)
    return v if isinstance(v, str) else None


# ------------------------------------------------------------------ sampler nodes

def _read_pass(g: Graph, nid: str) -> Pass:
    ins = g.inputs(nid)
    ct = g.ct(nid)
    p = Pass(node=nid, cls=ct)
    used = set()

    def take(name: str) -> Any:
        used.add(name)
        return ins.get(name)

    if ct == "SamplerCustomAdvanced":
        noise = g.link(take("noise"))
        if noise:
            nct = g.ct(noise[0])
            if nct == "DisableNoise":
                p.add_noise = "disable"
            else:
                p.seed = _int(g, g.inputs(noise[0]).get("noise_seed", g.inputs(noise[0]).get("seed")),
                              ("noise_seed", "seed"), "noise_seed")
        guider = g.link(take("guider"))
        if guider:
            gins = g.inputs(guider[0])
            p.cfg = _float(g, gins.get("cfg"), ("cfg",))
            p.model_ref = gins.get("model")
            p.positive_ref = gins.get("positive", gins.get("conditioning", gins.get("cond1")))
            p.negative_ref = gins.get("negative")
            if g.ct(guider[0]) not in ("CFGGuider", "BasicGuider"):
                p.notes.append(f"guider {g.ct(guider[0])} #{guider[0]}")
        _read_sampler_and_sigmas(g, p, take("sampler"), take("sigmas"))
        p.latent_ref = take("latent_image")
    elif ct == "SamplerCustom":
        p.seed = _int(g, take("noise_seed"), ("noise_seed", "seed"), "noise_seed")
        p.cfg = _float(g, take("cfg"), ("cfg",))
        p.add_noise = take("add_noise")
        p.model_ref, p.positive_ref, p.negative_ref = take("model"), take("positive"), take("negative")
        _read_sampler_and_sigmas(g, p, take("sampler"), take("sigmas"))
        p.latent_ref = take("latent_image")
    else:
        seed_name = "noise_seed" if "noise_seed" in ins else "seed"
        p.seed = _int(g, take(seed_name), ("seed", "noise_seed", "value"), seed_name, required=True)
        p.steps = _int(g, take("steps"), ("steps", "value"), "steps", required=True)
        p.cfg = _float(g, take("cfg"), ("cfg", "value"))
        p.sampler_name = _str(g, take("sampler_name"), ("sampler_name",))
        p.scheduler = _str(g, take("scheduler"), ("scheduler",))
        if "denoise" in ins:
            p.denoise = _float(g, take("denoise"), ("denoise", "value"))
        if "start_at_step" in ins:
            p.start_at_step = _int(g, take("start_at_step"), ("start_at_step", "value"), "start_at_step")
            p.end_at_step = _int(g, take("end_at_step"), ("end_at_step", "value"), "end_at_step")
            p.add_noise = take("add_noise")
            p.leftover_noise = take("return_with_leftover_noise")
        p.model_ref, p.positive_ref, p.negative_ref = take("model"), take("positive"), take("negative")
        p.latent_ref = take("latent_image")
    for k, v in ins.items():
        if k not in used and g.link(v) is None:
            p.other[k] = v
    return p


def _read_sampler_and_sigmas(g: Graph, p: Pass, sampler_ref: Any, sigmas_ref: Any) -> None:
    s = g.link(sampler_ref)
    if s:
        p.sampler_name = _str(g, g.inputs(s[0]).get("sampler_name"), ("sampler_name",))
        if p.sampler_name is None:
            p.sampler_name = g.ct(s[0])  # SamplerDPMPP_2M_SDE, SamplerEulerAncestral, ...
            p.notes.append(f"sampler node {g.ct(s[0])} #{s[0]}")
    sg = g.link(sigmas_ref)
    if sg:
        sct = g.ct(sg[0])
        sins = g.inputs(sg[0])
        p.steps = _int(g, sins.get("steps"), ("steps", "value"), "steps")
        p.scheduler = _str(g, sins.get("scheduler"), ("scheduler",)) or SCHEDULER_NODE_NAMES.get(sct, sct)
        if "denoise" in sins:
            p.denoise = _float(g, sins.get("denoise"), ("denoise",))
        if sct not in ("BasicScheduler",):
            extra = {k: v for k, v in sins.items() if g.link(v) is None}
            p.notes.append(f"sigmas from {sct} #{sg[0]} {json.dumps(extra, ensure_ascii=False)}")


# ------------------------------------------------------------------ walks

def _follow_image_to_sampler(g: Graph, nid: str) -> tuple[str | None, list[str], Any]:
    """From an output node up to the sampler whose latent it shows."""
    post: list[str] = []
    vae_ref = None
    seen = set()
    cur: str | None = nid
    first = True
    while cur is not None and cur not in seen:
        seen.add(cur)
        if not first and g.is_sampler(cur):
            return cur, post, vae_ref
        ct = g.ct(cur)
        ins = g.inputs(cur)
        if ct.startswith("VAEDecode") and vae_ref is None:
            vae_ref = ins.get("vae")
        elif not first and not ct.startswith("VAEDecode"):
            post.append(f"{ct} #{cur}")
        if ct == "LoadImage":
            return None, post, vae_ref
        first = False
        nxt = None
        for name in LATENT_PASS_INPUTS:
            ln = g.link(ins.get(name))
            if ln:
                nxt = ln[0]
                break
        cur = nxt
    return None, post, vae_ref


def _is_output(g: Graph, nid: str) -> bool:
    ct = g.ct(nid)
    ins = g.inputs(nid)
    return ("images" in ins or "image" in ins) and bool(re.search(r"Save|Preview", ct))


@dataclass
class Chain:
    samplers: list[str]
    source: dict
    transforms: dict[str, list[str]]      # sampler id -> transforms between the previous sampler and it
    branches: list[str]                   # samplers merged in through composites (not followed)


def _latent_chain(g: Graph, final: str) -> Chain:
    samplers = [final]
    transforms: dict[str, list[str]] = {final: []}
    branches: list[str] = []
    source: dict = {"type": "unknown"}
    seen = {final}
    cur_sampler = final
    ref = _read_latent_ref(g, final)
    steps_taken = 0
    pending: list[str] = []
    while steps_taken < len(g.nodes) + 1:
        steps_taken += 1
        ln = g.link(ref)
        if ln is None:
            source = {"type": "unknown"}
            break
        nid = ln[0]
        if nid in seen:
            source = {"type": "cycle"}
            break
        seen.add(nid)
        ct = g.ct(nid)
        ins = g.inputs(nid)
        if g.is_sampler(nid):
            transforms[cur_sampler] = list(reversed(pending))
            pending = []
            samplers.append(nid)
            transforms.setdefault(nid, [])
            cur_sampler = nid
            ref = _read_latent_ref(g, nid)
            continue
        if ct.startswith("Empty") and "width" in ins and "height" in ins:
            source = {"type": "empty_latent", "node": nid, "class": ct,
                      "width": _int(g, ins.get("width"), ("width", "value"), "width"),
                      "height": _int(g, ins.get("height"), ("height", "value"), "height"),
                      "batch_size": _int(g, ins.get("batch_size"), ("batch_size", "value"), "batch_size")}
            break
        if ct in ("LoadImage", "LoadImageMask") or (ct.startswith("Load") and "image" in ins and g.link(ins["image"]) is None):
            source = {"type": "image", "node": nid, "class": ct, "image": ins.get("image")}
            break
        desc = {k: v for k, v in ins.items() if g.link(v) is None}
        pending.append(f"{ct} #{nid} {json.dumps(desc, ensure_ascii=False, sort_keys=True)}" if desc else f"{ct} #{nid}")
        if ct == "LatentComposite" or "samples_from" in ins:
            br = g.link(ins.get("samples_from"))
            if br:
                branches.extend(_samplers_upstream(g, br[0]))
        nxt = None
        for name in LATENT_PASS_INPUTS:
            if g.link(ins.get(name)):
                nxt = ins.get(name)
                break
        ref = nxt
    transforms[cur_sampler] = list(reversed(pending)) + transforms.get(cur_sampler, [])
    samplers.reverse()
    on_chain = set(samplers)
    branches = sorted(dict.fromkeys(b for b in branches if b not in on_chain), key=_node_sort_key)
    return Chain(samplers, source, transforms, branches)


def _upstream_sampler(g: Graph, sid: str) -> str | None:
    """The first sampler upstream of a sampler's latent input, if any."""
    ref = _read_latent_ref(g, sid)
    seen = {sid}
    while True:
        ln = g.link(ref)
        if ln is None or ln[0] in seen:
            return None
        nid = ln[0]
        seen.add(nid)
        if g.is_sampler(nid):
            return nid
        ins = g.inputs(nid)
        ref = next((ins[k] for k in LATENT_PASS_INPUTS if g.link(ins.get(k))), None)


def _read_latent_ref(g: Graph, nid: str) -> Any:
    return g.inputs(nid).get("latent_image", g.inputs(nid).get("samples"))


def _samplers_upstream(g: Graph, start: str) -> list[str]:
    found, stack, seen = [], [start], set()
    while stack and len(seen) <= len(g.nodes):
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        if g.is_sampler(nid):
            found.append(nid)
        for v in g.inputs(nid).values():
            ln = g.link(v)
            if ln:
                stack.append(ln[0])
    return sorted(found, key=_node_sort_key)


def _node_sort_key(nid: str):
    return (0, int(nid), "") if nid.isascii() and nid.isdigit() and len(nid) < 30 else (1, 0, nid)


@dataclass
class CondText:
    text: str | None
    node: str
    cls: str
    regional: list[str]
    clip_ref: Any
    other_texts: dict


def _walk_conditioning(g: Graph, ref: Any) -> tuple[list[CondText], list[str]]:
    """Texts reachable from a conditioning input, plus the modifiers passed on the way."""
    texts: list[CondText] = []
    modifiers: list[str] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(ref, ())]
    seen = set()
    while stack and len(seen) <= len(g.nodes):
        r, region = stack.pop()
        ln = g.link(r)
        if ln is None:
            continue
        nid, slot = ln
        if (nid, slot, region) in seen:
            continue
        seen.add((nid, slot, region))
        ct = g.ct(nid)
        ins = g.inputs(nid)
        literals = {k: v for k, v in ins.items() if g.link(v) is None}
        if ct in REGION_CLASSES:
            shown = {k: v for k, v in literals.items() if k != "text"}
            desc = f"{ct} #{nid} {json.dumps(shown, ensure_ascii=False, sort_keys=True)}"
            if "text" in ins:  # GLIGEN: a text for one box
                texts.append(CondText(_str(g, ins["text"], STRING_VALUE_INPUTS), nid, ct, list(region) + [desc],
                                      ins.get("clip"), {}))
            stack.append((ins.get("conditioning", ins.get("conditioning_to")), region + (desc,)))
            continue
        text_keys = [k for k in TEXT_INPUTS if k in ins]
        if "clip" in ins and text_keys:
            main = text_keys[0]
            text = _str(g, ins[main], STRING_VALUE_INPUTS)
            others = {k: _str(g, ins[k], STRING_VALUE_INPUTS) for k in text_keys[1:]}
            others = {k: v for k, v in others.items() if v is not None and v != text}
            texts.append(CondText(text, nid, ct, list(region), ins.get("clip"), others))
            if text is None:
                modifiers.append(f"{ct} #{nid}: text comes from a node that could not be resolved")
            continue
        if ct == "ConditioningZeroOut":
            modifiers.append(f"ConditioningZeroOut #{nid} (conditioning replaced by zeros)")
            continue
        if "positive" in ins and "negative" in ins:
            # ControlNetApplyAdvanced, InstructPixToPixConditioning, ...: outputs (positive, negative)
            images = _upstream_images(g, nid)
            modifiers.append(f"{ct} #{nid} {json.dumps(literals, ensure_ascii=False, sort_keys=True)}"
                             + (f" using {', '.join(images)}" if images else ""))
            stack.append((ins.get("positive" if slot == 0 else "negative"), region))
            continue
        cond_inputs = [k for k in ins if "cond" in k.lower() and g.link(ins[k])]
        if not cond_inputs:
            cond_inputs = [k for k in ("input", "any", "value") if g.link(ins.get(k))]
        if ct not in ("ConditioningCombine", "ConditioningCombineMultiple", "Reroute"):
            desc = f"{ct} #{nid}" + (f" {json.dumps(literals, ensure_ascii=False, sort_keys=True)}" if literals else "")
            images = _upstream_images(g, nid)
            modifiers.append(desc + (f" using {', '.join(images)}" if images else ""))
        for k in sorted(cond_inputs, reverse=True):   # stack: process conditioning_1 first
            stack.append((ins[k], region))
    return texts, modifiers


def _walk_model(g: Graph, ref: Any) -> tuple[dict, list[dict], list[str]]:
    """Checkpoint loader info, LoRAs and model patches on the model path."""
    loras: list[dict] = []
    patches: list[str] = []
    seen = set()
    while True:
        ln = g.link(ref)
        if ln is None or ln[0] in seen:
            return {}, loras, patches
        nid = ln[0]
        seen.add(nid)
        ct = g.ct(nid)
        ins = g.inputs(nid)
        for key in CHECKPOINT_INPUTS:
            name = ins.get(key)
            if isinstance(name, str):
                info = {"node": nid, "class": ct, "name": name}
                info.update({k: v for k, v in ins.items() if k != key and g.link(v) is None})
                return info, loras, patches
        if "lora_name" in ins:
            loras.append({"name": ins.get("lora_name"), "weight": ins.get("strength_model"),
                          "weight_clip": ins.get("strength_clip"), "node": nid, "class": ct})
        else:
            literals = {k: v for k, v in ins.items() if g.link(v) is None}
            patches.append(f"{ct} #{nid} {json.dumps(literals, ensure_ascii=False, sort_keys=True)}"
                           if literals else f"{ct} #{nid}")
        ref = ins.get("model")
        if g.link(ref) is None:
            links = [v for v in ins.values() if g.link(v)]
            ref = links[0] if len(links) == 1 else None


def _walk_clip(g: Graph, ref: Any) -> tuple[int | None, list[dict], str | None]:
    """(clip skip, LoRAs on the clip path, checkpoint config name)."""
    clip_skip = None
    loras = []
    seen = set()
    while True:
        ln = g.link(ref)
        if ln is None or ln[0] in seen:
            return clip_skip, loras, None
        nid = ln[0]
        seen.add(nid)
        ct = g.ct(nid)
        ins = g.inputs(nid)
        if "stop_at_clip_layer" in ins and clip_skip is None:
            v = _int(g, ins.get("stop_at_clip_layer"), ("stop_at_clip_layer", "value"), "stop_at_clip_layer")
            if v is not None:
                clip_skip = -v
        if "lora_name" in ins:
            loras.append({"name": ins.get("lora_name"), "weight_clip": ins.get("strength_clip"), "node": nid})
        if any(isinstance(ins.get(k), str) for k in CHECKPOINT_INPUTS) or ct.startswith("CLIPLoader") \
                or ct.startswith("DualCLIPLoader") or ct.startswith("TripleCLIPLoader"):
            cfg = ins.get("config_name")
            return clip_skip, loras, cfg if isinstance(cfg, str) else None
        ref = ins.get("clip")


# ------------------------------------------------------------------ assembling

def _merge_segments(g: Graph, chain: Chain, passes: dict[str, Pass]) -> list[list[str]]:
    """Group the sampler chain into logical passes (KSamplerAdvanced continuations merged)."""
    groups: list[list[str]] = []
    for sid in chain.samplers:
        p = passes[sid]
        if groups:
            prev = passes[groups[-1][-1]]
            continues = (p.start_at_step is not None and prev.end_at_step is not None
                         and p.add_noise == "disable" and p.start_at_step == prev.end_at_step
                         and p.steps == prev.steps and prev.leftover_noise == "enable")
            if continues:
                groups[-1].append(sid)
                continue
        groups.append([sid])
    return groups


def _prompt_of(g: Graph, ref: Any) -> tuple[str | None, list[CondText], list[str]]:
    """(the first global text, all texts, conditioning modifiers) behind a conditioning input."""
    texts, modifiers = _walk_conditioning(g, ref)
    global_texts = [t for t in texts if not t.regional]
    chosen = global_texts[0] if global_texts else None
    return (chosen.text if chosen else None), texts, modifiers


def read(prompt_text: str, *, container: str = "png:tEXt:prompt", workflow_text: str | None = None) -> ImportedGeneration:
    g = _load_graph(prompt_text)
    gen = ImportedGeneration(source_tool="ComfyUI", source_format="comfyui-prompt-graph", container=container)
    gen.raw["prompt"] = prompt_text
    if workflow_text is not None:
        gen.raw["workflow"] = workflow_text

    samplers = [nid for nid in g.nodes if g.is_sampler(nid)]
    if not samplers:
        classes = sorted({n["class_type"] for n in g.nodes.values()})
        raise ImportFailure(E_IMPORT_UNSUPPORTED_TOOL,
                            f"ComfyUI graph has no sampler node of a known kind (classes: {', '.join(classes)[:200]})")

    # 1. output -> final sampler
    candidates = []
    for nid in sorted(g.nodes, key=_node_sort_key):
        if _is_output(g, nid):
            final, post, vae_ref = _follow_image_to_sampler(g, nid)
            if final is not None:
                candidates.append((nid, final, post, vae_ref))
    if not candidates:
        # no recognisable output: take the sampler no other sampler consumes, last by id
        consumed = {u for u in (_upstream_sampler(g, sid) for sid in samplers) if u is not None}
        final = sorted([s for s in samplers if s not in consumed] or samplers, key=_node_sort_key)[-1]
        candidates = [(None, final, [], None)]
        gen.add_note("no SaveImage/PreviewImage output found: took the last sampler that feeds no other")
    candidates = candidates[:MAX_OUTPUTS]
    chains: dict[str, Chain] = {}
    for c in candidates:
        if c[1] not in chains:
            chains[c[1]] = _latent_chain(g, c[1])
    out_node, final, post, vae_ref = max(candidates, key=lambda c: (len(chains[c[1]].samplers), _node_sort_key(c[1])))
    chain = chains[final]
    finals = sorted({c[1] for c in candidates}, key=_node_sort_key)
    if len(finals) > 1:
        gen.add_note(f"the graph has {len(candidates)} image outputs fed by samplers {', '.join('#' + f for f in finals)}; "
                     f"took output #{out_node} (sampler #{final}, the longest chain of passes) - ComfyUI stores the same "
                     f"graph in every output, so this file may be any of them")
    if post:
        gen.add_lost(f"image post-processing after the last sampler: {'; '.join(post)}")

    passes = {sid: _read_pass(g, sid) for sid in set(chain.samplers) | set(samplers)}
    groups = _merge_segments(g, chain, passes)
    base_group = groups[0]
    base = passes[base_group[0]]

    # 2. primary pass
    gen.seed = base.seed
    gen.steps = base.steps
    gen.cfg_scale = base.cfg
    gen.sampler = base.sampler_name
    gen.schedule = base.scheduler
    gen.denoise = base.denoise
    if base.seed is None:
        gen.add_note(f"sampler #{base.node} has no seed literal (add_noise disabled or an unresolved link)")
    src = chain.source
    if src["type"] == "empty_latent":
        gen.width, gen.height, gen.batch_size = src["width"], src["height"], src["batch_size"]
    elif src["type"] == "image":
        gen.add_lost(f"img2img: the base pass starts from the image {src.get('image')!r} ({src['class']} #{src['node']}),"
                     " which is not in the metadata; its size is the generation size")
        gen.extra["init_image"] = src.get("image")
    else:
        gen.add_note("the latent source of the base pass could not be identified: no size")
    pre = [t for t in chain.transforms.get(base.node, [])
           if not (src["type"] == "image" and t.startswith("VAEEncode"))]
    if pre:
        gen.add_lost(f"latent operations before the base sampler: {'; '.join(pre)}")

    prompt, pos_texts, pos_mods = _prompt_of(g, base.positive_ref)
    negative, neg_texts, neg_mods = _prompt_of(g, base.negative_ref)
    gen.prompt, gen.negative_prompt = prompt, negative
    _report_texts(gen, "positive", pos_texts)
    _report_texts(gen, "negative", neg_texts)
    for m in pos_mods:
        gen.add_lost(f"positive conditioning modified by {m}")
    for m in neg_mods:
        gen.add_lost(f"negative conditioning modified by {m}")

    model, mloras, patches = _walk_model(g, base.model_ref)
    if model:
        gen.model_name = model["name"]
        gen.extra["model_loader"] = model
    else:
        gen.add_note(f"no checkpoint loader found on the model path of sampler #{base.node}")
    for p in patches:
        gen.add_lost(f"model patched by {p}")
    clip_ref = pos_texts[0].clip_ref if pos_texts else None
    clip_skip, cloras, config_name = _walk_clip(g, clip_ref)
    if clip_skip is None and model.get("config_name") and isinstance(model.get("config_name"), str):
        config_name = model["config_name"]
    if clip_skip is None and config_name:
        m = re.search(r"clip_skip_([0-9]{1,3})", config_name)
        if m:
            clip_skip = int(m.group(1))
            gen.add_note(f"clip skip {clip_skip} taken from the checkpoint config name {config_name!r}")
    gen.clip_skip = clip_skip
    loras = mloras[:]
    for cl in cloras:
        if not any(l["node"] == cl["node"] for l in loras):
            loras.append({"name": cl["name"], "weight": None, "weight_clip": cl["weight_clip"], "node": cl["node"]})
    gen.loras = loras
    vae_link = g.link(vae_ref)
    if vae_link:
        vins = g.inputs(vae_link[0])
        if isinstance(vins.get("vae_name"), str):
            gen.vae = vins["vae_name"]

    # segments of the base pass
    if len(base_group) > 1:
        segs = [passes[s] for s in base_group[:MAX_LISTED]]
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

    # 3. later passes
    later = groups[1:]
    if later:
        hp = passes[later[0][0]]
        gen.hires = _pass_summary(g, hp)
        gen.hires["latent_ops"] = chain.transforms.get(hp.node, [])
        up = [t for t in gen.hires["latent_ops"] if t.startswith(("LatentUpscale", "ImageScale", "ImageUpscale"))]
        for t in gen.hires["latent_ops"]:
            m = re.match(r"LatentUpscale #\S+ (\{.*\})$", t)
            if m:
                d = json.loads(m.group(1))
                gen.hires.setdefault("width", d.get("width"))
                gen.hires.setdefault("height", d.get("height"))
                gen.hires.setdefault("upscale_method", d.get("upscale_method"))
        gen.add_note(f"{len(chain.samplers)} sampler nodes in the chain to the output "
                     f"({' -> '.join('#' + s for s in chain.samplers[:MAX_LISTED])}); the typed fields are the base pass "
                     f"#{base.node}, the second pass #{hp.node} is in 'hires'")
        diffs = _pass_diff(g, base, hp)
        gen.add_lost(f"second pass #{hp.node} ({hp.sampler_name}, {hp.steps} steps, denoise {hp.denoise}"
                     + (f", {'; '.join(up)}" if up else "") + ")" + (f" differs in {diffs}" if diffs else ""))
        if len(later) > 1:
            gen.extra["later_passes"] = [_pass_summary(g, passes[grp[0]]) for grp in later[1:MAX_LISTED + 1]]
            gen.add_lost(f"{len(later) - 1} more sampler pass(es) after the second: "
                         + ", ".join('#' + grp[0] for grp in later[1:MAX_LISTED + 1]))
    if chain.branches:
        gen.extra["composited_samplers"] = [_pass_summary(g, passes[s]) for s in chain.branches[:MAX_LISTED]]
        gen.add_lost(f"latents of {len(chain.branches)} other sampler(s) composited in (LatentComposite): "
                     + ", ".join('#' + s for s in chain.branches[:MAX_LISTED]))
    on_chain = set(chain.samplers) | set(chain.branches)
    unused = [s for s in sorted(samplers, key=_node_sort_key) if s not in on_chain]
    if unused:
        gen.extra["other_samplers"] = unused
        shown = ", ".join("#" + s for s in unused[:MAX_LISTED]) + (", ..." if len(unused) > MAX_LISTED else "")
        gen.add_note(f"{len(unused)} sampler node(s) not on the chosen output's chain: {shown}")
    return gen


def _report_texts(gen: ImportedGeneration, label: str, texts: list[CondText]) -> None:
    regional = [t for t in texts if t.regional]
    globals_ = [t for t in texts if not t.regional]
    for t in globals_[1:]:
        gen.add_lost(f"additional {label} text from {t.cls} #{t.node} combined with the {label} prompt: "
                     f"{_short(t.text, 80)}")
    for t in regional:
        gen.add_lost(f"regional {label} text from {t.cls} #{t.node} via {', '.join(t.regional)}: {_short(t.text, 80)}")
    for t in texts:
        if t.other_texts:
            gen.add_lost(f"{t.cls} #{t.node} has more {label} text fields: "
                         + ", ".join(f"{k}={_short(v)}" for k, v in t.other_texts.items()))
    if len(texts) > 1:
        gen.extra[f"{label}_texts"] = [{"node": t.node, "class": t.cls, "text": t.text, "regions": t.regional,
                                        **({"other": t.other_texts} if t.other_texts else {})} for t in texts]
    if not globals_ and texts:
        gen.add_lost(f"the {label} conditioning has only regional texts; no {label} prompt taken")


def _pass_summary(g: Graph, p: Pass) -> dict:
    model, loras, patches = _walk_model(g, p.model_ref)
    texts_p, _ = _walk_conditioning(g, p.positive_ref)
    texts_n, _ = _walk_conditioning(g, p.negative_ref)
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


def _short(v: Any, n: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 1] + "\u2026"


def _pass_diff(g: Graph, a: Pass, b: Pass) -> str:
    sa, sb = _pass_summary(g, a), _pass_summary(g, b)
    keys = ("model", "prompt", "negative_prompt", "cfg", "sampler", "scheduler")
    return ", ".join(f"{k} {_short(sb[k])}" for k in keys if sa.get(k) != sb.get(k))


def _upstream_images(g: Graph, nid: str, limit: int = 12) -> list[str]:
    """Names of images loaded upstream of a node's non-conditioning inputs (bounded search)."""
    found, stack, seen = [], [], set()
    for k, v in g.inputs(nid).items():
        ln = g.link(v)
        if ln and "cond" not in k.lower() and k not in ("clip", "model", "vae", "positive", "negative"):
            stack.append(ln[0])
    while stack and len(seen) < limit:
        cur = stack.pop()
        if cur in seen:
            continue
        seen.add(cur)
        img = g.inputs(cur).get("image")
        if g.ct(cur).startswith("Load") and isinstance(img, str):
            found.append(f"{g.ct(cur)} #{cur} {img!r}")
            continue
        stack.extend(ln[0] for ln in (g.link(v) for v in g.inputs(cur).values()) if ln)
    return found


def read_workflow_only(container: str) -> ImportedGeneration:
    raise ImportFailure(E_IMPORT_UNSUPPORTED_TOOL,
                        "ComfyUI image carries only the UI 'workflow' graph, not the executed 'prompt' graph")
