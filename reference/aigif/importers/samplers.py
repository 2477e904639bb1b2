"""Sampler and schedule names of AUTOMATIC1111, ComfyUI, Fooocus, InvokeAI and
NovelAI, resolved to a diffusers scheduler and to a registry entry.

The names and what they mean are data, in the registry's ``schedulers``
table (``registry/schedulers.json``): its ``tools`` section holds every
tool's names, ``solvers`` and ``schedules`` the model below, and each entry's
``pairs`` the (solver, schedule) pairs it runs. New names and features are
added there, not here; this module only looks names up and merges two rows.
``python -m aigif.importers.samplers`` prints every reachable pair with the
names that reach it and its registry entry.

Model
-----
A tool's "sampler" is two independent choices: the **solver** (the update
rule: Euler, DPM++ 2M, ...) and the **schedule** (which sigmas / timesteps
the steps visit: k-diffusion's uniform "normal" discretisation, Karras,
exponential, ...). A resolved pair gives ``(diffusers class, config
overrides)``, applied on top of the model's own scheduler config,
``Class.from_config(pipe.scheduler.config, **overrides)`` (SPEC.md §12.3),
which supplies the beta schedule and prediction type. That is why the
k-diffusion default schedule ("normal") states ``timestep_spacing:
"linspace"`` explicitly: SD 1.x and SDXL ship ``"leading"`` with
``steps_offset: 1``, which visits different timesteps than A1111 / ComfyUI.
It matters even for Karras: Euler, Heun, KDPM2(a), LMS and DPMSolverSDE take
sigma_min/max from the sigmas at the spaced timesteps, so with ``leading``
20 Karras steps start at σ = 11.03 instead of k-diffusion's 14.61 (measured
with diffusers 0.42.1); DPMSolverMultistep, UniPC and DEIS are unaffected.

Status: ``mapped`` (same update rule and schedule; only the noise source and
floating point differ), ``approximate`` (a known algorithmic difference, in
``notes``), ``unmapped`` (no diffusers class; ``fallback`` names the
nearest). Ancestral/SDE noise is drawn from diffusers' generator, while
A1111 seeds it from ``seed + ENSD`` and ComfyUI from the sampler seed:
pixel-identical reproduction of those samplers needs the tool's noise
source too.

Rules that are easy to get wrong
--------------------------------
* **A1111 "Automatic" depends on the version.** Since 1.9 the infotext has
  ``Schedule type``, and ``Automatic`` means the sampler's own default
  (Karras for DPM++ 2M, Exponential for DPM++ 2M SDE, ...). Without a
  ``Schedule type`` (<= 1.8) a bare ``DPM++ 2M`` means *uniform* and the
  schedule is in the name (``DPM++ 2M Karras``), split by suffix as A1111's
  ``get_sampler_and_scheduler`` does. Names match ignoring case, spaces and
  punctuation.
* ComfyUI runs ``ddim`` as Euler; early ComfyUI wrote ``sample_dpmpp_2m``.
* InvokeAI >= 3 runs diffusers itself: its names map to the class with the
  model's config (``_k``: Karras sigmas only), all ``mapped``; its
  ``dpmpp_2s`` is the deterministic single-step solver, not A1111's
  ancestral DPM++ 2S a.
"""
from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass, field

from ..registry import Registry, load

MAPPED, APPROXIMATE, UNMAPPED = "mapped", "approximate", "unmapped"
_STATUS_RANK = {MAPPED: 0, APPROXIMATE: 1, UNMAPPED: 2}


class UnknownSamplerName(KeyError):
    """A sampler or schedule name that is in none of the tables."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


class Tables:
    """The registry's sampler model, as read from ``schedulers.json``, with the indexes the lookups use."""

    def __init__(self, doc: dict):
        self.entries: list[dict] = doc["entries"]
        self.solvers: dict[str, dict] = doc["solvers"]
        self.schedules: dict[str, dict] = doc["schedules"]
        self.class_config_keys: dict[str, list[str]] = doc["class_config_keys"]
        self.tools: dict[str, dict] = doc["tools"]
        self.statuses: dict[str, str] = doc["statuses"]
        self.diffusers_version_checked: str = doc["diffusers_version_checked"]
        a = self.tools["a1111"]
        #: normalised A1111 sampler label or alias -> label, and schedule type label likewise
        self.a1111_by_norm = {_norm(alias): label for alias, label in a["aliases"].items()}
        self.a1111_by_norm.update({_norm(label): label for label in a["samplers"]})
        self.a1111_schedules_by_norm = {_norm(label): label for label in a["schedule_types"]}
        #: source_tool -> the name table it writes
        self.tool_table = {tool: name for name, t in self.tools.items() for tool in t["used_by"]}
        self.entry_of_pair = {tuple(p): e["key"] for e in self.entries for p in e["pairs"]}


@functools.lru_cache(maxsize=4)
def tables(reg: Registry | None = None) -> Tables:
    return Tables((reg or load()).document("schedulers"))


@dataclass
class Resolution:
    key: str                       # canonical pair key, e.g. "dpmpp-2m-karras"
    sampler: str                   # canonical solver key
    schedule: str                  # canonical schedule key
    diffusers: str | None          # diffusers scheduler class, None when unmapped
    config: dict = field(default_factory=dict)
    status: str = MAPPED
    #: how the tool's names were read (legacy name, "Automatic", ...): about this reading, not the pair
    reading: list[str] = field(default_factory=list)
    #: what the pair itself gets wrong or needs
    pair_notes: list[str] = field(default_factory=list)
    fallback: dict | None = None

    @property
    def notes(self) -> list[str]:
        return self.reading + self.pair_notes

    def to_diffusers(self) -> tuple[str | None, dict]:
        return (self.diffusers, dict(self.config)) if self.diffusers else (None, {})


def combine(sampler_key: str, schedule_key: str, reading: list[str] | None = None,
            reg: Registry | None = None) -> Resolution:
    """Merge a solver row and a schedule row into a Resolution."""
    t = tables(reg)
    s, sch = t.solvers[sampler_key], t.schedules[schedule_key]
    key = sampler_key if schedule_key == s["natural_schedule"] else f"{sampler_key}-{schedule_key}"
    out = Resolution(key=key, sampler=sampler_key, schedule=schedule_key, diffusers=s["class"],
                     reading=list(reading or []), pair_notes=list(s["notes"]) + list(sch["notes"]),
                     fallback=s.get("fallback"))
    if s["class"] is None or sch["config"] is None:
        if sch["config"] is None:
            out.pair_notes.append(f"schedule '{sch['name']}' has no diffusers equivalent")
        out.diffusers, out.status = None, UNMAPPED
        return out
    missing = sorted(set(sch["config"]) - set(t.class_config_keys[s["class"]]))
    if missing:
        out.pair_notes.append(f"{s['class']} has no {', '.join(missing)} (schedule '{sch['name']}')")
        out.diffusers, out.status = None, UNMAPPED
        return out
    out.config = {**s["config"], **sch["config"]}
    out.status = max(s["status"], sch["status"], key=_STATUS_RANK.__getitem__)
    return out


# ------------------------------------------------------------------ per tool

def _a1111_label(name: str, t: Tables) -> str | None:
    a = t.tools["a1111"]
    name = a["aliases"].get(name, name)
    return name if name in a["samplers"] else t.a1111_by_norm.get(_norm(name))


def _schedule_lookup(label: str, t: Tables) -> str | None:
    types = t.tools["a1111"]["schedule_types"]
    found = label if label in types else t.a1111_schedules_by_norm.get(_norm(label))
    if found is None:
        raise UnknownSamplerName(f"unknown A1111 schedule type {label!r}")
    return types[found]


def split_a1111_sampler(name: str, reg: Registry | None = None) -> tuple[str, str | None]:
    """'DPM++ 2M Karras' -> ('DPM++ 2M', 'Karras'); names without a schedule suffix pass through."""
    t = tables(reg)
    base = _a1111_label(name, t)
    if base is not None:
        return base, None
    n = _norm(name)
    for label in sorted(t.tools["a1111"]["schedule_types"], key=lambda x: len(_norm(x)), reverse=True):
        suffix = _norm(label)
        if len(n) > len(suffix) and n.endswith(suffix) and n[:-len(suffix)] in t.a1111_by_norm:
            return t.a1111_by_norm[n[:-len(suffix)]], label
    raise UnknownSamplerName(f"unknown A1111 sampler {name!r}")


def resolve_a1111(sampler: str, schedule_type: str | None = None, reg: Registry | None = None) -> Resolution:
    """Resolve an A1111/Forge "Sampler" (+ "Schedule type", None when the infotext has none)."""
    t = tables(reg)
    base, suffix = split_a1111_sampler(sampler, reg)
    row = t.tools["a1111"]["samplers"][base]
    schedule_type = schedule_type or None   # A1111 drops an empty value: the same as none
    reading: list[str] = []
    if "own" in row:
        schedule = row["own"]
        if suffix or (schedule_type and _schedule_lookup(schedule_type, t) is not None):
            reading.append(f"A1111 ignores the schedule type for {base}")
    elif suffix:
        schedule = _schedule_lookup(suffix, t) or row["auto"]
        reading.append(f"legacy combined sampler name {sampler!r}")
    elif schedule_type is None:
        schedule = row.get("legacy", "normal")
        reading.append(f"no 'Schedule type' (A1111 < 1.9): bare {base!r} means the "
                       f"{t.schedules[schedule]['name']} schedule")
    else:
        looked = _schedule_lookup(schedule_type, t)
        schedule = row["auto"] if looked is None else looked
        if looked is None:
            reading.append(f"'Automatic' means {t.schedules[schedule]['name']} for {base} (A1111 >= 1.9)")
    return combine(row["sampler"], schedule, reading, reg)


def resolve_comfyui(sampler_name: str, scheduler: str | None = "normal", reg: Registry | None = None) -> Resolution:
    """Resolve a ComfyUI (or Fooocus) (sampler_name, scheduler) pair."""
    c = tables(reg).tools["comfyui"]
    reading: list[str] = []
    name = sampler_name
    if name not in c["samplers"] and name.startswith(c["legacy_prefix"]):
        name = name[len(c["legacy_prefix"]):]
        reading.append(f"early ComfyUI name {sampler_name!r} read as {name!r}")
    if name not in c["samplers"]:
        raise UnknownSamplerName(f"unknown ComfyUI sampler {sampler_name!r}")
    if name in c["notes"]:
        reading.append(c["notes"][name])
    sched = scheduler if scheduler is not None else "normal"
    if sched not in c["schedulers"]:
        raise UnknownSamplerName(f"unknown ComfyUI scheduler {scheduler!r}")
    return combine(c["samplers"][name], c["schedulers"][sched], reading, reg)


def resolve_invokeai(scheduler: str, reg: Registry | None = None) -> Resolution:
    i = tables(reg).tools["invokeai"]
    if scheduler in i["schedulers"]:
        solver, schedule = i["schedulers"][scheduler]
        res = combine(solver, schedule, reg=reg)
        if res.diffusers is not None:
            # InvokeAI >= 3 runs these very diffusers classes: nothing to approximate.
            res.status = MAPPED
            res.pair_notes = ["InvokeAI >= 3 runs this diffusers scheduler itself"]
        return res
    if scheduler in i["legacy_samplers"]:
        solver, schedule = i["legacy_samplers"][scheduler]
        return combine(solver, schedule, ["InvokeAI 1.x/2.x k-diffusion sampler"], reg)
    raise UnknownSamplerName(f"unknown InvokeAI scheduler {scheduler!r}")


def resolve_novelai(sampler: str, noise_schedule: str | None = None, reg: Registry | None = None) -> Resolution:
    n = tables(reg).tools["novelai"]
    if sampler not in n["samplers"]:
        raise UnknownSamplerName(f"unknown NovelAI sampler {sampler!r}")
    sched = noise_schedule or n["default_noise_schedule"]
    if sched not in n["noise_schedules"]:
        raise UnknownSamplerName(f"unknown NovelAI noise schedule {noise_schedule!r}")
    reading = [] if noise_schedule else [f"no noise_schedule in the metadata: NovelAI's {sched!r} schedule assumed"]
    return combine(n["samplers"][sampler], n["noise_schedules"][sched], reading, reg)


#: name table -> how its names resolve (InvokeAI's one name covers the schedule too)
_RESOLVERS = {
    "a1111": resolve_a1111,
    "comfyui": resolve_comfyui,
    "invokeai": lambda s, sch, reg: resolve_invokeai(s, reg),
    "novelai": resolve_novelai,
}


def resolve(tool: str, sampler: str, schedule: str | None = None, reg: Registry | None = None) -> Resolution:
    """Resolve a tool's own sampler (+ schedule) name. Raises UnknownSamplerName."""
    table = tables(reg).tool_table.get(tool)
    if table is None:
        raise UnknownSamplerName(f"no sampler table for tool {tool!r}")
    return _RESOLVERS[table](sampler, schedule, reg)


def to_diffusers(tool: str, sampler: str, schedule: str | None = None,
                 reg: Registry | None = None) -> tuple[str | None, dict]:
    """(diffusers scheduler class name, config overrides); (None, {}) when unmapped."""
    return resolve(tool, sampler, schedule, reg).to_diffusers()


def registry_key(res: Resolution, reg: Registry | None = None) -> str | None:
    """The registry scheduler entry that runs this pair, None when none does."""
    return tables(reg).entry_of_pair.get((res.sampler, res.schedule))


# ------------------------------------------------------------------ every name, the other way round

def _every_name(reg: Registry | None = None):
    """(name table, the names as the tool writes them, Resolution) for every name the tables know."""
    t = tables(reg)
    a = t.tools["a1111"]
    labels = [None] + [label for label, sch in a["schedule_types"].items() if sch is not None]
    for base in a["samplers"]:
        for label in labels + ["Automatic"]:
            yield "a1111", [base, label], resolve_a1111(base, label, reg)
    c = t.tools["comfyui"]
    for s in c["samplers"]:
        for sch in c["schedulers"]:
            yield "comfyui", [s, sch], resolve_comfyui(s, sch, reg)
    for s in list(t.tools["invokeai"]["schedulers"]) + list(t.tools["invokeai"]["legacy_samplers"]):
        yield "invokeai", s, resolve_invokeai(s, reg)
    n = t.tools["novelai"]
    for s in n["samplers"]:
        for sch in n["noise_schedules"]:
            yield "novelai", [s, sch], resolve_novelai(s, sch, reg)


def tool_names(reg: Registry | None = None) -> dict[str, dict[str, list]]:
    """Registry entry key -> name table -> the names that resolve to the entry, in table order
    (for A1111 the bare name first, then the explicit schedule types; "Automatic" last)."""
    out: dict[str, dict[str, list]] = {}
    for table, names, res in _every_name(reg):
        key = registry_key(res, reg)
        if key is not None:
            got = out.setdefault(key, {}).setdefault(table, [])
            if names not in got:
                got.append(names)
    return out


def a1111_names(entry_key: str, reg: Registry | None = None) -> tuple[str, str | None] | None:
    """The (Sampler, Schedule type) A1111 writes for a registry scheduler; None when A1111 has no name for it."""
    names = [n for n in tool_names(reg).get(entry_key, {}).get("a1111", []) if n[1] != "Automatic"]
    return tuple(names[0]) if names else None


def as_json(reg: Registry | None = None) -> dict:
    """Every canonical pair the tool tables reach, with the names that reach it and its registry entry."""
    t = tables(reg)
    pairs: dict[str, dict] = {}
    for table, names, res in _every_name(reg):
        e = pairs.setdefault(res.key, {"key": res.key, "sampler": res.sampler, "schedule": res.schedule,
                                       "class": res.diffusers, "config": res.config, "status": res.status,
                                       "notes": res.pair_notes, "fallback": res.fallback,
                                       "entry": registry_key(res, reg),
                                       "a1111": [], "comfyui": [], "invokeai": [], "novelai": []})
        if names not in e[table]:
            e[table].append(names)
    order = {k: i for i, k in enumerate(t.solvers)}
    return {"diffusers_version_checked": t.diffusers_version_checked, "statuses": t.statuses,
            "pairs": sorted(pairs.values(), key=lambda e: (order[e["sampler"]], e["key"]))}


def main(argv: list[str] | None = None) -> int:
    json.dump(as_json(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
