"""The importers on real images of many tools, and on crafted hostile input.

* Corpus: every ``tests/data/realworld/<tool>/X.expected.json`` of the tool directories below holds
  the values read by hand from the metadata of ``X.<ext>`` (see each directory's SOURCES.md); every
  listed field must come out so, and a field that does not must be named in ``lost``.
* Carriers, invented values, families, export: one crafted input per class.
* Hostile input: each case BUILDS its input here and bounds the time and the tracemalloc peak of
  reading it (target: <= 1 s and <= 64 MiB for any input <= 1 MiB; the time bound below leaves room
  for a loaded test machine).
"""
from __future__ import annotations

import gc
import json
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from aigif import codec
from aigif.errors import AigifError
from aigif.importers import ImportFailure, a1111, invokeai, read_generation, read_generation_bytes
from aigif.importers.a1111 import format_a1111
from aigif.importers.containers import read_container
from aigif.importers.convert import convert, model_key, to_imported
from aigif.importers.generation import ImportedGeneration
from aigif.registry import load

REALWORLD = Path(__file__).parent / "data" / "realworld"
#: The corpus directories this file checks (comfyui/ and sd-parsers/ have tests of their own).
TOOL_DIRS = ("a1111", "forge", "sdnext", "invokeai", "invokeai2", "novelai", "swarmui", "civitai", "comfyui-savers",
             "webjson", "ruinedfooocus", "stabilitymatrix", "tensorart", "no-metadata", "drawthings", "fooocus")
#: Expected-file keys that describe the file rather than a field of the record.
META_KEYS = {"source_url", "license", "source_tool", "error", "notes"}
#: Words a lost item uses for a field.
FIELD_WORDS = {"negative_prompt": ("negative",), "cfg_scale": ("cfg",), "schedule": ("schedul",),
               "width": ("size", "width"), "height": ("size", "height"), "model_name": ("model",),
               "model_hash": ("hash",)}
LIMIT_S = 1.5
LIMIT_BYTES = 64 * 1024 * 1024
REG = load()


def _expected_files():
    return sorted(p for d in TOOL_DIRS for p in (REALWORLD / d).glob("*.expected.json"))


def _image_of(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.json")]
    found = [p for p in expected.parent.iterdir() if p.name.startswith(stem + ".") and p.suffix != ".json"]
    assert len(found) == 1, f"{expected}: {found}"
    return found[0]


def test_corpus_has_many_tools():
    files = _expected_files()
    dirs = {p.parent.name for p in files}
    assert len(files) >= 60 and dirs == set(TOOL_DIRS)
    for d in TOOL_DIRS:
        sources = (REALWORLD / d / "SOURCES.md").read_text(encoding="utf-8")
        for p in (REALWORLD / d).iterdir():
            if not p.name.endswith((".json", ".md")):
                assert p.name in sources, f"{p} is not listed in SOURCES.md"
                assert p.stat().st_size < 64 * 1024, f"{p} is not shrunk"


@pytest.mark.parametrize("expected", _expected_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file(expected: Path):
    exp = json.loads(expected.read_text(encoding="utf-8"))
    assert exp["source_url"].startswith("https://github.com/") and exp["license"]
    img = _image_of(expected)
    if "error" in exp:
        with pytest.raises(ImportFailure) as err:
            read_generation(img)
        assert err.value.code == exp["error"] and not err.value.internal
        return
    gen = read_generation(img)
    fields = [k for k in exp if k not in META_KEYS]
    assert fields, "an expected file must list fields"
    for field in fields:
        got = getattr(gen, field)
        if got != exp[field]:
            words = FIELD_WORDS.get(field, (field.replace("_", " "),))
            assert any(w in item.lower() for item in gen.lost for w in words), \
                f"{field}: expected {exp[field]!r}, got {got!r}, and lost does not say so"
    # and the record converts, or says why it cannot (never another exception)
    try:
        conv = convert(gen, REG)
    except AigifError as e:
        assert e.code in ("E_UNSUPPORTED", "E_FIELDS")
        return
    data = codec.write(conv.file, REG)
    assert codec.read(data, REG).seed == gen.seed


# ------------------------------------------------------------------ builders

def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _png(text_chunks: list[bytes], w: int = 8, h: int = 8, colour: int = 2, idat: bytes | None = None,
         after: list[bytes] = ()) -> bytes:
    bpp = {2: 3, 6: 4}[colour]
    if idat is None:
        idat = zlib.compress(b"".join(b"\x00" + bytes(w * bpp) for _ in range(h)))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + b"".join(text_chunks) + _chunk(b"IDAT", idat) + b"".join(after) + _chunk(b"IEND", b""))


def _text(key: str, value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode("latin-1")
    return _chunk(b"tEXt", key.encode("latin-1") + b"\x00" + raw)


def _ztxt(key: str, raw: bytes, level: int = 9) -> bytes:
    return _chunk(b"zTXt", key.encode("latin-1") + b"\x00\x00" + zlib.compress(raw, level))


def _itxt(key: str, value: str) -> bytes:
    return _chunk(b"iTXt", key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))


def _exif_user_comment(comment: bytes, *, ifd0: bool = False, bo: str = "<") -> bytes:
    """A TIFF block with one UserComment (in the Exif IFD, or in IFD0 as ComfyUI savers put it)."""
    head = (b"II*\x00" if bo == "<" else b"MM\x00*") + struct.pack(bo + "I", 8)
    if ifd0:
        ifd = struct.pack(bo + "H", 1) + struct.pack(bo + "HHII", 0x9286, 7, len(comment), 26) + b"\x00" * 4
        return head + ifd + comment
    ifd0_body = struct.pack(bo + "H", 1) + struct.pack(bo + "HHII", 0x8769, 4, 1, 26) + b"\x00" * 4
    exif_ifd = struct.pack(bo + "H", 1) + struct.pack(bo + "HHII", 0x9286, 7, len(comment), 44) + b"\x00" * 4
    return head + ifd0_body + exif_ifd + comment


def _jpeg(app_segments: list[bytes], w: int = 8, h: int = 8) -> bytes:
    """A JPEG whose segments before the scan are ``app_segments`` and a baseline SOF of w x h."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + b"".join(app_segments) + sof + sos + b"\x00" * 16 + b"\xff\xd9"


def _app1_exif(tiff: bytes) -> bytes:
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _webp_with_exif(tiff: bytes) -> bytes:
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x07\xc0\x01\x00" + b"\x00"
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + (b"\x00" if len(tiff) & 1 else b"")
    body = b"WEBP" + vp8l + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


INFOTEXT = "a cat\nNegative prompt: ugly\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"


def _bounded(fn, *args):
    """(result or ImportFailure, seconds, peak bytes) of fn(*args): time without tracing, then the peak."""
    gc.collect()
    t0 = time.perf_counter()
    try:
        out = fn(*args)
    except ImportFailure as e:
        out = e
    seconds = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
    except ImportFailure:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak


def _assert_bounded(fn, *args):
    out, seconds, peak = _bounded(fn, *args)
    assert seconds <= LIMIT_S, f"took {seconds:.2f} s"
    assert peak <= LIMIT_BYTES, f"peak {peak / 2 ** 20:.1f} MiB"
    assert not (isinstance(out, ImportFailure) and out.internal), out
    return out


# ------------------------------------------------------------------ carriers

def test_swarmui_utf16le_user_comment_in_jpeg_and_webp():
    sui = {"sui_image_params": {"prompt": "a cat, テスト", "negativeprompt": "ugly", "model": "juggernautXL_v9",
                                "seed": 42, "steps": 30, "cfgscale": 6.5, "width": 1024, "height": 768,
                                "sampler": "dpmpp_2m", "scheduler": "karras", "clipstopatlayer": -2,
                                "swarm_version": "0.9.2"}}
    comment = b"UNICODE\x00" + json.dumps(sui, ensure_ascii=False).encode("utf-16-le")
    for data in (_jpeg([_app1_exif(_exif_user_comment(comment))]), _webp_with_exif(_exif_user_comment(comment))):
        gen = read_generation_bytes(data)
        assert (gen.source_tool, gen.prompt, gen.seed, gen.cfg_scale, gen.sampler, gen.schedule, gen.clip_skip) == \
            ("SwarmUI", "a cat, テスト", 42, 6.5, "dpmpp_2m", "karras", 2)
        assert (gen.width, gen.height, gen.prompt_syntax) == (1024, 768, "comfyui")
    # the PNG carrier: sui_image_params in "parameters", read before the ComfyUI graph next to it
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 7, "steps": 1, "cfg": 1, "sampler_name": "euler",
                                                        "scheduler": "normal", "model": ["4", 0]}}}
    gen = read_generation_bytes(_png([_text("prompt", json.dumps(graph)), _text("parameters", json.dumps(sui))]))
    assert gen.source_tool == "SwarmUI" and gen.seed == 42 and "prompt" in gen.raw


def test_comfyui_json_in_ifd0_user_comment_and_civitai_graph():
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 12, "cfg": 4.5, "sampler_name": "euler",
                                                        "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                        "positive": ["6", 0], "negative": ["7", 0],
                                                        "latent_image": ["5", 0]}},
             "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
             "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
             "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["4", 1]}},
             "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blur", "clip": ["4", 1]}},
             "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
             "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}}}
    wrapped = json.dumps({"prompt": graph, "workflow": {"nodes": []}}).encode()
    gen = read_generation_bytes(_jpeg([_app1_exif(_exif_user_comment(wrapped, ifd0=True, bo=">"))]))
    assert (gen.source_tool, gen.prompt, gen.seed, gen.width) == ("ComfyUI", "a fox", 5, 832)
    assert gen.container.endswith("IFD0:UserComment:prompt") and "workflow" in gen.raw
    civitai = dict(graph, extra={"airs": []}, extraMetadata="{}")
    gen = read_generation_bytes(_jpeg([_app1_exif(_exif_user_comment(b"UNICODE\x00"
                                                                      + json.dumps(civitai).encode("utf-16-be")))]))
    assert (gen.source_tool, gen.negative_prompt, gen.steps) == ("ComfyUI", "blur", 12)


def test_novelai_json_of_chunks_in_webp_user_comment():
    chunks = {"Title": "NovelAI generated image", "Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90",
              "Description": "1girl", "Comment": json.dumps({"prompt": "1girl", "uc": "lowres", "seed": 9, "steps": 28,
                                                             "scale": 5.0, "sampler": "k_euler_ancestral",
                                                             "noise_schedule": "karras", "width": 832,
                                                             "height": 1216})}
    comment = b"ASCII\x00\x00\x00" + json.dumps(chunks).encode()
    gen = read_generation_bytes(_webp_with_exif(_exif_user_comment(comment)))
    assert (gen.source_tool, gen.prompt, gen.negative_prompt, gen.seed, gen.prompt_syntax) == \
        ("NovelAI", "1girl", "lowres", 9, "novelai")
    # k_euler_ancestral + karras: a registered scheduler runs it, or the conversion says it has none
    conv = convert(gen, REG)
    assert conv.file.fields["scheduler"] != "default" or any("'k_euler_ancestral'" in x for x in conv.lost)
    assert conv.file.model_fields["weights_hash"] == b""        # NovelAI's 8-hex id is not a SHA-256


def test_json_parameters_of_web_front_ends():
    text = json.dumps({"prompt": "a cat", "negative_prompt": "dog", "resolution": "1024 x 768", "guidance_scale": 5.5,
                       "num_inference_steps": 24, "seed": 3, "sampler": "DPM++ 2M Karras", "Model": "animagineXL",
                       "mystery": 1})
    gen = read_generation_bytes(_png([_text("parameters", text)]))
    assert (gen.source_tool, gen.steps, gen.cfg_scale, gen.width, gen.height, gen.sampler) == \
        ("JSON parameters", 24, 5.5, 1024, 768, "DPM++ 2M Karras")
    assert any("mystery" in x for x in gen.lost)
    conv = convert(gen, REG)
    assert conv.file.fields["scheduler"] != "default" and conv.file.model == "unregistered-sdxl"


def test_draw_things_xmp_in_png_itxt_and_jpeg():
    dt = {"c": "a lighthouse <at> dusk & rain", "uc": "blurry", "seed": 2746421474, "steps": 30, "scale": 5,
          "sampler": "DPM++ 2M Karras", "model": "sd_xl_base_1.0_f16.ckpt", "size": "1024x1024", "strength": 1,
          "seed_mode": "Scale Alike", "v2": {"clipSkip": 1}}
    esc = json.dumps(dt).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
           f'<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{esc}</rdf:li></rdf:Alt></exif:UserComment>'
           '<xmp:CreatorTool>Draw Things</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>')
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + xmp.encode()
    for data in (_png([_itxt("XML:com.adobe.xmp", xmp)]),
                 _jpeg([b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1])):
        gen = read_generation_bytes(data)
        assert (gen.source_tool, gen.prompt, gen.seed, gen.cfg_scale, gen.width, gen.clip_skip) == \
            ("Draw Things", "a lighthouse <at> dusk & rain", 2746421474, 5.0, 1024, 1)
        assert any("seed mode" in x for x in gen.lost)


def test_invokeai_dream_glued_switches_and_sd_metadata_images_list():
    gen = invokeai.read_dream('"a castle [fog]" -s50 -S3357757885 -W512 -H768 -C7.5 -Ak_lms')
    assert (gen.seed, gen.steps, gen.width, gen.height, gen.cfg_scale, gen.sampler) == \
        (3357757885, 50, 512, 768, 7.5, "k_lms")
    assert (gen.prompt, gen.negative_prompt) == ("a castle ", "fog")
    # InvokeAI 2.0: unquoted prompt, --grid with its seeds in a comment, --hires_fix
    gen = invokeai.read_dream("banana sushi -s 50 -S 2028635318 -W 512 -H 512 -C 7.5 --grid --hires_fix -A k_lms "
                              "# [2028635318, 1867233700]")
    assert (gen.prompt, gen.seed, gen.sampler) == ("banana sushi", 2028635318, "k_lms")
    assert any("--grid" in x for x in gen.lost) and any("--hires_fix" in x for x in gen.lost)
    sdm = {"model_weights": "stable-diffusion-1.5", "app_version": "2.3.0",
           "images": [{"prompt": [{"prompt": "a boat [rust]", "weight": 1.0}], "steps": 30, "cfg_scale": 7.5,
                       "seed": 11, "width": 512, "height": 512, "sampler": "k_euler_a"}, {"seed": 12}]}
    gen = read_generation_bytes(_png([_text("sd-metadata", json.dumps(sdm))]))
    assert (gen.seed, gen.prompt, gen.negative_prompt, gen.prompt_syntax) == (11, "a boat ", "rust", "compel")
    assert any("2 images" in n for n in gen.notes)


def test_utf8_in_text_chunk_and_latin1_fallback():
    utf8 = INFOTEXT.replace("a cat", "a café テスト").encode("utf-8")
    assert read_generation_bytes(_png([_text("parameters", utf8)])).prompt == "a café テスト"
    latin1 = INFOTEXT.replace("a cat", "a caf\xe9").encode("latin-1")
    assert read_generation_bytes(_png([_text("parameters", latin1)])).prompt == "a caf\xe9"


def test_png_with_truncated_image_data_still_converts():
    data = _png([_text("parameters", INFOTEXT)], w=64, h=64)
    cut = data[: data.index(b"IDAT") + 20]          # the file ends inside IDAT
    gen = read_generation_bytes(cut)
    assert gen.seed == 1 and any("truncated" in n for n in gen.notes)
    codec.write(convert(gen, REG).file, REG)
    with pytest.raises(ImportFailure) as err:         # cut before any text: still a typed failure
        read_generation_bytes(_png([], w=64, h=64)[:60])
    assert err.value.code == "E_IMPORT_MALFORMED"


# ------------------------------------------------------------------ invented values, families, export

def test_no_cfg_in_the_source_is_unknown_not_a_default():
    gen = a1111.read_text("a cat\nSteps: 20, Sampler: Euler a, Seed: 1, Size: 512x512, Model: v1-5-pruned-emaonly")
    conv = convert(gen, REG)
    assert any(x.startswith("CFG scale: not in the metadata") for x in conv.lost)
    f = codec.read(codec.write(conv.file, REG), REG)
    text = format_a1111(to_imported(f, REG))
    assert "CFG scale" not in text and "Steps: 20" in text
    # spelled differently ("CFG Scale", comfy-image-saver): the value is the CFG scale
    gen = a1111.read_text("a\nSteps: 20, Sampler: euler_simple, CFG Scale: 8.0, Seed: 0, Size: 512x512, Version: ComfyUI")
    assert gen.cfg_scale == 8.0 and gen.source_tool == "ComfyUI" and gen.prompt_syntax == "comfyui"


def test_sdnext_sampler_sigma_and_emphasis():
    gen = a1111.read_text("a\nSteps: 20, Sampler: Euler a, Seed: 1, App: SD.Next, Sampler sigma: karras, "
                          "Sampler spacing: trailing, Emphasis: No norm")
    assert (gen.source_tool, gen.schedule, gen.emphasis, gen.prompt_syntax) == ("SD.Next", "karras", "No norm", "a1111")
    assert any("Sampler spacing" in x for x in gen.lost)


@pytest.mark.parametrize("name,family", [
    ("waiIllustriousSDXL_v160", "sdxl"), ("noobaiXLNAIXL_vPred10", "sdxl"), ("ponyDiffusionV6", "sdxl"),
    ("illustriousXL_v01", "sdxl"), ("flux1-dev-fp8", "flux"), ("sd3.5_large_custom", "sd3"),
    ("stableDiffusion3_medium", "sd3"), ("v1-5-pruned-emaonly", "sd"), ("animaPencilXL_v500", "sdxl"),
    ("chromaticMix_v2", "sd"),
])
def test_model_families_from_names(name, family):
    key, _, how = model_key(name, None, REG)     # registered, or unregistered of the right family
    assert REG.family_of(key).key == family, how


@pytest.mark.parametrize("name", ["auraflow_v0.3", "hunyuan_dit_1.2", "stable_cascade_stage_c", "kolors_fp16",
                                  "chroma-unlocked-v37", "anima-preview"])
def test_model_architectures_without_a_family_are_refused(name):
    with pytest.raises(AigifError) as err:
        model_key(name, None, REG)
    assert err.value.code == "E_UNSUPPORTED"


def test_family_from_the_record_when_the_name_does_not_say():
    forge = a1111.read_text("a\nSteps: 20, Sampler: Euler, CFG scale: 1, Seed: 1, Size: 1024x1024, Model: myMix_v2, "
                            "Module 1: ae.safetensors, Module 2: clip_l.safetensors, Module 3: t5xxl_fp16.safetensors")
    assert convert(forge, REG).file.model == "unregistered-flux"
    sdnext = a1111.read_text("a\nSteps: 20, Sampler: Euler, Seed: 1, Size: 1024x1024, Model: myMix_v2, App: SD.Next, "
                             "Pipeline: StableDiffusionXLPipeline")
    assert convert(sdnext, REG).file.model == "unregistered-sdxl"


def test_model_without_a_family_hint_is_reported():
    gen = a1111.read_text("a\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: Sour orangeMIXv4.1")
    conv = convert(gen, REG)
    assert any(x.startswith("model family:") for x in conv.lost)
    text = format_a1111(to_imported(codec.read(codec.write(conv.file, REG), REG), REG))
    assert "Model: Sour orangeMIXv4.1," in text + "," and "unregistered" not in text


def test_export_keeps_what_the_a1111_file_had():
    src = ("a cat <lora:detail:0.5>\nNegative prompt: dog\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, "
           "CFG scale: 5.5, Seed: 7, Size: 832x1216, Model hash: 45a21ea00a, Model: animagine-xl-3.1.fp16, "
           'VAE: sdxl_vae.safetensors, Denoising strength: 0.3, Hires upscale: 1.5, Hires steps: 10, '
           'Hires upscaler: Latent, Lora hashes: "detail: 1234567890ab", TI hashes: "bad: abcdef012345", '
           "Version: v1.10.1")
    f = codec.read(codec.write(convert(a1111.read_text(src), REG).file, REG), REG)
    text = format_a1111(to_imported(f, REG))
    for part in ("Model: animagine-xl-3.1.fp16", "Version: v1.10.1", "Hires upscale: 1.5", "Hires steps: 10",
                 "Denoising strength: 0.3", 'Lora hashes: "detail: 1234567890ab"', "TI hashes:",
                 "VAE: sdxl_vae.safetensors", "Sampler: DPM++ 2M, Schedule type: Karras"):
        assert part in text, part
    back = a1111.read_text(text)
    assert (back.model_name, back.cfg_scale, back.hires["Hires steps"]) == ("animagine-xl-3.1.fp16", 5.5, "10")


def test_export_omits_a_comfyui_sampler_a1111_has_no_name_for():
    gen = ImportedGeneration(source_tool="ComfyUI", prompt="a", seed=1, steps=10, cfg_scale=4.0, width=512,
                             height=512, sampler="res_multistep_exotic", schedule="normal", model_name="x_xl")
    f = codec.read(codec.write(convert(gen, REG).file, REG), REG)
    imp = to_imported(f, REG)
    assert "Sampler" not in format_a1111(imp) and any("res_multistep_exotic" in x for x in imp.lost)


# ------------------------------------------------------------------ hostile input

def test_hostile_many_text_chunks_is_linear():
    chunks = [_text(f"k{i % 50}", "v") for i in range(20_000)] + [_text("parameters", INFOTEXT)]
    data = _png(chunks)
    assert len(data) <= 1 << 20
    gen = _assert_bounded(read_generation_bytes, data)
    assert gen.seed == 1 and any("duplicate text keys" in n for n in gen.notes)


def test_hostile_a1111_line_with_100k_keys_is_linear():
    line = ",".join(f"k{i:x}:1" for i in range(110_000))
    data = _png([_text("parameters", "a cat\nSteps: 2, Seed: 1, " + line)])
    assert len(data) <= 1 << 20
    gen = _assert_bounded(read_generation_bytes, data)
    assert len(gen.extra) >= 100_000 and len(gen.lost) < 100     # counted, not listed one by one


def test_hostile_add_lost_is_linear():
    gen = ImportedGeneration(source_tool="x")
    t0 = time.perf_counter()
    for i in range(100_000):
        gen.add_lost(f"item {i}")
        gen.add_lost(f"item {i}")
    gen.lost.append("direct")                  # callers may still append: the index follows
    gen.add_lost("direct")
    assert time.perf_counter() - t0 < LIMIT_S and len(gen.lost) == 100_001


def test_hostile_ztxt_bomb_is_refused_without_inflating_it():
    for raw in (INFOTEXT.encode() + b" " * (16 << 20),          # over the per-text cap
                b"a " * (15 << 19) + INFOTEXT.encode()):         # under it, but 1000 times its compressed size
        data = _png([_ztxt("parameters", raw)])
        assert len(data) < 32 * 1024
        out = _assert_bounded(read_generation_bytes, data)
        assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_TOO_LARGE"
    # real metadata compresses 5-30 times: read
    text = (INFOTEXT.replace("a cat", "a cat, " * 20000)).encode()
    assert read_generation_bytes(_png([_ztxt("parameters", text)])).seed == 1


def test_hostile_million_lora_tags():
    tags = b"<lora:a:1>" * 1_000_000
    compressed = _png([_ztxt("parameters", b"x " + tags + b"\nSteps: 1, Sampler: Euler, Seed: 1")])
    assert len(compressed) < 64 * 1024
    out = _assert_bounded(read_generation_bytes, compressed)
    assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_TOO_LARGE"
    plain = _png([_text("parameters", b"x " + tags[: 1_000_000] + b"\nSteps: 1, Sampler: Euler, Seed: 1")])
    gen = _assert_bounded(read_generation_bytes, plain)
    assert len(gen.loras) == a1111.MAX_LORAS and any("LoRA tags" in x for x in gen.lost)


def _stealth_rgb_png(w: int, h: int, payload: bytes | None, good_rows: int | None = None) -> bytes:
    """An RGB PNG of w x h whose column 0 hides stealth_rgbinfo + payload in the R, G, B low bits;
    with ``good_rows``, the image data is garbage after that many rows."""
    bits = ""
    if payload is not None:
        body = "".join(f"{b:08b}" for b in payload)
        bits = "".join(f"{b:08b}" for b in b"stealth_rgbinfo") + f"{len(body):032b}" + body
    assert len(bits) <= 3 * h
    comp = zlib.compressobj(1)
    parts = []
    zero_row = b"\x00" + bytes(3 * w)
    for y in range(h if good_rows is None else good_rows):
        chunk = bits[3 * y:3 * y + 3]
        if chunk:
            px = bytes(int(c) for c in chunk.ljust(3, "0"))
            parts.append(comp.compress(b"\x00" + px + bytes(3 * (w - 1))))
        else:
            parts.append(comp.compress(zero_row))
    if good_rows is None:
        parts.append(comp.flush())
    else:
        parts.append(comp.flush(zlib.Z_SYNC_FLUSH) + b"\xff" * 64)   # the rest does not decode
    return _png([], w=w, h=h, colour=2, idat=b"".join(parts))


def test_hostile_stealth_on_a_huge_image_reads_only_the_first_pixels():
    for payload in (INFOTEXT.encode(), None):
        for good_rows in (None, 400):   # 400: only the rows the stealth block needs decode at all
            data = _stealth_rgb_png(5000, 5000, payload, good_rows)
            assert len(data) <= 1 << 20
            out = _assert_bounded(read_generation_bytes, data)
            if payload is None:
                assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_NO_METADATA"
            else:
                assert out.seed == 1 and out.container == "png:stealth_rgbinfo:rgb"
    # a payload length that claims the whole image is refused before any of it is read
    sig_len = b"stealth_rgbinfo" + struct.pack(">I", 5000 * 5000 * 3 - 152)
    bits = "".join(f"{b:08b}" for b in sig_len)
    assert len(bits) == 152
    rows = []
    for y in range(400):
        chunk = bits[3 * y:3 * y + 3]
        rows.append(b"\x00" + (bytes(int(c) for c in chunk.ljust(3, "0")) if chunk else b"\x00\x00\x00")
                    + bytes(3 * 4999))
    comp = zlib.compressobj(1)
    idat = comp.compress(b"".join(rows)) + comp.flush(zlib.Z_SYNC_FLUSH)
    out = _assert_bounded(read_generation_bytes, _png([], w=5000, h=5000, colour=2, idat=idat))
    assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_TOO_LARGE"


def test_hostile_sizes_are_reported_not_clamped_silently():
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 3, "sampler_name": "euler",
                                                        "scheduler": "normal", "model": ["4", 0], "positive": ["6", 0],
                                                        "negative": ["6", 0], "latent_image": ["5", 0]}},
             "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
             "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1e308, "height": 512, "batch_size": 1}},
             "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a", "clip": ["4", 1]}}}
    gen = _assert_bounded(read_generation_bytes, _png([_text("prompt", json.dumps(graph))]))
    conv = convert(gen, REG)
    assert any("outside" in x for x in conv.lost) and conv.file.width <= 16384
    jpeg = _jpeg([_app1_exif(_exif_user_comment(b"ASCII\x00\x00\x00a\nSteps: 2, Sampler: Euler, Seed: 1"))],
                 w=65535, h=65535)
    conv = convert(read_generation_bytes(jpeg), REG)
    assert any("65535x65535 is outside" in x for x in conv.lost)


def test_hostile_4000_digit_numbers_are_typed():
    big = "9" * 4000
    text = '{"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": ' + big + \
           ', "sampler_name": "euler", "scheduler": "normal", "model": ["4", 0]}}}'
    gen = _assert_bounded(read_generation_bytes, _png([_text("prompt", text)]))
    assert gen.cfg_scale is None
    assert any("CFG scale: not in the metadata" in x for x in convert(gen, REG).lost)
    comment = '{"seed": 1, "steps": 2, "scale": ' + big + ', "uc": ""}'
    out = _assert_bounded(read_generation_bytes, _png([_text("Software", "NovelAI"), _text("Comment", comment)]))
    assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_MALFORMED"
    out = _assert_bounded(read_generation_bytes, _png([_text("parameters", INFOTEXT.replace("CFG scale: 7",
                                                                                             "CFG scale: 1e999"))]))
    assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_MALFORMED"


def test_hostile_lone_surrogate_in_an_extension_string_converts():
    gen = a1111.read_text(INFOTEXT + ', Foo: "\\ud800", Software: "\\udfff"')
    assert gen.extra["Foo"] == "\ud800"
    data = codec.write(convert(gen, REG).file, REG)           # no UnicodeEncodeError
    settings = json.loads(codec.read(data, REG).extension_fields("source")["settings"])
    assert settings["extra.Foo"] == "\ud800"                   # and nothing was lost on the way


def test_hostile_corrupt_idat_during_stealth_search_is_typed():
    data = _png([], w=64, h=64, colour=6, idat=b"\x78\x9c" + b"\xff" * 200)
    out = _assert_bounded(read_generation_bytes, data)
    assert isinstance(out, ImportFailure) and out.code == "E_IMPORT_MALFORMED" and not out.internal


def test_stealth_rows_match_pillow():
    """The row decoder against Pillow on every PNG filter type."""
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    import io

    from aigif.importers.containers import stealth
    rng = np.random.default_rng(0)
    for mode, bpp, chans in (("RGBA", 4, (3,)), ("RGB", 3, (0, 1, 2))):
        arr = (rng.integers(0, 64, (40, 30, bpp)) + np.arange(30)[None, :, None] * 5).astype("uint8")
        buf = io.BytesIO()
        Image.fromarray(arr, mode).save(buf, "PNG", optimize=True)
        got = stealth._row_prefixes(buf.getvalue(), 30, bpp, 4, chans, 40)
        assert got == [bytes(arr[y, :4][:, list(chans)].reshape(-1)) for y in range(40)]
    assert read_container(_png([_text("parameters", INFOTEXT)])).items[0].key == "parameters"


def test_find_params_is_a1111s_expression_in_linear_time():
    import random
    alphabet = ["a", "b", " ", ":", ",", '"', "\\", "-", "/", "é", "1", "_", "\t", "\u00a0", "٣", "x"]
    rnd = random.Random(7)
    for _ in range(20_000):
        line = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        assert [(k, v) for k, v, _, _ in a1111.find_params(line)] == a1111.RE_PARAM.findall(line), line
    for line in ("a" * 1_000_000, "ab " * 300_000, ", ".join(['k: "x'] * 100_000), 'ab: "' * 200_000):
        t0 = time.perf_counter()
        a1111.find_params(line)
        assert time.perf_counter() - t0 < LIMIT_S


def test_hostile_xmp_with_many_unclosed_tags_is_linear():
    xmp = ("<x:xmpmeta>" + "<exif:UserComment>" * 30_000 + "<exif:UserCommentX>" * 10_000 + "<rdf:li>" * 15_000
           + "<xmp:CreatorTool>" * 5_000)
    data = _png([_itxt("XML:com.adobe.xmp", xmp), _text("parameters", INFOTEXT)])
    assert len(data) <= 1 << 20
    gen = _assert_bounded(read_generation_bytes, data)
    assert gen.seed == 1
