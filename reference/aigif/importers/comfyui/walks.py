"""Walks through a ComfyUI graph: the image and latent paths, conditioning, model and CLIP."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .graph import (
    CHECKPOINT_INPUTS,
    CLIP_INPUTS,
    ENCODER_OUTPUTS,
    LATENT_PASS_INPUTS,
    MAX_LISTED,
    REGION_CLASSES,
    STRING_VALUE_INPUTS,
    TEXT_INPUTS,
    Graph,
    Op,
    Pass,
    as_float,
    as_int,
    as_str,
    node_sort_key,
)

#: Inputs of a sampler that hold what it starts from: a latent, or an image for the samplers that work on
#: pixels (UltimateSDUpscale, FaceDetailer, DetailerForEach, ...).
CONTENT_INPUTS = ("latent_image", "samples", "latent", "image", "images", "pixels")
#: Inputs never followed when looking for the samplers an earlier pass feeds a later one through.
_NOT_CONTENT = frozenset({"model", "clip", "vae", "optional_vae", "control_net", "upscale_model", "bbox_detector",
                          "sam_model_opt", "segm_detector_opt", "detailer_hook", "upscaler", "clip_vision"})
#: Region descriptions kept per text (a chain of thousands of GLIGEN boxes must not copy its path per node).
MAX_REGION = 4


def follow_image_to_sampler(g: Graph, nid: str) -> tuple[str | None, list[str], Any]:
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
        if nxt is None:
            # an image node whose inputs have other names (image1/image2, destination/source, ...): the
            # nearest sampler behind any of them; more than one means the image combines several generations
            nearest = _nearest_samplers(g, cur)
            if nearest:
                post.append(f"{ct} #{cur} combines the images of {len(nearest)} sampler(s) "
                            f"({', '.join('#' + s for s in nearest[:MAX_LISTED])}); the typed fields are one of them"
                            if len(nearest) > 1 else f"(through {ct} #{cur}'s other inputs)")
                return nearest[0], post, vae_ref
        cur = nxt
    return None, post, vae_ref


def _nearest_samplers(g: Graph, nid: str) -> list[str]:
    """The samplers upstream of a node through its non-model inputs, not looking past a sampler, nearest
    first (breadth first, each node once)."""
    order = [nid]
    seen = {nid}
    found: list[str] = []
    i = 0
    while i < len(order):
        for k, v in g.inputs(order[i]).items():
            ln = g.link(v) if k not in _NOT_CONTENT else None
            if ln is not None and ln[0] not in seen:
                seen.add(ln[0])
                if g.is_sampler(ln[0]):
                    found.append(ln[0])
                else:
                    order.append(ln[0])
        i += 1
    return found


def is_output(g: Graph, nid: str) -> bool:
    ct = g.ct(nid)
    ins = g.inputs(nid)
    return ("images" in ins or "image" in ins) and bool(re.search(r"Save|Preview|VideoCombine", ct))


@dataclass
class Chain:
    samplers: list[str]
    source: dict
    transforms: dict[str, list[Op]]       # sampler id -> latent operations between the previous sampler and it
    branches: list[str]                   # samplers merged in through composites (not followed)


def latent_chain(g: Graph, final: str) -> Chain:
    samplers = [final]
    transforms: dict[str, list[Op]] = {final: []}
    branches: list[str] = []
    source: dict = {"type": "unknown"}
    seen = {final}
    cur_sampler = final
    ref = read_latent_ref(g, final)
    steps_taken = 0
    pending: list[Op] = []
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
            ref = read_latent_ref(g, nid)
            continue
        empty = empty_latent(g, nid, ct, ins)
        if empty is not None:
            source = empty
            break
        if ct in ("LoadImage", "LoadImageMask") or (ct.startswith("Load") and "image" in ins and g.link(ins["image"]) is None):
            source = {"type": "image", "node": nid, "class": ct, "image": ins.get("image")}
            break
        pending.append(Op(ct, nid, g.literals(ins)))
        if ct == "LatentComposite" or "samples_from" in ins:
            br = g.link(ins.get("samples_from"))
            if br:
                branches.extend(samplers_upstream(g, br[0]))
        nxt = None
        for name in LATENT_PASS_INPUTS:
            if g.link(ins.get(name)):
                nxt = ins.get(name)
                break
        ref = nxt
    transforms[cur_sampler] = list(reversed(pending)) + transforms.get(cur_sampler, [])
    samplers.reverse()
    on_chain = set(samplers)
    branches = sorted(dict.fromkeys(b for b in branches if b not in on_chain), key=node_sort_key)
    return Chain(samplers, source, transforms, branches)


def empty_latent(g: Graph, nid: str, ct: str, ins: dict) -> dict | None:
    """An empty-latent source (txt2img) with its size: EmptyLatentImage and its per-family variants, and loaders
    that make the latent themselves (efficiency-nodes' ``empty_latent_width``)."""
    for wk, hk in (("width", "height"), ("empty_latent_width", "empty_latent_height")):
        if wk in ins and hk in ins and ("Empty" in ct or wk.startswith("empty_")):
            src: dict = {"type": "empty_latent", "node": nid, "class": ct, "unresolved": []}
            for field, key in (("width", wk), ("height", hk), ("batch_size", "batch_size")):
                src[field] = as_int(g, ins.get(key), (field, key, "value"), field)
                if src[field] is None and g.is_link(ins.get(key)):
                    src["unresolved"].append(f"{field} of {ct} #{nid} comes from {g.describe(ins.get(key))}, "
                                             "computed at run time (or past what the walk follows): no recorded value")
            return src
    size = g.size_text(ins) if "Empty" in ct else None
    if size is not None:  # a size picker that makes the latent itself ("1024x1024 (1.0)", essentials' picker)
        w, h = size
        for key, i in (("width_override", 0), ("height_override", 1)):
            v = ins.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                w, h = (v, h) if i == 0 else (w, v)
        return {"type": "empty_latent", "node": nid, "class": ct, "unresolved": [], "width": w, "height": h,
                "batch_size": as_int(g, ins.get("batch_size"), ("batch_size", "value"), "batch_size")}
    return None


def earlier_passes(g: Graph, sid: str) -> list[str]:
    """Samplers feeding a sampler through anything but its latent and model (Stable Cascade's stage C reaches
    stage B through ``stage_c`` conditioning, a first pass a second one through a ControlNet image): the
    nearest ones, not looking past a sampler. Linear: one visited set."""
    found: list[str] = []
    stack = [v for k, v in g.inputs(sid).items()
             if type(v) is list and k not in _NOT_CONTENT and k not in CONTENT_INPUTS]
    seen: set[str] = {sid}
    while stack:
        ln = g.link(stack.pop())
        if ln is None or ln[0] in seen:
            continue
        nid = ln[0]
        seen.add(nid)
        if g.is_sampler(nid):
            found.append(nid)
            continue
        stack.extend(v for k, v in g.inputs(nid).items() if type(v) is list and k not in _NOT_CONTENT)
    return sorted(found, key=node_sort_key)


def pass_chain(g: Graph, final: str) -> Chain:
    """The chain of passes behind a final sampler: its latent/image chain, extended upstream by the passes that
    feed the chain's first sampler another way (then the first pass is the one that made the composition)."""
    chain = latent_chain(g, final)
    seen = set(chain.samplers)
    while len(chain.samplers) < len(g.nodes):
        first = chain.samplers[0]
        earlier = [s for s in earlier_passes(g, first) if s not in seen]
        if not earlier:
            break
        prev = latent_chain(g, earlier[-1])
        if seen & set(prev.samplers):
            break
        seen |= set(prev.samplers)
        via = Op("earlier pass", earlier[-1], {"feeds": f"#{first} through its conditioning/inputs"})
        chain = Chain(prev.samplers + chain.samplers, prev.source,
                      {**prev.transforms, **chain.transforms, first: [via] + chain.transforms.get(first, [])},
                      sorted(dict.fromkeys(prev.branches + chain.branches
                                           + [s for s in earlier[:-1] if s not in seen]), key=node_sort_key))
    return chain


def upstream_sampler(g: Graph, sid: str) -> str | None:
    """The first sampler upstream of a sampler's latent input, if any."""
    ref = read_latent_ref(g, sid)
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


def read_latent_ref(g: Graph, nid: str) -> Any:
    ins = g.inputs(nid)
    return next((ins[k] for k in CONTENT_INPUTS if k in ins), None)


def samplers_upstream(g: Graph, start: str) -> list[str]:
    found: list[str] = []
    stack = [start]
    seen: set[str] = set()
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
    return sorted(found, key=node_sort_key)


@dataclass
class CondText:
    text: str | None
    node: str
    cls: str
    regional: list[str]
    clip_ref: Any
    other_texts: dict


def walk_conditioning(g: Graph, ref: Any) -> tuple[list[CondText], list[str]]:
    """Texts reachable from a conditioning input, plus the modifiers passed on the way.

    Linear in the graph: each (node, output slot, inside-a-region) is visited once, and a text keeps at most
    MAX_REGION region descriptions (the nearest) with a count of the rest, never a copy of the whole path."""
    texts: list[CondText] = []
    modifiers: list[str] = []
    stack: list[tuple[Any, tuple[str, ...], int]] = [(ref, (), 0)]  # (link, nearest regions, regions in all)
    seen: set[tuple[str, int, bool]] = set()
    dropped = 0
    has_global = False
    while stack:
        r, region, depth = stack.pop()
        ln = g.link(r)
        if ln is None:
            continue
        nid, slot = ln
        if (nid, slot, depth > 0) in seen:
            continue
        seen.add((nid, slot, depth > 0))
        ct = g.ct(nid)
        ins = g.inputs(nid)
        if ct in REGION_CLASSES:
            # described only while the description is kept: a chain of boxes costs O(1) per box
            if len(region) < MAX_REGION and ("text" not in ins or len(texts) < MAX_TEXTS):
                shown = {k: v for k, v in g.literals(ins).items() if k != "text"}
                inner = region + (f"{ct} #{nid} {json.dumps(shown, ensure_ascii=False, sort_keys=True)}",)
            else:
                inner = region
            if "text" in ins:
                # GLIGEN: the box text is regional; the conditioning it is added to stays what it was
                if len(texts) < MAX_TEXTS:
                    texts.append(CondText(as_str(g, ins["text"], STRING_VALUE_INPUTS), nid, ct,
                                          _regions(inner, depth + 1), ins.get("clip"), {}))
                else:
                    dropped += 1
                stack.append((ins.get("conditioning_to", ins.get("conditioning")), region, depth))
            else:
                stack.append((ins.get("conditioning", ins.get("conditioning_to")), inner, depth + 1))
            continue
        text_keys = [k for k in TEXT_INPUTS if k in ins]
        clip_key = next((k for k in CLIP_INPUTS if k in ins), None)
        encoded = ENCODER_OUTPUTS.get(ct, {}).get(slot)
        if encoded is not None or (clip_key and text_keys):
            main = encoded or text_keys[0]
            text = as_str(g, ins.get(main), STRING_VALUE_INPUTS)
            others = {} if encoded else {k: as_str(g, ins[k], STRING_VALUE_INPUTS) for k in text_keys[1:]}
            others = {k: v for k, v in others.items() if v not in (None, "", text)}
            # the first global text is the prompt: kept whatever the cap
            if len(texts) < MAX_TEXTS or (depth == 0 and not has_global):
                texts.append(CondText(text, nid, ct, _regions(region, depth), ins.get(clip_key) if clip_key else None,
                                      others))
                has_global = has_global or depth == 0
            else:
                dropped += 1
            if text is None:
                why = (f"comes from {g.describe(ins.get(main))}, computed at run time (or past what the walk follows): no recorded value"
                       if g.is_link(ins.get(main)) else "is missing")
                modifiers.append(f"{ct} #{nid}: the text {why}")
            continue
        literals = g.literals(ins)
        if ct == "ConditioningZeroOut":
            modifiers.append(f"ConditioningZeroOut #{nid} (conditioning replaced by zeros)")
            continue
        if "positive" in ins and "negative" in ins:
            # ControlNetApplyAdvanced, InstructPixToPixConditioning, ...: outputs (positive, negative)
            if len(modifiers) < MAX_TEXTS:  # capped like the other modifiers (a 10,000-node chain: seconds)
                images = upstream_images(g, nid)
                modifiers.append(f"{ct} #{nid} {json.dumps(literals, ensure_ascii=False, sort_keys=True)}"
                                 + (f" using {', '.join(images)}" if images else ""))
            stack.append((ins.get("positive" if slot == 0 else "negative"), region, depth))
            continue
        cond_inputs = [k for k in ins if "cond" in k.lower() and g.link(ins[k])]
        if not cond_inputs:
            cond_inputs = [k for k in ("input", "any", "value") if g.link(ins.get(k))]
        if ct not in ("ConditioningCombine", "ConditioningCombineMultiple", "Reroute") and len(modifiers) < MAX_TEXTS:
            images = upstream_images(g, nid)
            modifiers.append(str(Op(ct, nid, literals)) + (f" using {', '.join(images)}" if images else ""))
        for k in sorted(cond_inputs, reverse=True):   # stack: process conditioning_1 first
            stack.append((ins[k], region, depth))
    if dropped:
        modifiers.append(f"{dropped} more text encoder(s) on this conditioning path, not listed")
    return texts, modifiers


#: Most texts and modifiers one conditioning walk keeps (the walk itself still visits every node once).
MAX_TEXTS = 256


def _regions(nearest: tuple[str, ...], depth: int) -> list[str]:
    out = list(nearest)
    if depth > len(nearest):
        out.append(f"... {depth - len(nearest)} more region node(s)")
    return out


def walk_model(g: Graph, ref: Any) -> tuple[dict, list[dict], list[str]]:
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
            name = as_str(g, ins.get(key), (key, "ckpt_name", "unet_name"))
            if name is not None:
                info = {"node": nid, "class": ct, "name": name}
                info.update({k: v for k, v in g.literals(ins).items() if k != key and not _is_text(k)})
                lora = as_str(g, ins.get("lora_name"), ("lora_name",))
                if lora not in (None, "None"):  # efficiency-nodes' loader applies a LoRA itself
                    loras.append({"name": lora, "weight": as_float(g, ins.get("lora_model_strength"), ("value",)),
                                  "weight_clip": as_float(g, ins.get("lora_clip_strength"), ("value",)),
                                  "node": nid, "class": ct})
                loras.extend(lora_stack(g, ins.get("lora_stack")))
                return info, loras[:MAX_LISTED], patches
        listed = _listed_loras(g, nid, ct, ins)
        if "lora_name" in ins:
            if len(loras) < MAX_LISTED:
                loras.append(_lora(g, nid, ct, ins))
        elif listed or g.is_link(ins.get("lora_stack")):
            loras.extend(listed + lora_stack(g, ins.get("lora_stack")))
            del loras[MAX_LISTED:]
        elif len(patches) < MAX_LISTED:
            patches.append(str(Op(ct, nid, g.literals(ins))))
        ref = ins.get("model")
        if g.link(ref) is None:
            links = [v for v in ins.values() if g.link(v)]
            ref = links[0] if len(links) == 1 else None


_NUMBERED = re.compile(r"^(.*?)_?(\d{1,3})$")


def _listed_loras(g: Graph, nid: str, ct: str, ins: dict) -> list[dict]:
    """LoRAs a node lists itself: numbered inputs (LoRA Stacker's ``lora_name_1`` / ``lora_wt_1`` /
    ``model_str_1``, CR LoRA Stack's ``switch_1``) or rgthree Power Lora Loader's ``lora_1`` dicts."""
    out: list[dict] = []
    count = ins.get("lora_count") if isinstance(ins.get("lora_count"), int) else None
    for k, v in ins.items():
        if isinstance(v, dict) and isinstance(v.get("lora"), str) and v.get("lora") != "None":
            if v.get("on", True) is not False:
                out.append({"name": v["lora"], "weight": real_or_none(v.get("strength")),
                            "weight_clip": real_or_none(v.get("strengthTwo", v.get("strength"))), "node": nid,
                            "class": ct})
            continue
        m = _NUMBERED.match(k)
        if not m or m.group(1) != "lora_name" or len(out) >= MAX_LISTED:
            continue
        n = m.group(2)
        if count is not None and int(n) > count:
            continue
        name = as_str(g, v, ("lora_name",))
        if name in (None, "None") or ins.get(f"switch_{n}") in ("Off", False):
            continue
        by = {key.rsplit("_", 1)[0]: val for key, val in ins.items() if key.endswith(f"_{n}")}
        # LoRA Stacker's "simple" mode applies lora_wt to both, "advanced" model_str / clip_str
        simple = ("lora_wt",) if ins.get("input_mode") != "advanced" else ()
        weight = next((by[w] for w in simple + ("model_str", "model_weight", "strength_model") if w in by), None)
        clip = next((by[w] for w in simple + ("clip_str", "clip_weight", "strength_clip") if w in by), None)
        out.append({"name": name, "weight": real_or_none(weight), "weight_clip": real_or_none(clip), "node": nid,
                    "class": ct})
    return out


def real_or_none(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def lora_stack(g: Graph, ref: Any) -> list[dict]:
    """The LoRAs of a chain of stack nodes (each may extend another through its own ``lora_stack``)."""
    out: list[dict] = []
    seen: set[str] = set()
    ln = g.link(ref)
    while ln is not None and ln[0] not in seen and len(out) < MAX_LISTED:
        seen.add(ln[0])
        ins = g.inputs(ln[0])
        out.extend(_listed_loras(g, ln[0], g.ct(ln[0]), ins))
        ln = g.link(ins.get("lora_stack"))
    return out[:MAX_LISTED]


def _is_text(key: str) -> bool:
    """Prompt inputs of loaders that encode their own prompts (kept as the prompt, not as loader settings)."""
    return key in ("positive", "negative") or key in TEXT_INPUTS


def _lora(g: Graph, nid: str, ct: str, ins: dict) -> dict:
    return {"name": as_str(g, ins.get("lora_name"), ("lora_name",)),
            "weight": as_float(g, ins.get("strength_model"), ("strength_model", "value")),
            "weight_clip": as_float(g, ins.get("strength_clip"), ("strength_clip", "value")), "node": nid, "class": ct}


def walk_clip(g: Graph, ref: Any) -> tuple[int | None, list[dict], str | None]:
    """(clip skip, LoRAs on the clip path, checkpoint config name)."""
    clip_skip = None
    loras: list[dict] = []
    seen: set[str] = set()
    while True:
        ln = g.link(ref)
        if ln is None or ln[0] in seen:
            return clip_skip, loras, None
        nid = ln[0]
        seen.add(nid)
        ct = g.ct(nid)
        ins = g.inputs(nid)
        if "stop_at_clip_layer" in ins and clip_skip is None:
            v = as_int(g, ins.get("stop_at_clip_layer"), ("stop_at_clip_layer", "value"), "stop_at_clip_layer")
            if v is not None:
                clip_skip = -v
        if "lora_name" in ins:
            lora = _lora(g, nid, ct, ins)
            if len(loras) < MAX_LISTED:
                loras.append({"name": lora["name"], "weight_clip": lora["weight_clip"], "node": nid})
        if any(isinstance(ins.get(k), str) for k in CHECKPOINT_INPUTS) or ct.startswith("CLIPLoader") \
                or ct.startswith("DualCLIPLoader") or ct.startswith("TripleCLIPLoader"):
            cfg = ins.get("config_name")
            return clip_skip, loras, cfg if isinstance(cfg, str) else None
        ref = ins.get("clip")


# ------------------------------------------------------------------ assembling

def merge_segments(g: Graph, chain: Chain, passes: dict[str, Pass]) -> list[list[str]]:
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


def prompt_of(g: Graph, ref: Any) -> tuple[str | None, list[CondText], list[str]]:
    """(the first global text, all texts, conditioning modifiers) behind a conditioning input."""
    texts, modifiers = walk_conditioning(g, ref)
    global_texts = [t for t in texts if not t.regional]
    chosen = global_texts[0] if global_texts else None
    return (chosen.text if chosen else None), texts, modifiers



def upstream_images(g: Graph, nid: str, limit: int = 12) -> list[str]:
    """Names of images loaded upstream of a node's non-conditioning inputs (bounded search)."""
    found: list[str] = []
    stack: list[str] = []
    seen: set[str] = set()
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
