"""Walks through a ComfyUI graph: the image and latent paths, conditioning, model and CLIP."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .graph import CHECKPOINT_INPUTS, LATENT_PASS_INPUTS, REGION_CLASSES, STRING_VALUE_INPUTS, TEXT_INPUTS, Graph, Op, Pass, as_int, as_str, node_sort_key


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
        cur = nxt
    return None, post, vae_ref


def is_output(g: Graph, nid: str) -> bool:
    ct = g.ct(nid)
    ins = g.inputs(nid)
    return ("images" in ins or "image" in ins) and bool(re.search(r"Save|Preview", ct))


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
        if ct.startswith("Empty") and "width" in ins and "height" in ins:
            source = {"type": "empty_latent", "node": nid, "class": ct,
                      "width": as_int(g, ins.get("width"), ("width", "value"), "width"),
                      "height": as_int(g, ins.get("height"), ("height", "value"), "height"),
                      "batch_size": as_int(g, ins.get("batch_size"), ("batch_size", "value"), "batch_size")}
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
    return g.inputs(nid).get("latent_image", g.inputs(nid).get("samples"))


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
    """Texts reachable from a conditioning input, plus the modifiers passed on the way."""
    texts: list[CondText] = []
    modifiers: list[str] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(ref, ())]
    seen: set[tuple[str, int, tuple[str, ...]]] = set()  # (node, output slot, region path)
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
        literals = g.literals(ins)
        if ct in REGION_CLASSES:
            shown = {k: v for k, v in literals.items() if k != "text"}
            desc = f"{ct} #{nid} {json.dumps(shown, ensure_ascii=False, sort_keys=True)}"
            if "text" in ins:  # GLIGEN: a text for one box
                texts.append(CondText(as_str(g, ins["text"], STRING_VALUE_INPUTS), nid, ct, list(region) + [desc],
                                      ins.get("clip"), {}))
            stack.append((ins.get("conditioning", ins.get("conditioning_to")), region + (desc,)))
            continue
        text_keys = [k for k in TEXT_INPUTS if k in ins]
        if "clip" in ins and text_keys:
            main = text_keys[0]
            text = as_str(g, ins[main], STRING_VALUE_INPUTS)
            others = {k: as_str(g, ins[k], STRING_VALUE_INPUTS) for k in text_keys[1:]}
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
            images = upstream_images(g, nid)
            modifiers.append(f"{ct} #{nid} {json.dumps(literals, ensure_ascii=False, sort_keys=True)}"
                             + (f" using {', '.join(images)}" if images else ""))
            stack.append((ins.get("positive" if slot == 0 else "negative"), region))
            continue
        cond_inputs = [k for k in ins if "cond" in k.lower() and g.link(ins[k])]
        if not cond_inputs:
            cond_inputs = [k for k in ("input", "any", "value") if g.link(ins.get(k))]
        if ct not in ("ConditioningCombine", "ConditioningCombineMultiple", "Reroute"):
            images = upstream_images(g, nid)
            modifiers.append(str(Op(ct, nid, literals)) + (f" using {', '.join(images)}" if images else ""))
        for k in sorted(cond_inputs, reverse=True):   # stack: process conditioning_1 first
            stack.append((ins[k], region))
    return texts, modifiers


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
            name = ins.get(key)
            if isinstance(name, str):
                info = {"node": nid, "class": ct, "name": name}
                info.update({k: v for k, v in g.literals(ins).items() if k != key})
                return info, loras, patches
        if "lora_name" in ins:
            loras.append({"name": ins.get("lora_name"), "weight": ins.get("strength_model"),
                          "weight_clip": ins.get("strength_clip"), "node": nid, "class": ct})
        else:
            patches.append(str(Op(ct, nid, g.literals(ins))))
        ref = ins.get("model")
        if g.link(ref) is None:
            links = [v for v in ins.values() if g.link(v)]
            ref = links[0] if len(links) == 1 else None


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
            loras.append({"name": ins.get("lora_name"), "weight_clip": ins.get("strength_clip"), "node": nid})
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
