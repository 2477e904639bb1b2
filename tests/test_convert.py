"""aigif convert / export (issue 5): real-world images in, .aigif out, with
nothing dropped silently; AUTOMATIC1111 text round-trips through AIGIF; the
sampler names of every tool, mapped through the registry's name tables."""
import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigif import codec
from aigif.fsutil import TMP_MARK
from aigif.importers.convert import convert, scheduler_key, to_imported
from aigif.registry import load

importers = pytest.importorskip("aigif.importers")
from aigif.importers import a1111, samplers  # noqa: E402
from conftest import ROOT  # noqa: E402

SDP = ROOT / "tests" / "data" / "realworld" / "sd-parsers"  # vendored, MIT: see the README there
PARSERS = SDP / "parsers"
BAD = SDP / "bad_images"

# file -> (seed, steps, guidance, width x height, scheduler key, noise source, prompt start, negative start)
EXPECTED = {
    "AUTOMATIC1111/automatic1111_cropped.jpg": (235284042, 15, 5.0, "512x400", "k-unipc", "torch-cuda", "photo of a duck", "monochrome"),
    "AUTOMATIC1111/automatic1111_cropped.png": (235284042, 15, 5.0, "512x400", "k-unipc", "torch-cuda", "photo of a duck", "monochrome"),
    "AUTOMATIC1111/automatic1111_stealth.png": (2015833630, 20, 7.0, "64x64", "k-euler", "torch-cuda", "a circle", "a square"),
    "ComfyUI/img2img_cropped.png": (280823642470253, 20, 8.0, None, "k-dpmpp-2m", "torch-cpu", "photograph of victorian woman with wings", "watermark, text"),
    "ComfyUI/night_evening_day_morning_cropped.png": (335608130539327, 13, 8.5, "704x1280", "k-dpmpp-sde", "torch-cpu", "(masterpiece) (best quality) beautiful landscape", "(hands), text, error, cropped,"),
    "ComfyUI/noisy_latents_3_subjects_cropped.png": (512136241112371, 16, 7.0, "1280x704", "k-dpmpp-sde", "torch-cpu", "sky clouds nature national park", "(hands), text, error, cropped,"),
    "ComfyUI/unclip_2pass_cropped.png": (1106257833005336, 26, 8.0, "1280x704", "k-unipc-bh2", "torch-cpu", "\n(waifu, anime, exceptional", "lowres, (bad anatomy)"),
    "Fooocus/fooocus1_cropped.png": (6952411511246973023, 30, 4.0, "768x1280", "k-dpmpp-2m-sde-karras", "torch-cpu", "a smiling goldfish", ""),
    "InvokeAI/invokeai_dream1.png": (2980747362, 50, 5.0, "512x768", "k-lms", "unknown", "professional full body photo of young woman", "rendering, glowing eyes"),
    "InvokeAI/invokeai_imeta1.png": (3293022630, 35, 8.0, "1024x1024", "euler", "unknown", "digital artwork, oil painting", "grainy+, photo, oversaturated"),
    "InvokeAI/invokeai_sdmeta1.png": (2980747362, 50, 5.0, "512x768", "k-lms", "unknown", "professional full body photo of young woman", "rendering, glowing eyes"),
    "NovelAI/novelai1_cropped.png": (2253955223, 50, 10.0, None, "k-euler-a", "unknown", "masterpiece, best quality,  cat, space, icon", "lowres, bad anatomy, bad hands"),
}


def test_every_real_world_image_is_listed():
    found = {str(p.relative_to(PARSERS)) for p in PARSERS.rglob("*") if p.is_file()}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_real_world_image_converts_exactly(rel):
    seed, steps, cfg, size, sched, noise, prompt, negative = EXPECTED[rel]
    gen = importers.read_generation(PARSERS / rel)
    conv = convert(gen)
    f = codec.read(codec.write(conv.file))  # through the bytes, as a user gets it
    assert f.prompt == (gen.prompt or "") and f.prompt.startswith(prompt)
    assert f.negative_prompt == (gen.negative_prompt or "") and f.negative_prompt.startswith(negative)
    assert (f.seed, f.fields["steps"], f.fields["guidance"], f.fields["scheduler"], f.noise) == (seed, steps, cfg, sched, noise)
    if size is None:  # the metadata has no size: the image's own size is used and reported as lost
        assert any("generation size" in x for x in conv.lost)
    else:
        assert f"{f.width}x{f.height}" == size
    # nothing silently dropped: whatever the core does not carry is in the source extension
    src = f.extension("source")
    assert src is not None and src.fields["tool"] == gen.source_tool
    settings_ = json.loads(src.fields["settings"])
    assert settings_["sampler"] == gen.sampler


def test_text_after_idat_is_read():
    # PNG allows text chunks after IDAT (ISO/IEC 15948 §5.6) and sd-parsers' own test
    # expects this file to parse: it is an edge case, not a broken file.
    conv = convert(importers.read_generation(BAD / "text_after_idat.png"))
    assert conv.file.prompt == "photo of a duck" and conv.file.seed == 235284042


@pytest.mark.parametrize("name,code", [("empty_file.png", "E_IMPORT_NOT_AN_IMAGE"), ("empty_image.jpg", "E_IMPORT_NO_METADATA"),
                                       ("empty_image.png", "E_IMPORT_NO_METADATA")])
def test_bad_images_get_a_clear_error(name, code, tmp_path):
    r = subprocess.run([sys.executable, "-m", "aigif.cli.main", "convert", str(BAD / name), "-o", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    rep = json.loads(r.stdout)
    assert rep["status"] == "failed" and rep["error"]["code"] == code and rep["error"]["message"]
    assert not any(tmp_path.rglob("*.aigif"))


def _tree(root: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_convert_directory_batch_rerun_and_inputs_untouched(tmp_path):
    before = _tree(PARSERS)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "aigif.cli.main", "convert", str(PARSERS), str(BAD), "-o", str(out), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    reps = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1  # the bad images fail; the batch goes on
    assert sum(x["status"] == "converted" for x in reps) == len(EXPECTED) + 1  # + text_after_idat
    for x in reps:
        if x["status"] == "converted":
            assert x["bytes_before"] > 0 and 0 < x["bytes_after"] == Path(x["output"]).stat().st_size
            assert codec.validate(Path(x["output"]).read_bytes()) is None
    # a.png and a.jpg beside each other do not overwrite each other
    assert {p.name for p in (out / "AUTOMATIC1111").iterdir()} >= {"automatic1111_cropped.png.aigif", "automatic1111_cropped.jpg.aigif"}
    assert _tree(PARSERS) == before  # inputs never modified
    outputs = _tree(out)
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    reps2 = [json.loads(x) for x in r2.stdout.splitlines()]
    assert sum(x["status"].startswith("skipped") for x in reps2) == len(EXPECTED) + 1
    assert _tree(out) == outputs  # nothing rewritten, no duplicates
    assert not [p for p in out.rglob("*") if TMP_MARK in p.name]  # no partial files


def test_keep_pixels_embeds_lossless_payload(tmp_path):
    import numpy as np
    from PIL import Image
    src = PARSERS / "AUTOMATIC1111" / "automatic1111_stealth.png"  # its pixels match its metadata size (64x64)
    r = subprocess.run([sys.executable, "-m", "aigif.cli.main", "convert", str(src), "-o", str(tmp_path), "--keep-pixels"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    f = codec.read((tmp_path / "automatic1111_stealth.aigif").read_bytes())
    from aigif.regen.pixels import decode_png
    px = decode_png(f.pixels.data, f.width, f.height)
    assert (px == np.asarray(Image.open(src).convert("RGB"))).all()


@pytest.mark.parametrize("sampler,schedule,key", [("DPM++ 2M", "Automatic", "k-dpmpp-2m-karras"), ("DPM++ 2M", None, "k-dpmpp-2m"),
                                                  ("DPM++ 2M Karras", None, "k-dpmpp-2m-karras"), ("DPM++ 2M SDE", "Automatic", "k-dpmpp-2m-sde-exponential"),
                                                  ("Euler a", None, "k-euler-a"), ("DDIM", None, "a1111-ddim")])
def test_a1111_sampler_names_including_automatic(sampler, schedule, key):
    # A1111 >= 1.9 writes the schedule apart; "Automatic" is the sampler's own default
    assert scheduler_key("AUTOMATIC1111", sampler, schedule, load()) == key


def test_export_a1111():
    gen = importers.read_generation(PARSERS / "AUTOMATIC1111" / "automatic1111_cropped.png")
    f = codec.read(codec.write(convert(gen).file))
    text = a1111.format_a1111(to_imported(f))
    assert text.startswith("photo of a duck\nNegative prompt: monochrome\n")
    assert "Steps: 15" in text and "Sampler: UniPC" in text and "CFG scale: 5" in text and "Seed: 235284042" in text and "Size: 512x400" in text


@pytest.mark.parametrize("rng,noise", [("CPU", "torch-cpu"), ("NV", "a1111-nv"), ("cpu", "unknown"), ("Philox", "unknown")])
def test_a1111_rng_gives_the_noise_source(rng, noise):
    # regression: an RNG value A1111 does not write gave noise None, and writing the file failed (E_UNKNOWN_ID)
    text = f"a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: v1-5-pruned-emaonly, RNG: {rng}"
    conv = convert(a1111.read_text(text))
    f = codec.read(codec.write(conv.file))
    assert f.noise == noise
    assert (f"noise source ({noise})" in conv.carried) == (noise != "unknown")
    assert any(f"RNG {rng!r}" in x for x in conv.lost) == (noise == "unknown")
    assert json.loads(f.extension("source").fields["settings"])["rng"] == rng  # kept whatever it is


# ---------------------------------------------------------------- export(convert(x)) keeps the settings
A1111_SAMPLERS = [("Euler a", None), ("DPM++ 2M", "Karras"), ("DPM++ 2M Karras", None), ("DDIM", None), ("UniPC", None),
                  ("DPM++ SDE", "Karras"), ("Euler", "Automatic"), ("LMS", "Karras"), ("Heun", None), ("DPM++ 2M SDE", "Exponential")]
prompt_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(prompt=prompt_text, negative=prompt_text, sampler=st.sampled_from(A1111_SAMPLERS), seed=st.integers(0, 2**32 - 1),
       steps=st.integers(1, 150), cfg=st.sampled_from([1.0, 5.5, 6.3, 7.0, 7.5, 12.25, 30.0]),
       size=st.tuples(st.integers(1, 256), st.integers(1, 256)))
def test_a1111_roundtrip_through_aigif(prompt, negative, sampler, seed, steps, cfg, size):
    from hypothesis import assume
    assume(a1111.a1111_representable(prompt, negative))
    from aigif.importers.generation import ImportedGeneration
    w, h = size[0] * 8, size[1] * 8
    src = ImportedGeneration(source_tool="AUTOMATIC1111", prompt=prompt, negative_prompt=negative, seed=seed, steps=steps,
                             cfg_scale=cfg, sampler=sampler[0], schedule=sampler[1], width=w, height=h)
    text = a1111.format_a1111(src)
    gen = a1111.read_text(text)
    f = codec.read(codec.write(convert(gen).file))
    back = a1111.read_text(a1111.format_a1111(to_imported(f)))
    assert (back.prompt or "", back.negative_prompt or "") == (prompt, negative)
    assert (back.seed, back.steps, back.cfg_scale, back.width, back.height) == (seed, steps, cfg, w, h)
    reg = load()
    assert scheduler_key("AUTOMATIC1111", back.sampler, back.schedule, reg) == scheduler_key("AUTOMATIC1111", sampler[0], sampler[1], reg)
    assert (back.sampler, back.schedule or None) in {(sampler[0], sampler[1] if sampler[1] != "Automatic" else None), (sampler[0], sampler[1])}


# ---------------------------------------------------------------- the sampler name tables (registry/schedulers.json)
T = samplers.tables()

@pytest.mark.parametrize("name,cls,subset", [
    ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++"}),
    ("Euler a", "EulerAncestralDiscreteScheduler", {}),
    ("Euler", "EulerDiscreteScheduler", {}),
    ("DPM++ SDE Karras", "DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
    ("DPM++ 2M SDE", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    ("DPM++ 2M SDE Exponential", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++",
                                                                  "use_exponential_sigmas": True}),
    ("DPM++ 3M SDE", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 3}),
    ("DDIM", "DDIMScheduler", {"timestep_spacing": "leading", "steps_offset": 1}),
    ("PLMS", "PNDMScheduler", {"skip_prk_steps": True}),
    ("UniPC", "UniPCMultistepScheduler", {}),
    ("LMS", "LMSDiscreteScheduler", {}),
    ("LMS Karras", "LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    ("Heun", "HeunDiscreteScheduler", {}),
    ("DPM2", "KDPM2DiscreteScheduler", {}),
    ("DPM2 a", "KDPM2AncestralDiscreteScheduler", {}),
    ("DPM2 a Karras", "KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": True}),
    ("LCM", "LCMScheduler", {}),
    ("k_euler_a", "EulerAncestralDiscreteScheduler", {}),
])
def test_a1111_sampler_mapping(name, cls, subset):
    got_cls, cfg = samplers.to_diffusers("AUTOMATIC1111", name)
    assert got_cls == cls and subset.items() <= cfg.items()


@pytest.mark.parametrize("name", ["DPM adaptive", "DPM fast", "Restart", "DPM++ 2S a", "DPM++ 2S a Karras",
                                  "Euler a Karras"])
def test_a1111_unmapped(name):
    assert samplers.resolve_a1111(name).status == "unmapped"
    assert samplers.to_diffusers("AUTOMATIC1111", name) == (None, {})


def test_a1111_automatic_schedule_depends_on_version():
    # A1111 >= 1.9: "Automatic" is the sampler's default (Karras for DPM++ 2M)
    assert samplers.resolve_a1111("DPM++ 2M", "Automatic").key == "dpmpp-2m-karras"
    assert samplers.resolve_a1111("DPM++ 2M SDE", "Automatic").key == "dpmpp-2m-sde-exponential"
    assert samplers.resolve_a1111("Euler", "Automatic").key == "euler"
    # older infotexts (no Schedule type): bare names are uniform
    assert samplers.resolve_a1111("DPM++ 2M", None).key == "dpmpp-2m"
    assert samplers.resolve_a1111("DPM++ 2M", "Karras").key == samplers.resolve_a1111("DPM++ 2M Karras").key


def test_comfyui_pairs_match_a1111():
    pairs = [(("dpmpp_2m", "karras"), "DPM++ 2M Karras"), (("euler_ancestral", "normal"), "Euler a"),
             (("dpmpp_sde", "karras"), "DPM++ SDE Karras"), (("dpmpp_2m_sde_gpu", "exponential"),
                                                              "DPM++ 2M SDE Exponential"),
             (("lms", "karras"), "LMS Karras"), (("heun", "normal"), "Heun")]
    for (s, sch), a in pairs:
        assert samplers.to_diffusers("ComfyUI", s, sch) == samplers.to_diffusers("AUTOMATIC1111", a)
    assert samplers.resolve_comfyui("sample_dpmpp_2m", "normal").key == "dpmpp-2m"
    assert samplers.resolve_comfyui("ddim", "normal").sampler == "euler"


def test_every_table_name_resolves():
    a, c, i, n = (T.tools[k] for k in ("a1111", "comfyui", "invokeai", "novelai"))
    for name in list(a["samplers"]) + list(a["aliases"]):
        for sch in [None] + list(a["schedule_types"]):
            samplers.resolve_a1111(name, sch)
    for s in c["samplers"]:
        for sch in c["schedulers"]:
            r = samplers.resolve_comfyui(s, sch)
            assert (r.diffusers is None) == (r.status == "unmapped")
    for s in list(i["schedulers"]) + list(i["legacy_samplers"]):
        samplers.resolve_invokeai(s)
    for s in n["samplers"]:
        samplers.resolve_novelai(s)
    with pytest.raises(samplers.UnknownSamplerName):
        samplers.resolve_a1111("Nonexistent")


def test_invokeai_names_resolve_with_an_explicit_registry():
    # both InvokeAI tables hand (solver, schedule) to combine, the reading and the registry by position or name
    reg = load()
    assert samplers.resolve_invokeai("dpmpp_2m_k", reg) == samplers.resolve_invokeai("dpmpp_2m_k")
    legacy = samplers.resolve_invokeai("k_lms", reg)
    assert (legacy.key, legacy.reading) == ("lms", ["InvokeAI 1.x/2.x k-diffusion sampler"])


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_real_image_samplers_resolve(rel):
    gen = importers.read_generation(PARSERS / rel)
    r = samplers.resolve(gen.source_tool, gen.sampler, gen.schedule)
    assert r.key


def _diffusers_init_args() -> dict[str, set[str]]:
    """__init__ parameters of every scheduler class, read from diffusers' source (no torch import)."""
    spec = importlib.util.find_spec("diffusers")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("diffusers not installed")
    out: dict[str, set[str]] = {}
    for path in (Path(spec.submodule_search_locations[0]) / "schedulers").glob("scheduling_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                for f in node.body:
                    if isinstance(f, ast.FunctionDef) and f.name == "__init__":
                        out[node.name] = {a.arg for a in f.args.args + f.args.kwonlyargs}
    return out


def test_sampler_table_matches_installed_diffusers():
    args = _diffusers_init_args()
    for cls, keys in T.class_config_keys.items():
        assert cls in args, cls
        assert set(keys) <= args[cls], (cls, set(keys) - args[cls])
    for key, row in T.solvers.items():
        if row["class"]:
            assert set(row["config"]) <= args[row["class"]], key
        if row.get("fallback"):
            assert row["fallback"]["class"] in args
    for key, row in T.schedules.items():
        if row["config"]:
            assert any(set(row["config"]) <= set(k) for k in T.class_config_keys.values()), key


def test_sampler_pairs_instantiate_in_diffusers():
    import diffusers
    base = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1,
            "timestep_spacing": "leading", "set_alpha_to_one": False, "skip_prk_steps": True, "clip_sample": False}
    for pair in samplers.as_json()["pairs"]:
        if not pair["class"]:
            continue
        sch = getattr(diffusers, pair["class"]).from_config(base, **pair["config"])
        assert all(sch.config[k] == v for k, v in pair["config"].items()), pair["key"]
        sch.set_timesteps(20)


def test_samplers_json_dump():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "reference") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "aigif.importers.samplers"], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    data = json.loads(out.stdout)
    assert data["diffusers_version_checked"] == "0.42.1"
    by_key = {p["key"]: p for p in data["pairs"]}
    assert by_key["dpmpp-2m-karras"]["class"] == "DPMSolverMultistepScheduler"
    assert ["dpmpp_2m", "karras"] in by_key["dpmpp-2m-karras"]["comfyui"]
    assert ["DPM++ 2M", "Karras"] in by_key["dpmpp-2m-karras"]["a1111"]
    assert by_key["restart"]["class"] is None




def test_name_tables_name_known_solvers_and_schedules():
    a, c, i, n = (T.tools[k] for k in ("a1111", "comfyui", "invokeai", "novelai"))
    solvers = [r["sampler"] for r in a["samplers"].values()] + list(c["samplers"].values()) + list(n["samplers"].values())
    schedules = [r[k] for r in a["samplers"].values() for k in ("auto", "legacy", "own") if k in r]
    schedules += [x for x in a["schedule_types"].values() if x] + list(c["schedulers"].values())
    schedules += list(n["noise_schedules"].values()) + [r["natural_schedule"] for r in T.solvers.values()]
    for pair in list(i["schedulers"].values()) + list(i["legacy_samplers"].values()):
        solvers.append(pair[0])
        schedules.append(pair[1])
    assert set(solvers) <= set(T.solvers) and set(schedules) <= set(T.schedules)
    assert set(a["aliases"].values()) <= set(a["samplers"])
    assert all(cls in T.class_config_keys for cls in {r["class"] for r in T.solvers.values()} - {None})


SD15_SCHEDULER_CONFIG = {  # stable-diffusion-v1-5's scheduler/scheduler_config.json (PNDMScheduler)
    "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
    "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
    "trained_betas": None, "clip_sample": False}


def test_registry_pairs_run_their_entry():
    """Each registry entry's (solver, schedule) pairs give its own diffusers class, and the same
    configuration over SD 1.5's scheduler config; no pair belongs to two entries."""
    listed = [tuple(p) for e in T.entries for p in e["pairs"]]
    assert len(listed) == len(set(listed))
    diffusers = importlib.util.find_spec("diffusers") and pytest.importorskip("diffusers")

    def effective(cls_name, overrides):
        cls = getattr(diffusers, cls_name)
        if "dummy" in cls.__module__:
            return (cls_name, tuple(sorted(overrides.items())))
        base = {k: v for k, v in SD15_SCHEDULER_CONFIG.items() if not k.startswith("_")}
        cfg = dict(cls.from_config(base, **overrides).config)
        return (cls_name, tuple(sorted((k, str(v)) for k, v in cfg.items() if not k.startswith("_"))))

    for e in T.entries:
        for pair in e["pairs"]:
            res = samplers.combine(*pair)
            assert res.diffusers == e["class"], (e["key"], pair)
            if diffusers:
                assert effective(res.diffusers, res.config) == effective(e["class"], e["config"]), (e["key"], pair)


# mostly A1111's special characters and words, some of anything else
_PROMPT_TEXT = st.lists(st.one_of(st.sampled_from(list("()[]\\:|<>,.") + [" ", "1.5", "cat", "AND", "BREAK", "lora"]),
                                  st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_PROMPT_TEXT, st.sampled_from(["a1111", "plain"]))
def test_prompts_round_trip_through_a1111_text(text, syntax):
    """export --format a1111 then convert gives back what the file meant: an a1111 prompt as it
    was; a plain prompt escaped so that A1111's own reading of it is the literal text."""
    from aigif import prompts
    from aigif.file import Extension
    from aigif.jsonform import new
    reg = load()
    if not a1111.a1111_representable(text) or prompts.a1111.extra_networks(text)[1]:
        return
    f = new("sd-1.5", reg, height=512, width=512, seed=5, prompt=text)
    if syntax != "plain":
        f.extensions = [Extension.of("prompts", {"syntax": syntax, "emphasis": 0, "pad_conds": 0}, reg)]
    gen = to_imported(f, reg)
    back = convert(a1111.read_text(a1111.format_a1111(gen)), reg).file
    assert (back.extension_fields("prompts") or {})["syntax"] == "a1111"
    if syntax == "a1111":
        assert back.prompt == text
    elif text.strip() and not gen.lost:  # no warning: A1111 reads the exported prompt as the literal text
        assert prompts.fragments("a1111", back.prompt) == [(text, 1.0)]
        assert prompts.schedule("a1111", back.prompt, 20) == [(20, back.prompt)]
        assert prompts.subprompts("a1111", back.prompt) == [(back.prompt, 1.0)]
