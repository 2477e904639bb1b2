"""ComfyUI's executed graph (API format): loading it, resolving inputs, reading one sampler node."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..coerce import integral, load_json_object, real
from ..errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure

SAMPLER_CLASSES = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
_GENERIC_SAMPLER_INPUTS = {"sampler_name", "steps", "cfg"}
CHECKPOINT_INPUTS = ("ckpt_name", "unet_name", "base_ckpt_name", "model_path", "model_name")
#: Text inputs of text encoders, the one used first (ImpactWildcardEncode encodes ``populated_text``, the
#: expansion of its ``wildcard_text``).
TEXT_INPUTS = ("populated_text", "text", "text_g", "t5xxl", "clip_g", "clip_l", "text_l", "prompt", "wildcard_text")
#: The CLIP input of a text encoder (rgthree's Power Prompt has an optional one).
CLIP_INPUTS = ("clip", "opt_clip")
STRING_VALUE_INPUTS = ("text", "string", "value", "prompt", "populated_text", "Text", "STRING", "String",
                       "text_positive")
#: Loaders that encode their own prompts: class -> {output slot: the text input it encodes}.
ENCODER_OUTPUTS = {"Efficient Loader": {1: "positive", 2: "negative"}}
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
    #: values the node takes from links that could not be followed to a recorded value
    unresolved: list = field(default_factory=list)
    #: other linked inputs that change what the sampler does (efficiency-nodes' script, a detailer's hooks...)
    linked: list = field(default_factory=list)


#: Largest graph read, and the most node visits all walks together may make
#: (real workflows have tens to a few hundred nodes; the walks are linear per
#: sampler, so a hostile graph could otherwise cost O(nodes x samplers)).
MAX_NODES = 10_000
MAX_VISITS = 1_000_000
#: Most entries kept in the per-sampler summaries of extra.
MAX_LISTED = 32
#: Most image outputs compared when choosing the one this file is.
MAX_OUTPUTS = 64


@dataclass(frozen=True)
class Op:
    """A node on a path with its literal inputs, kept as data and shown as "Class #id {inputs}"."""

    cls: str
    node: str
    inputs: dict

    def __str__(self) -> str:
        shown = f" {json.dumps(self.inputs, ensure_ascii=False, sort_keys=True)}" if self.inputs else ""
        return f"{self.cls} #{self.node}{shown}"


#: Nodes that hand on values of other nodes (bundles, contexts, pipes): class -> (the field each output slot
#: carries, the input holding the bundle those fields are read from, or None for the node's own inputs).
#: A field a bundle node does not set is read from its base bundle (BUNDLE_BASE_INPUTS).
PASSTHROUGH: dict[str, tuple[tuple[str | None, ...], str | None]] = {
    "Context (rgthree)": ((None, "model", "clip", "vae", "positive", "negative", "latent", "images", "seed"), None),
    "Context Big (rgthree)": ((None, "model", "clip", "vae", "positive", "negative", "latent", "images", "seed",
                               "steps", "step_refiner", "cfg", "ckpt_name", "sampler", "scheduler", "clip_width",
                               "clip_height", "text_pos_g", "text_pos_l", "text_neg_g", "text_neg_l", "mask",
                               "control_net"), None),
    "FromBasicPipe": (("model", "clip", "vae", "positive", "negative"), "basic_pipe"),
    "FromBasicPipe_v2": ((None, "model", "clip", "vae", "positive", "negative"), "basic_pipe"),
    # the efficiency-nodes samplers pass their model, conditioning and VAE through (slot 3 is their own latent)
    "KSampler (Efficient)": (("model", "positive", "negative", None, "optional_vae", None), None),
    "KSampler Adv. (Efficient)": (("model", "positive", "negative", None, "optional_vae", None), None),
    "Reroute": (("input",), None),
}
#: Inputs through which a sampler takes its model (and conditioning) in a bundle.
BUNDLE_MODEL_INPUTS = ("basic_pipe", "sdxl_tuple", "detailer_pipe")
#: Inputs of a bundle node that hold the bundle it extends.
BUNDLE_BASE_INPUTS = ("base_ctx", "basic_pipe")
#: Switch nodes that pass on the first connected input at run time (same output slot).
SWITCH_PREFIXES = {"Context Switch (rgthree)": "ctx_", "Context Switch Big (rgthree)": "ctx_"}
#: Most hops through pass-through nodes for one value (a chain of contexts is a few dozen at most).
MAX_HOPS = 256
_SIZE_IN_TEXT = re.compile(r"(\d{2,5})\s*[x\u00d7*]\s*(\d{2,5})")


class Graph:
    def __init__(self, nodes: dict[str, dict]):
        self.nodes = nodes
        self.visits = 0
        self._deref_cache: dict[tuple[str, int], tuple[str, Any]] = {}

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

    def raw_link(self, value: Any) -> tuple[str, int] | None:
        """(node_id, slot) when value is a link to an existing node, without looking through pass-through nodes."""
        # exact types: a bool is no slot, and this runs for every input value the walks look at
        if type(value) is not list or len(value) != 2:
            return None
        nid, slot = value
        if type(slot) is not int:
            return None
        if type(nid) is int:
            nid = str(nid)
        elif type(nid) is not str:
            return None
        return (nid, slot) if nid in self.nodes else None

    def field(self, nid: str, name: str) -> Any:
        """A bundle's field: the node's own input, else the same field of the bundle it extends."""
        seen: set[str] = set()
        cur: str | None = nid
        while cur is not None and cur not in seen and len(seen) < MAX_HOPS:
            seen.add(cur)
            ins = self.inputs(cur)
            if name in ins:
                return ins[name]
            base = next((self.raw_link(ins[k]) for k in BUNDLE_BASE_INPUTS if self.raw_link(ins.get(k))), None)
            cur = base[0] if base else None
        return None

    def deref(self, value: Any) -> tuple[str, Any]:
        """What a link really points at: ("link", (node, slot)) of the producing node, ("value", literal)
        when a pass-through node carries a literal, ("none", None) for an unconnected field."""
        ln = self.raw_link(value)
        if ln is None:
            return "value", value
        start = ln
        if start in self._deref_cache:
            return self._deref_cache[start]
        out: tuple[str, Any] = "link", ln
        seen: set[tuple[str, int]] = set()
        while ln not in seen and len(seen) < MAX_HOPS:
            seen.add(ln)
            nid, slot = ln
            ct = self.ct(nid)
            ins = self.inputs(nid)
            nxt: Any = None
            if ct in SWITCH_PREFIXES:
                first = next((ins[k] for k in sorted(ins) if k.startswith(SWITCH_PREFIXES[ct])
                              and self.raw_link(ins[k])), None)
                nxt = [self.raw_link(first)[0], slot] if first is not None else None  # type: ignore[index]
            elif ct in PASSTHROUGH:
                fields, bundle = PASSTHROUGH[ct]
                name = fields[slot] if 0 <= slot < len(fields) else None
                if name is None:
                    break  # the node's own output
                if bundle is not None:
                    b = self.raw_link(ins.get(bundle))
                    nxt = self.field(b[0], name) if b else None
                else:
                    nxt = self.field(nid, name)
            else:
                break
            if nxt is None:
                out = "none", None
                break
            nl = self.raw_link(nxt)
            if nl is None:
                out = "value", nxt
                break
            ln = nl
            out = "link", ln
        self._deref_cache[start] = out
        return out

    def link(self, value: Any) -> tuple[str, int] | None:
        """(node_id, slot) of the node producing a linked value (through pass-through nodes), else None."""
        ln = self.raw_link(value)
        if ln is None or (self.nodes[ln[0]]["class_type"] not in PASSTHROUGH
                          and self.nodes[ln[0]]["class_type"] not in SWITCH_PREFIXES):
            return ln  # the common case: a real producer, nothing to look through
        kind, v = self.deref(value)
        return v if kind == "link" else None

    def is_link(self, value: Any) -> bool:
        return self.raw_link(value) is not None

    def literals(self, ins: dict) -> dict:
        """The inputs of a node that are values, not links."""
        return {k: v for k, v in ins.items() if self.raw_link(v) is None}

    def literal(self, nid: str, name: str) -> Any:
        v = self.inputs(nid).get(name)
        return None if isinstance(v, list) else v

    def describe(self, value: Any) -> str:
        """Where a linked value comes from, for a report ("CR Seed #12 output 0")."""
        ln = self.link(value) or self.raw_link(value)
        return f"{self.ct(ln[0])} #{ln[0]} output {ln[1]}" if ln else short(value)

    def resolve(self, value: Any, names: tuple[str, ...], want: type | tuple) -> Any:
        """A literal, or the value behind a link: the producing node's input of one of ``names`` (the consumer's
        own name first), a size written as "W x H" for width/height, or its only literal of the wanted type."""
        seen: set[str] = set()
        for _ in range(MAX_HOPS):
            kind, v = self.deref(value)
            if kind != "link":
                return v if isinstance(v, want) and not isinstance(v, bool) else None
            nid = v[0]
            if nid in seen:
                return None
            seen.add(nid)
            ins = self.inputs(nid)
            if names and names[0] in ("width", "height") and want is not str:
                # a resolution picker's choice wins over its width/height inputs (used only for "custom")
                size = self.size_text(ins)
                if size is not None:
                    return size[0 if names[0] == "width" else 1]
            for n in names:
                if n in ins:
                    value = ins[n]
                    break
            else:
                literals = [x for x in ins.values() if isinstance(x, want) and not isinstance(x, bool)]
                if len(literals) != 1:
                    return None
                value = literals[0]
        return None

    @staticmethod
    def size_text(ins: dict) -> tuple[int, int] | None:
        """(width, height) of a resolution picker ("1024 x 1024", "1:1 square 1024x1024"), swapped when asked."""
        found = [m for m in (_SIZE_IN_TEXT.search(v) for v in ins.values() if isinstance(v, str)) if m]
        if len(found) != 1:
            return None
        w, h = int(found[0].group(1)), int(found[0].group(2))
        swap = next((v for k, v in ins.items() if "swap" in k.lower()), None)
        return (h, w) if swap in (True, "On", "on", "true", "True", "enable", "enabled") else (w, h)

    def is_sampler(self, nid: str) -> bool:
        ct = self.ct(nid)
        if ct in SAMPLER_CLASSES:
            return True
        ins = self.inputs(nid)
        if not (_GENERIC_SAMPLER_INPUTS <= set(ins) and ("seed" in ins or "noise_seed" in ins)):
            return False
        # a sampler takes its model directly or in a bundle (Impact's basic_pipe, efficiency-nodes' sdxl_tuple);
        # a bundle without anything to sample is a provider of settings (KSamplerProvider), not a pass
        return "model" in ins or (any(k in ins for k in BUNDLE_MODEL_INPUTS)
                                  and any(k in ins for k in ("latent_image", "samples", "image", "images")))


def load_graph(text: str) -> Graph:
    data = load_json_object(text, "ComfyUI prompt")
    nodes: dict[str, dict] = {}
    for nid, node in data.items():
        if isinstance(node, dict) and isinstance(node.get("class_type"), str) and isinstance(node.get("inputs"), dict):
            nodes[str(nid)] = node
    if not nodes:
        raise ImportFailure(E_IMPORT_MALFORMED, "ComfyUI prompt has no nodes with class_type and inputs")
    if len(nodes) > MAX_NODES:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"ComfyUI graph has {len(nodes)} nodes (limit {MAX_NODES})")
    return Graph(nodes)


# A value that is missing or unresolvable is None (a graph may legitimately leave an input to a link we
# cannot follow); only the inputs without which there is no generation (seed, steps) must be integers.
def as_int(g: Graph, value: Any, names: tuple[str, ...], what: str, *, required: bool = False) -> int | None:
    v = integral(g.resolve(value, names, (int, float)))
    if v is None and required and value is not None and not g.is_link(value):  # a link may be computed: not malformed
        raise ImportFailure(E_IMPORT_MALFORMED, f"ComfyUI {what} is not an integer: {short(value)}")
    return v


def as_float(g: Graph, value: Any, names: tuple[str, ...]) -> float | None:
    return real(g.resolve(value, names, (int, float)))


def as_str(g: Graph, value: Any, names: tuple[str, ...]) -> str | None:
    v = g.resolve(value, names, str)
    return v if isinstance(v, str) else None


# ------------------------------------------------------------------ sampler nodes

def read_pass(g: Graph, nid: str) -> Pass:
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
                p.seed = as_int(g, g.inputs(noise[0]).get("noise_seed", g.inputs(noise[0]).get("seed")),
                              ("noise_seed", "seed"), "noise_seed")
        guider = g.link(take("guider"))
        if guider:
            gins = g.inputs(guider[0])
            p.cfg = as_float(g, gins.get("cfg"), ("cfg",))
            p.model_ref = gins.get("model")
            p.positive_ref = gins.get("positive", gins.get("conditioning", gins.get("cond1")))
            p.negative_ref = gins.get("negative")
            if g.ct(guider[0]) not in ("CFGGuider", "BasicGuider"):
                p.notes.append(f"guider {g.ct(guider[0])} #{guider[0]}")
        _read_sampler_and_sigmas(g, p, take("sampler"), take("sigmas"))
        p.latent_ref = take("latent_image")
    elif ct == "SamplerCustom":
        p.seed = as_int(g, take("noise_seed"), ("noise_seed", "seed"), "noise_seed")
        p.cfg = as_float(g, take("cfg"), ("cfg",))
        p.add_noise = take("add_noise")
        p.model_ref, p.positive_ref, p.negative_ref = take("model"), take("positive"), take("negative")
        _read_sampler_and_sigmas(g, p, take("sampler"), take("sigmas"))
        p.latent_ref = take("latent_image")
    else:
        seed_name = "noise_seed" if "noise_seed" in ins else "seed"
        p.seed = as_int(g, take(seed_name), ("seed", "noise_seed", "value"), seed_name, required=True)
        p.steps = as_int(g, take("steps"), ("steps", "value"), "steps", required=True)
        p.cfg = as_float(g, take("cfg"), ("cfg", "value"))
        p.sampler_name = as_str(g, take("sampler_name"), ("sampler_name",))
        p.scheduler = as_str(g, take("scheduler"), ("scheduler",))
        if "denoise" in ins:
            p.denoise = as_float(g, take("denoise"), ("denoise", "value"))
        if "start_at_step" in ins:
            p.start_at_step = as_int(g, take("start_at_step"), ("start_at_step", "value"), "start_at_step")
            p.end_at_step = as_int(g, take("end_at_step"), ("end_at_step", "value"), "end_at_step")
            p.add_noise = take("add_noise")
            p.leftover_noise = take("return_with_leftover_noise")
        p.model_ref, p.positive_ref, p.negative_ref = take("model"), take("positive"), take("negative")
        p.latent_ref = take("latent_image")
        pipe = g.raw_link(take("basic_pipe"))
        if pipe is not None and p.model_ref is None:
            p.model_ref, p.positive_ref, p.negative_ref = (g.field(pipe[0], k) for k in ("model", "positive", "negative"))
        if p.model_ref is None and g.is_link(ins.get("sdxl_tuple")):
            p.model_ref = take("sdxl_tuple")  # the loader that built the tuple holds the checkpoint name
    for k, v in ins.items():
        if not g.is_link(v):
            if k not in used:
                p.other[k] = v
        elif k in _VALUE_FIELDS and getattr(p, _VALUE_FIELDS[k]) is None:
            p.unresolved.append(f"{k} of {ct} #{nid} comes from {g.describe(v)}, computed at run time (or past what the walk follows): no recorded value")
        elif k not in used and k not in _PLAIN_LINKS and len(p.linked) < MAX_LISTED:
            p.linked.append(f"{k} from {g.describe(v)}")
    return p


#: Sampler inputs and the Pass field each fills.
_VALUE_FIELDS = {"seed": "seed", "noise_seed": "seed", "steps": "steps", "cfg": "cfg", "sampler_name": "sampler_name",
                 "scheduler": "scheduler", "denoise": "denoise", "start_at_step": "start_at_step",
                 "end_at_step": "end_at_step"}
#: Linked sampler inputs that are the pass itself (what it samples with), not an extra influence.
_PLAIN_LINKS = frozenset({"model", "positive", "negative", "latent_image", "samples", "image", "images", "pixels",
                          "vae", "optional_vae", "clip", "noise", "guider", "sampler", "sigmas", "add_noise",
                          "return_with_leftover_noise"})


def _read_sampler_and_sigmas(g: Graph, p: Pass, sampler_ref: Any, sigmas_ref: Any) -> None:
    s = g.link(sampler_ref)
    if s:
        p.sampler_name = as_str(g, g.inputs(s[0]).get("sampler_name"), ("sampler_name",))
        if p.sampler_name is None:
            p.sampler_name = g.ct(s[0])  # SamplerDPMPP_2M_SDE, SamplerEulerAncestral, ...
            p.notes.append(f"sampler node {g.ct(s[0])} #{s[0]}")
    sg = g.link(sigmas_ref)
    if sg:
        sct = g.ct(sg[0])
        sins = g.inputs(sg[0])
        p.steps = as_int(g, sins.get("steps"), ("steps", "value"), "steps")
        p.scheduler = as_str(g, sins.get("scheduler"), ("scheduler",)) or SCHEDULER_NODE_NAMES.get(sct, sct)
        if "denoise" in sins:
            p.denoise = as_float(g, sins.get("denoise"), ("denoise",))
        if sct not in ("BasicScheduler",):
            extra = g.literals(sins)
            p.notes.append(f"sigmas from {sct} #{sg[0]} {json.dumps(extra, ensure_ascii=False)}")




def node_sort_key(nid: str):
    return (0, int(nid), "") if nid.isascii() and nid.isdigit() and len(nid) < 30 else (1, 0, nid)


def short(v: Any, n: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 1] + "\u2026"
