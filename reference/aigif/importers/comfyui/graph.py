"""ComfyUI's executed graph (API format): loading it, resolving inputs, reading one sampler node."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..coerce import integral, load_json_object, real
from ..errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure

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


@dataclass(frozen=True)
class Op:
    """A node on a path with its literal inputs, kept as data and shown as "Class #id {inputs}"."""

    cls: str
    node: str
    inputs: dict

    def __str__(self) -> str:
        shown = f" {json.dumps(self.inputs, ensure_ascii=False, sort_keys=True)}" if self.inputs else ""
        return f"{self.cls} #{self.node}{shown}"


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

    def literals(self, ins: dict) -> dict:
        """The inputs of a node that are values, not links."""
        return {k: v for k, v in ins.items() if self.link(v) is None}

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
    if v is None and required and value is not None:
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
    for k, v in ins.items():
        if k not in used and g.link(v) is None:
            p.other[k] = v
    return p


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
