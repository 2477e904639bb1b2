"""aigif convert / export (issue 5): real-world images in, .aigif out, with
nothing dropped silently; AUTOMATIC1111 text round-trips through AIGIF."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from aigif import codec
from aigif.convert import convert, to_imported

importers = pytest.importorskip("aigif.importers")
from aigif.importers import a1111  # noqa: E402

from conftest import SHARED  # noqa: E402

PARSERS = SHARED / "realworld" / "sd-parsers" / "parsers"
BAD = SHARED / "realworld" / "sd-parsers" / "bad_images"
pytestmark = pytest.mark.skipif(not PARSERS.is_dir(), reason="../shared/realworld is not beside the checkout")

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
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no partial files


def test_keep_pixels_embeds_lossless_payload(tmp_path):
    from PIL import Image
    import numpy as np
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
    from aigif.convert import scheduler_key
    from aigif.registry import load
    # A1111 >= 1.9 writes the schedule apart; "Automatic" is the sampler's own default
    assert scheduler_key("AUTOMATIC1111", sampler, schedule, load()) == key


def test_export_a1111():
    gen = importers.read_generation(PARSERS / "AUTOMATIC1111" / "automatic1111_cropped.png")
    f = codec.read(codec.write(convert(gen).file))
    text = a1111.format_a1111(to_imported(f))
    assert text.startswith("photo of a duck\nNegative prompt: monochrome\n")
    assert "Steps: 15" in text and "Sampler: UniPC" in text and "CFG scale: 5" in text and "Seed: 235284042" in text and "Size: 512x400" in text


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
    gen = a1111.read(text)
    f = codec.read(codec.write(convert(gen).file))
    back = a1111.read(a1111.format_a1111(to_imported(f)))
    assert (back.prompt or "", back.negative_prompt or "") == (prompt, negative)
    assert (back.seed, back.steps, back.cfg_scale, back.width, back.height) == (seed, steps, cfg, w, h)
    from aigif.convert import scheduler_key
    from aigif.registry import load
    reg = load()
    assert scheduler_key("AUTOMATIC1111", back.sampler, back.schedule, reg) == scheduler_key("AUTOMATIC1111", sampler[0], sampler[1], reg)
    assert (back.sampler, back.schedule or None) in {(sampler[0], sampler[1] if sampler[1] != "Automatic" else None), (sampler[0], sampler[1])}
