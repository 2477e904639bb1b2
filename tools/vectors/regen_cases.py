"""Regen vectors: files of the conformance models (``vectors/models/``), their
expected images and, per device class, the tolerance the measurements give
(:mod:`tools.vectors.tolerances`). The expected PNG is rendered with
``--render`` (``aigif.regen.render_file`` on the reference platform) and
otherwise carried over from the committed vectors."""
from __future__ import annotations

import tempfile
from pathlib import Path

from aigif import codec, jsonform

from .common import REG, ROOT, BuildError, Vectors, dumps, table
from .tolerances import TOLERANCES_FILE, load_tolerances

# Schedulers with no regen vector: their output on the tiny models holds NaN (a cast to uint8
# is then undefined, so the expected image would not be portable) ...
REGEN_UNSTABLE = {"k-unipc-bh2", "k-unipc"}
# ... or they need torchsde, which the reference platform lacked when the expected images were
# rendered (their vectors are new vectors: render them and measure their tolerances first)
REGEN_NOT_RENDERED = {"dpmpp-sde", "dpmpp-sde-karras", "k-dpmpp-sde", "k-dpmpp-sde-karras"}
PROMPT = "a red circle on a blue background"


def conformance_models() -> list[dict]:
    models = [m for m in table("models").entries if m.get("status") == "conformance"]
    missing = [m["key"] for m in models if not (ROOT / (m.get("source") or {}).get("local", "-") / "model_index.json").is_file()]
    if missing:
        raise BuildError(f"conformance models missing from vectors/models/: {', '.join(missing)}")
    return models


def regen_cases() -> list[dict]:
    """Every conformance family, each scheduler class the registry uses (one
    entry per diffusers class and sigma schedule), both half-precision
    dtypes, every noise source that runs on a CPU, an unknown ignorable
    extension: each {"name", "description", "fields": the short info JSON of ``aigif pack``}."""
    models = conformance_models()
    cases = []

    def case(name, desc, model, **kw):
        size = table("models").by_key[model].get("sample_size") or 64
        fields = {"model": model, "prompt": PROMPT, "negative_prompt": "green", "height": size, "width": size,
                  "seed": 829557441, "dtype": "float32", "noise": "torch-cpu", "text_coder": "prompt", "fields": {"steps": 8}}
        for k, v in kw.items():
            if k == "fields":
                fields["fields"].update(v)
            else:
                fields[k] = v
        cases.append({"name": name, "description": desc, "fields": fields})

    for m in models:
        case(f"{m['key']}-default", f"{m['key']} with its own scheduler, float32, torch-cpu noise", m["key"])
    discrete = next(m["key"] for m in models if REG.family_of(m["key"]).raw["scheduler_kind"] == "discrete")
    flow = [m["key"] for m in models if REG.family_of(m["key"]).raw["scheduler_kind"] == "flow"]
    seen = set()
    for s in table("schedulers").entries:
        if s["class"] is None or s["key"] in REGEN_UNSTABLE | REGEN_NOT_RENDERED:
            continue
        sig = (s["class"], tuple(sorted((k, str(v)) for k, v in s["config"].items() if k != "timestep_spacing")))
        if sig in seen:
            continue  # the same class and schedule as a vector already made
        seen.add(sig)
        model = discrete if s["kind"] == "discrete" else (flow[0] if flow else None)
        if model:
            case(f"scheduler-{s['key']}", f"scheduler {s['key']} ({s['class']} {s['config']})", model, fields={"scheduler": s["key"]})
    for m in models:
        for dt in ("bfloat16", "float16"):
            case(f"{m['key']}-{dt}", f"{m['key']} in {dt}", m["key"], dtype=dt)
    for noise in ("a1111-nv", "portable"):
        for m in models:
            case(f"{m['key']}-noise-{noise}", f"{m['key']} with {noise} noise (Appendix F)", m["key"], noise=noise)
    case("tiny-sd1-ancestral-portable", "an ancestral sampler drawing step noise from the portable stream", discrete,
         noise="portable", fields={"scheduler": "k-euler-a"})
    case("tiny-sd1-unknown-extension", "an unknown ignorable extension does not change the image", discrete,
         extensions=[{"tag": 100, "critical": False, "raw": "00ff7f"}])
    case("tiny-sd1-guidance-6.3", "guidance 6.3 reaches the pipeline as exactly the binary64 6.3", discrete, fields={"guidance": 6.3})
    for name, desc, model, prompt, kw in PROMPT_CASES:
        kw = dict(kw)
        syntax = kw.pop("syntax", "plain")
        ext = {"syntax": syntax, "emphasis": kw.pop("emphasis", 0), "pad_conds": kw.pop("pad_conds", 0)}
        if syntax != "plain":
            kw["extensions"] = [{"tag": REG.extensions.entry("prompts")["tag"], "critical": True, "key": "prompts", "fields": ext}]
        case(name, f"{desc} (SPEC.md §12.9)", model, prompt=prompt, **kw)
    return cases


LONG_LIST = ", ".join(["red circle, blue background, small green square"] * 8)  # 3 windows; commas near window ends
# name, description, model, prompt, other fields: the prompt syntaxes of SPEC.md §12.9 and Appendix G
PROMPT_CASES = [
    ("prompt-a1111-emphasis-up", "a1111: (((red))) is red x1.1^3", "tiny-sd1", "(((red))) circle on a blue background", {"syntax": "a1111"}),
    ("prompt-a1111-emphasis-down", "a1111: [[[red]]] is red /1.1^3", "tiny-sd1", "[[[red]]] circle on a blue background", {"syntax": "a1111"}),
    ("prompt-a1111-nested", "a1111: nested brackets and an unclosed one multiply in A1111's order", "tiny-sd1",
     "((red:1.5) [circle] on a (((blue background:1.3))", {"syntax": "a1111"}),
    ("prompt-a1111-weights", "a1111: explicit weights up and down", "tiny-sd1", "(red:1.5) circle on a (blue:0.6) background", {"syntax": "a1111"}),
    ("prompt-a1111-escapes", "a1111: escaped brackets are text", "tiny-sd1", r"\(red:1.5\) circle \[on\] a blue background \\", {"syntax": "a1111"}),
    ("prompt-a1111-break", "a1111: BREAK starts a new window", "tiny-sd1", "red circle BREAK on a blue background", {"syntax": "a1111"}),
    ("prompt-a1111-long", "a1111: a prompt of three windows with the comma back-track; the negative (one window) runs separately",
     "tiny-sd1", LONG_LIST, {"syntax": "a1111"}),
    ("prompt-a1111-pad-conds", "a1111 'Pad conds': the shorter negative padded with the empty prompt's window", "tiny-sd1", LONG_LIST,
     {"syntax": "a1111", "pad_conds": 1}),
    ("prompt-a1111-pad-conds-v0", "a1111 'Pad conds v0': the negative repeats its last vector", "tiny-sd1", LONG_LIST,
     {"syntax": "a1111", "pad_conds": 2}),
    ("prompt-a1111-editing", "a1111: prompt editing [red:blue:0.5] switches after evaluation 4 of 8", "tiny-sd1",
     "[red:blue:0.5] circle on a blue background", {"syntax": "a1111"}),
    ("prompt-a1111-editing-steps", "a1111: [from:to:3], [to:5] and [from::6] at step numbers", "tiny-sd1",
     "[red:blue:3] circle [on:5] a [blue::6] background", {"syntax": "a1111"}),
    ("prompt-a1111-alternation", "a1111: [red|blue] alternates every evaluation", "tiny-sd1", "[red|blue] circle on a blue background", {"syntax": "a1111"}),
    ("prompt-a1111-and", "a1111: AND composes two guidance terms, one weighted", "tiny-sd1", "red circle AND blue square :0.7", {"syntax": "a1111"}),
    ("prompt-a1111-no-norm", "a1111 emphasis 'No norm'", "tiny-sd1", "(red circle:1.5) on a (blue:0.6) background", {"syntax": "a1111", "emphasis": 1}),
    ("prompt-a1111-ignore", "a1111 emphasis 'Ignore': weights parsed and not applied", "tiny-sd1", "(red:1.5) circle on a [blue] background",
     {"syntax": "a1111", "emphasis": 2}),
    ("prompt-a1111-emphasis-none", "a1111 emphasis 'None': brackets are text", "tiny-sd1", "(red:1.5) circle on a [blue] background",
     {"syntax": "a1111", "emphasis": 3}),
    ("prompt-a1111-clip-skip-1", "a1111 with clip skip 1 (A1111 'Clip skip: 2')", "tiny-sd1", "(red:1.5) circle on a blue background",
     {"syntax": "a1111", "fields": {"clip_skip": 1}}),
    ("clip-skip-1", "plain prompt, clip_skip 1: the penultimate layer through the final layer norm", "tiny-sd1", PROMPT, {"fields": {"clip_skip": 1}}),
    ("clip-skip-2", "plain prompt, clip_skip 2", "tiny-sd1", PROMPT, {"fields": {"clip_skip": 2}}),
    ("prompt-comfyui-weights", "comfyui: (red:1.5) and (blue) relative to the empty window", "tiny-sd1", "(red:1.5) circle on a (blue) background",
     {"syntax": "comfyui"}),
    ("prompt-comfyui-long", "comfyui: three windows against a one-window negative, repeated to a common length", "tiny-sd1", LONG_LIST,
     {"syntax": "comfyui"}),
    ("prompt-compel-weights", "compel: red++ and (circle on a blue background)1.3 relative to the empty window", "tiny-sd1",
     "a red++ (circle on a blue background)1.3", {"syntax": "compel"}),
    ("prompt-sdxl-compel", "sdxl compel weights on both encoders", "tiny-sdxl", "a (red circle)1.5 on a blue+ background", {"syntax": "compel"}),
    ("prompt-sdxl-a1111", "sdxl a1111: weights, editing and an empty negative (zeros) on both encoders", "tiny-sdxl",
     "(red:1.5) circle on a [blue:green:0.5] background", {"syntax": "a1111", "negative_prompt": ""}),
    ("prompt-sdxl-a1111-long", "sdxl a1111: three windows with BREAK, the negative separately", "tiny-sdxl", "red BREAK " + LONG_LIST,
     {"syntax": "a1111"}),
    ("prompt-sdxl-comfyui", "sdxl comfyui weights", "tiny-sdxl", "(red:1.5) circle on a (blue:0.8) background", {"syntax": "comfyui"}),
    ("sdxl-clip-skip-1", "sdxl plain prompt, clip_skip 1: hidden_states[-3] of both encoders", "tiny-sdxl", PROMPT, {"fields": {"clip_skip": 1}}),
]


def render(name: str, data: bytes) -> bytes:
    from aigif.regen import render_file
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{name}.aigif"
        src.write_bytes(data)
        render_file(src, Path(tmp) / "out.png")
        return (Path(tmp) / "out.png").read_bytes()


def build_regen(vs: Vectors, committed: Path, render_images: bool | str = False) -> None:
    """``render_images``: True renders every expected image, "new" only those
    with no committed image (a vector just added), False none."""
    tolerances = load_tolerances()
    for case in regen_cases():
        name = case["name"]
        f = jsonform.from_json(case["fields"], REG)
        if f.pixels is not None:  # a regenerator could pass by showing the payload (CONTRACT.md §4, item 3)
            raise BuildError(f"regen/{name}: regen vectors carry no pixel payload")
        data = codec.write(f, REG)
        tol = tolerances.get("vectors", {}).get(name)
        if not tol:
            raise BuildError(f"regen/{name}: no tolerance in {TOLERANCES_FILE.relative_to(ROOT)}")
        png_path = committed / "regen" / f"{name}.png"
        if render_images is True or (render_images == "new" and not png_path.is_file()):
            png = render(name, data)
        elif png_path.is_file():
            png = png_path.read_bytes()
        else:
            raise BuildError(f"regen/{name}: no expected image; run with --render")
        meta = {"description": case["description"], "tolerance": tol, "reference_platform": tolerances.get("reference_platform")}
        if tolerances.get("unreproducible", {}).get(name):  # measured, but too far apart for a tolerance
            meta["unreproducible"] = tolerances["unreproducible"][name]
        vs.add("regen", name, case["description"],
               {"input": (f"{name}.aigif", data), "expected": (f"{name}.png", png), "meta": (f"{name}.json", dumps(meta))})
