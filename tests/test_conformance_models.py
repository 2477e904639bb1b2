"""Conformance models (vectors/models/*): offline loading, speed, determinism, field sensitivity.

Every field an AIGIF file stores must matter: changing any single one (seed, prompt, negative
prompt, steps, guidance, scheduler, size, dtype) has to move the regenerated image to
PSNR <= 30 dB against the original, while regenerating with identical arguments in the same
process (same thread count) must be bit-identical, and float rounding (fp32 vs fp64, 1 vs 2
threads) must stay far above that threshold.

    pytest -s tests/test_conformance_models.py     # prints the worst PSNR per field and family

AIGIF_CONFORMANCE_MODELS=/some/dir points the tests at models built elsewhere.
"""
from __future__ import annotations

import hashlib
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
PSNR_ROUNDING_MIN = 50.0  # float rounding differences must give at least this
GEN_SECONDS_MAX = 5.0  # one default generation, CPU, one thread

BASE = {
    "prompt": "a red circle on a yellow background",
    "negative_prompt": "",
    "seed": 1,
    "num_inference_steps": 10,
    "guidance_scale": 7.5,
    "dtype": "float32",
}
SD_SCHEDULERS = ["DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler",
                 "EulerAncestralDiscreteScheduler", "PNDMScheduler"]
FLOW_SCHEDULERS = [
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 2.5}),
    ("FlowMatchEulerDiscreteScheduler", {"shift": 1.0}),
    ("FlowMatchHeunDiscreteScheduler", {"shift": 3.0}),
]


def psnr(a, b) -> float:
    """PSNR over 8-bit RGB, all channels, MAX=255; images of different size: common top-left crop."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    mse = np.mean((a[:h, :w].astype(np.float64) - b[:h, :w].astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


_PIPES: dict = {}


def load(name: str, dtype: str = "float32"):
    key = (name, dtype)
    if key not in _PIPES:
        d = MODELS / name
        info = json.loads((d / "aigif-model.json").read_text())
        pipe = getattr(diffusers, info["pipeline_class"]).from_pretrained(str(d), local_files_only=True)
        if dtype != "float32":
            # pipe.to(dtype) casts every component (from_pretrained(torch_dtype=...) leaves the SD3
            # transformer in float32 when accelerate is not installed, diffusers 0.42)
            pipe.to(getattr(torch, dtype))
        pipe.set_progress_bar_config(disable=True)
        _PIPES[key] = (pipe, info)
    return _PIPES[key]


def make_scheduler(info, spec):
    """spec: None (the model's default), a class name, or (class name, config overrides)."""
    base = info["scheduler"]["config"]
    if spec is None:
        return getattr(diffusers, info["scheduler"]["class"]).from_config(base)
    name, over = (spec, {}) if isinstance(spec, str) else spec
    return getattr(diffusers, name).from_config({**base, **over})


def generate(name: str, **changes):
    args = {**BASE, **changes}
    pipe, info = load(name, args["dtype"])
    pipe.scheduler = make_scheduler(info, args.get("scheduler"))
    d = info["vector_defaults"]
    kw = dict(prompt=args["prompt"], negative_prompt=args["negative_prompt"],
              num_inference_steps=args["num_inference_steps"], guidance_scale=args["guidance_scale"],
              width=args.get("width", d["width"]), height=args.get("height", d["height"]), output_type="pil")
    if "latents" in args:
        kw["latents"] = args["latents"]
    else:
        kw["generator"] = torch.Generator("cpu").manual_seed(args["seed"])
    with torch.no_grad():
        img = pipe(**kw).images[0]
    return np.asarray(img.convert("RGB"))


def _default_spec(info):
    c = info["scheduler"]["class"]
    return (c, {"shift": info["scheduler"]["config"].get("shift", 1.0)}) if c.startswith("FlowMatch") else c


def _label(spec):
    return spec if isinstance(spec, str) else f"{spec[0]}{json.dumps(spec[1])}"


def variants(info: dict):
    """field -> [(label, changes)]: single-field changes from BASE (size: compared on the common crop)."""
    scheds = FLOW_SCHEDULERS if info["scheduler"]["class"].startswith("FlowMatch") else SD_SCHEDULERS
    return {
        "seed": [("1->2", {"seed": 2}), ("1->1234567", {"seed": 1234567})],
        "prompt": [("'red circle'->'red square'", {"prompt": "a red square on a yellow background"}),
                   ("'red circle'->'blue circle'", {"prompt": "a blue circle on a yellow background"})],
        "negative_prompt": [("''->'blue'", {"negative_prompt": "blue"}),
                            ("''->'green square'", {"negative_prompt": "green square"})],
        "num_inference_steps": [("10->11", {"num_inference_steps": 11}), ("10->9", {"num_inference_steps": 9})],
        "guidance_scale": [("7.5->7.0", {"guidance_scale": 7.0}), ("7.5->8.0", {"guidance_scale": 8.0})],
        "size": [("64x64->72x64 (WxH)", {"width": 72}), ("64x64->64x72", {"height": 72})],
        "dtype": [("float32->bfloat16", {"dtype": "bfloat16"}), ("float32->float16", {"dtype": "float16"})],
        "scheduler": [(_label(s), {"scheduler": s}) for s in scheds if s != _default_spec(info)],
    }


def measure(name: str):
    """Worst (highest) PSNR per field: {field: (psnr, label)}, and the changes above PSNR_MAX."""
    _, info = load(name)
    ref = generate(name)
    worst, failures = {}, []

    def note(field, label, p):
        if field not in worst or p > worst[field][0]:
            worst[field] = (p, label)
        if p > PSNR_MAX:
            failures.append(f"{field} {label}: {p:.1f} dB")

    vs = variants(info)
    for field, changes in vs.items():
        if field != "scheduler":
            for label, ch in changes:
                note(field, label, psnr(ref, generate(name, **ch)))
    # schedulers: the default and every alternative, all pairs
    imgs = [(f"default ({_label(_default_spec(info))})", ref)]
    imgs += [(label, generate(name, **ch)) for label, ch in vs["scheduler"]]
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            note("scheduler", f"{imgs[i][0]} vs {imgs[j][0]}", psnr(imgs[i][1], imgs[j][1]))
    return worst, failures


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
def test_loads_offline_and_matches_its_description(name):
    _require(name)
    d = MODELS / name
    info = json.loads((d / "aigif-model.json").read_text())
    assert not [p for p in d.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt", ".msgpack")]
    assert sorted(str(p.relative_to(d)) for p in d.rglob("*.safetensors")) == sorted(info["files"])
    for rel, meta in info["files"].items():
        assert hashlib.sha256((d / rel).read_bytes()).hexdigest() == meta["sha256"], rel
    assert info["total_bytes"] < 8_000_000
    if MODELS == ROOT / "vectors" / "models":  # the committed models come from the committed config
        config = ROOT / "tools" / "conformance_models.json"
        assert info["build"]["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest(), \
            "rebuild: python tools/build_conformance_models.py && python tools/sync_model_registry.py"
    pipe, _ = load(name)
    assert type(pipe).__name__ == info["pipeline_class"]
    assert type(pipe.scheduler).__name__ == info["scheduler"]["class"]
    assert pipe.vae_scale_factor == info["vae_scale_factor"]
    for comp, cls in info["components"].items():
        assert (None if pipe.components.get(comp) is None else type(pipe.components[comp]).__name__) == cls, comp
    # the generic loader resolves the same pipeline class, with no extra arguments
    generic = diffusers.DiffusionPipeline.from_pretrained(str(d), local_files_only=True)
    assert type(generic).__name__ == info["pipeline_class"]


@pytest.mark.parametrize("name", NAMES)
def test_fast_and_bit_identical(name):
    _require(name)
    generate(name)  # warm-up
    t0 = time.perf_counter()
    a = generate(name)
    dt = time.perf_counter() - t0
    b = generate(name)
    print(f"\n{name}: {a.shape[1]}x{a.shape[0]}, {BASE['num_inference_steps']} steps, CFG: {dt:.2f} s")
    assert dt < GEN_SECONDS_MAX
    assert a.dtype == np.uint8 and a.shape == (64, 64, 3)
    assert np.array_equal(a, b), "same arguments, same process, same thread count: must be bit-identical"
    assert a.std() > 20, "image is nearly flat"


@pytest.mark.parametrize("name", NAMES)
def test_rounding_differences_stay_small(name):
    """A conforming decoder on other hardware differs by rounding only: that must not look like a field change."""
    _require(name)
    pipe, info = load(name)
    a = generate(name)
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        b = generate(name)
    finally:
        torch.set_num_threads(n)
    # float64 with the same initial noise (torch.randn draws other numbers for float64)
    shape = (1, pipe.vae.config.latent_channels, 8, 8)
    lat = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(BASE["seed"]))  # pipelines scale it
    ref32 = generate(name, latents=lat)
    assert np.array_equal(ref32, a)
    pipe.to(torch.float64)
    try:
        c = generate(name, latents=lat.double())
    finally:
        pipe.to(torch.float32)
    p_threads, p_fp64 = psnr(a, b), psnr(a, c)
    print(f"\n{name}: PSNR 1 vs 2 threads {p_threads:.1f} dB, float32 vs float64 {p_fp64:.1f} dB")
    assert p_threads >= PSNR_ROUNDING_MIN and p_fp64 >= PSNR_ROUNDING_MIN


RESULTS: dict = {}


@pytest.mark.parametrize("name", NAMES)
def test_every_field_is_discriminative(name):
    _require(name)
    worst, failures = measure(name)
    RESULTS[name] = worst
    print(f"\n{name}: worst (highest) PSNR per single-field change (must be <= {PSNR_MAX} dB)")
    for field, (p, label) in worst.items():
        print(f"  {field:20s} {p:6.2f} dB   ({label})")
    assert not failures, failures
