"""Conformance models (vectors/models/*): offline loading, speed, determinism and field sensitivity.

Every field an AIGIF file stores must matter: changing any single one (seed, prompt, negative
prompt, steps, guidance, scheduler, size, dtype) has to move the regenerated image to
PSNR <= 30 dB against the original, while regenerating with identical arguments must be
bit-identical.  Run with ``pytest -s tests/test_conformance_models.py`` to see the table of the
worst (highest) PSNR per field and family.

Set AIGIF_CONFORMANCE_MODELS to test models somewhere other than vectors/models.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
pytest.importorskip("transformers")
np = pytest.importorskip("numpy")

import diffusers.utils.logging as _dlog  # noqa: E402
import transformers.utils.logging as _tlog  # noqa: E402

_dlog.set_verbosity_error()
_tlog.set_verbosity_error()

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("AIGIF_CONFORMANCE_MODELS", ROOT / "vectors" / "models"))
NAMES = ["tiny-sd1", "tiny-sdxl", "tiny-flow"]
PSNR_MAX = 30.0  # a changed field must give at most this
GEN_SECONDS_MAX = 5.0  # one default generation on CPU, one thread

BASE = {
    "prompt": "a red circle on a yellow background",
    "negative_prompt": "",
    "seed": 1,
    "num_inference_steps": 10,
    "guidance_scale": 7.5,
    "dtype": "float32",
}

# the single-field changes; the size change is compared on the common top-left crop
SD_SCHEDULERS = ["DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler",
                 "EulerAncestralDiscreteScheduler", "PNDMScheduler"]
FLOW_SCHEDULERS = [
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 1.0}),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 2.5}),
    ("FlowMatchHeunDiscreteScheduler", {"shift": 3.0}),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0, "stochastic_sampling": True}),
]


def psnr(a, b) -> float:
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a = a[:h, :w].astype(np.float64)
    b = b[:h, :w].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


_PIPES: dict = {}


def load(name: str, dtype: str = "float32"):
    key = (name, dtype)
    if key not in _PIPES:
        d = MODELS / name
        info = json.loads((d / "aigif-model.json").read_text())
        cls = getattr(diffusers, info["pipeline_class"])
        pipe = cls.from_pretrained(str(d), local_files_only=True)
        if dtype != "float32":
            # pipe.to(dtype) casts every component; from_pretrained(torch_dtype=...) leaves the SD3
            # transformer in float32 when accelerate is not installed (diffusers 0.42)
            pipe.to(getattr(torch, dtype))
        pipe.set_progress_bar_config(disable=True)
        _PIPES[key] = (pipe, info)
    return _PIPES[key]


def make_scheduler(pipe, info, spec):
    """spec: None (the model's default), a class name, or (class name, config overrides)."""
    base = info["scheduler"]["config"]
    if spec is None:
        return getattr(diffusers, info["scheduler"]["class"]).from_config(base)
    name, over = (spec, {}) if isinstance(spec, str) else spec
    return getattr(diffusers, name).from_config({**base, **over})


def generate(name: str, **changes):
    args = {**BASE, **changes}
    pipe, info = load(name, args["dtype"])
    pipe.scheduler = make_scheduler(pipe, info, args.get("scheduler"))
    d = info["defaults"]
    kw = dict(
        prompt=args["prompt"], negative_prompt=args["negative_prompt"],
        num_inference_steps=args["num_inference_steps"], guidance_scale=args["guidance_scale"],
        width=args.get("width", d["width"]), height=args.get("height", d["height"]),
        generator=torch.Generator("cpu").manual_seed(args["seed"]), output_type="pil",
    )
    with torch.no_grad():
        img = pipe(**kw).images[0]
    return np.asarray(img.convert("RGB"))


def variants(name: str, info: dict):
    """field -> list of (label, changes) giving single-field changes from BASE."""
    v = {
        "seed": [("seed 1->2", {"seed": 2}), ("seed 1->1234567", {"seed": 1234567})],
        "prompt": [("red circle->red square", {"prompt": "a red square on a yellow background"}),
                   ("red->blue circle", {"prompt": "a blue circle on a yellow background"})],
        "negative_prompt": [("''->'blue'", {"negative_prompt": "blue"}),
                            ("''->'green square'", {"negative_prompt": "green square"})],
        "num_inference_steps": [("10->11", {"num_inference_steps": 11}), ("10->9", {"num_inference_steps": 9})],
        "guidance_scale": [("7.5->7.0", {"guidance_scale": 7.0}), ("7.5->8.0", {"guidance_scale": 8.0})],
        "size": [("64x64->72x64 (WxH)", {"width": 72}), ("64x64->64x72", {"height": 72})],
        "dtype": [("float32->bfloat16", {"dtype": "bfloat16"}), ("float32->float16", {"dtype": "float16"})],
    }
    if info["scheduler"]["class"].startswith("FlowMatch"):
        scheds = FLOW_SCHEDULERS
    else:
        scheds = SD_SCHEDULERS
    v["scheduler"] = [(f"default->{s if isinstance(s, str) else s[0] + str(s[1])}", {"scheduler": s}) for s in scheds]
    return v


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _require(name):
    if not (MODELS / name / "aigif-model.json").exists():
        pytest.skip(f"{MODELS / name} not built")


@pytest.mark.parametrize("name", NAMES)
def test_loads_offline_and_describes_itself(name):
    _require(name)
    d = MODELS / name
    info = json.loads((d / "aigif-model.json").read_text())
    assert not [p for p in d.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    for rel, meta in info["files"].items():
        import hashlib
        assert hashlib.sha256((d / rel).read_bytes()).hexdigest() == meta["sha256"], rel
    assert sorted(str(p.relative_to(d)) for p in d.rglob("*.safetensors")) == sorted(info["files"])
    pipe, _ = load(name)
    assert type(pipe).__name__ == info["pipeline_class"]
    assert type(pipe.scheduler).__name__ == info["scheduler"]["class"]
    assert pipe.vae_scale_factor == info["vae_scale_factor"]
    # the generic loader must work too
    generic = diffusers.DiffusionPipeline.from_pretrained(str(d), local_files_only=True)
    assert type(generic).__name__ == info["pipeline_class"]


@pytest.mark.parametrize("name", NAMES)
def test_fast_and_deterministic(name):
    _require(name)
    generate(name)  # warm-up
    t0 = time.perf_counter()
    a = generate(name)
    dt = time.perf_counter() - t0
    b = generate(name)
    print(f"\n{name}: one {a.shape[1]}x{a.shape[0]} generation, {BASE['num_inference_steps']} steps: {dt:.2f}s")
    assert dt < GEN_SECONDS_MAX
    assert a.dtype == np.uint8 and a.shape == (64, 64, 3)
    assert np.array_equal(a, b), "same arguments, same process, same thread count: must be bit-identical"
    assert a.std() > 10, "image is nearly flat"


def measure(name: str):
    """Worst (highest) PSNR per field: {field: (psnr, label)} and the list of changes above PSNR_MAX."""
    _, info = load(name)
    ref = generate(name)
    worst, failures = {}, []

    def note(field, label, p):
        if field not in worst or p > worst[field][0]:
            worst[field] = (p, label)
        if p > PSNR_MAX:
            failures.append(f"{field} {label}: {p:.1f} dB")

    vs = variants(name, info)
    for field, changes in vs.items():
        if field == "scheduler":
            continue
        for label, ch in changes:
            note(field, label, psnr(ref, generate(name, **ch)))
    # schedulers: every pair, not only default -> other
    labels = ["default"] + [lab.split("->", 1)[1] for lab, _ in vs["scheduler"]]
    imgs = [ref] + [generate(name, **ch) for _, ch in vs["scheduler"]]
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            if i == 0 and j > 0 and vs["scheduler"][j - 1][1]["scheduler"] == _default_spec(info):
                continue  # the default itself
            if i > 0 and vs["scheduler"][i - 1][1]["scheduler"] == _default_spec(info):
                continue
            note("scheduler", f"{labels[i]} vs {labels[j]}", psnr(imgs[i], imgs[j]))
    return worst, failures


def _default_spec(info):
    c = info["scheduler"]["class"]
    if c.startswith("FlowMatch"):
        return (c, {"shift": info["scheduler"]["config"].get("shift", 1.0)})
    return c


RESULTS: dict = {}


@pytest.mark.xfail(strict=True, reason="issue 3 open: the committed conformance models are not yet discriminative for every "
                   "field (seed and size are; prompt 28-37 dB, steps 31-49, guidance 37-55, dtype 50-59, scheduler 33-41 against "
                   "<= 30 dB); strict, so better models make this fail until the mark is removed")
@pytest.mark.parametrize("name", NAMES)
def test_every_field_is_discriminative(name):
    _require(name)
    worst, failures = measure(name)
    RESULTS[name] = worst
    print(f"\n{name}: worst (highest) PSNR per single-field change (must be <= {PSNR_MAX} dB)")
    for field, (p, label) in worst.items():
        print(f"  {field:20s} {p:6.2f} dB   ({label})")
    assert not failures, failures
