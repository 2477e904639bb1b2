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
    # clip_skip > 0 is not covered: diffusers 0.42.1 reaches CLIPTextModel.text_model, which transformers 5 removed
    case("tiny-sd1-guidance-6.3", "guidance 6.3 reaches the pipeline as exactly the binary64 6.3", discrete, fields={"guidance": 6.3})
    return cases


def render(name: str, data: bytes) -> bytes:
    from aigif.regen import render_file
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{name}.aigif"
        src.write_bytes(data)
        render_file(src, Path(tmp) / "out.png")
        return (Path(tmp) / "out.png").read_bytes()


def build_regen(vs: Vectors, committed: Path, render_images: bool = False) -> None:
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
        if render_images:
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
