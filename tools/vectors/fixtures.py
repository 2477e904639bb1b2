"""The valid files the parse and reject vectors start from, and their payloads."""
from __future__ import annotations

import hashlib
import json
import struct

from aigif import codec, jsonform
from aigif.conformance.png import write_png
from aigif.errors import AigifError
from aigif.file import AigifFile, Extension, ModelPayload, PixelPayload

from .common import REG, BuildError, table

PROMPT = "a red circle on a blue square"
NEG = "blurry, low quality"
PAPER = dict(height=1024, width=1024, seed=829557441, prompt="A cute cat", negative_prompt="worst quality",
             fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5}, device="cuda",
             platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16", noise="torch-cuda")
SOFTWARE = {"torch": "2.13.0+cu124", "diffusers": "0.42.1", "transformers": "4.57.1", "writer": "aigif 1.0"}


def family_models() -> dict[str, str]:
    """family key -> its first registered (not unregistered-*) model."""
    out = {}
    for m in table("models").entries:
        if not m["key"].startswith("unregistered-"):
            out.setdefault(m["family"], m["key"])
    return out


FAMILY_MODEL = family_models()


def new(model="sd-1.5", **kw) -> AigifFile:
    kw.setdefault("prompt", PROMPT)
    kw.setdefault("negative_prompt", NEG)
    fam = REG.family_of(model)
    kw.setdefault("height", 64 * fam.size_multiple // 8 if fam.size_multiple < 64 else fam.size_multiple)
    kw.setdefault("width", kw["height"])
    kw.setdefault("seed", 42)
    return jsonform.new(model, REG, **kw)


def paper(**kw) -> AigifFile:
    """The paper's example (Table II), with changes."""
    return jsonform.new("sd-1.5", REG, **{**PAPER, **kw})


def ext(tag: int, **values) -> Extension:
    """A registered extension with every field of its registry entry: the
    given values, the field default ("") for the rest."""
    e = REG.extensions.by_id[tag]
    names = [x["name"] for x in e["fields"]]
    unknown = set(values) - set(names)
    if unknown:
        raise BuildError(f"extension {e['key']} has no fields {sorted(unknown)}")
    return Extension(tag, b"", e["key"], {x["name"]: values.get(x["name"], x.get("default", "")) for x in e["fields"]})


def with_pixels(f: AigifFile, codec_key: str, data: bytes) -> AigifFile:
    f.pixels = PixelPayload(codec_key, data)
    return f


def with_ext(f: AigifFile, exts) -> AigifFile:
    f.extensions = list(exts)
    return f


def with_model(f: AigifFile, compressor: str, sha: bytes, data: bytes) -> AigifFile:
    f.model_payload = ModelPayload(compressor, sha, data)
    return f


def pattern_rgb(w: int, h: int) -> bytes:
    return bytes(((x * 37 + y * 11 + c * 101) & 0xFF) for y in range(h) for x in range(w) for c in range(3))


def png_rgb(w: int, h: int) -> bytes:
    return write_png(w, h, pattern_rgb(w, h))


def tiny_safetensors() -> bytes:
    header = json.dumps({"__metadata__": {"format": "pt"}, "lora.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1.0, -2.0, 0.5, 0.25)


def all_sections() -> AigifFile:
    """Every optional section at once."""
    st = tiny_safetensors()
    f = new("unregistered-sdxl", height=16, width=8, seed=2**32 + 5, device="cuda",
            platform={"gpu": "h100-sxm", "cuda": "cu124"}, noise="torch-cuda", dtype="bfloat16",
            fields={"scheduler": "dpmpp-2m-karras", "steps": 30, "guidance": 6.3, "clip_skip": 1,
                    "prompt_2": "oil painting", "negative_prompt_2": "photo"},
            model_fields={"weights_hash": hashlib.sha256(b"my merge").hexdigest(), "model_name": "myMerge_v3.safetensors"},
            digest=hashlib.sha256(pattern_rgb(8, 16)).hexdigest()[:32])
    f.extensions = [ext(2, torch="2.13.0", diffusers="0.42.1", transformers="4.57.1", writer="aigif 1.0"),
                    ext(4, tool="comfyui", settings='{"lora": "none"}'),
                    Extension(100, b"\x00\x01\x02private")]
    with_pixels(f, "png", png_rgb(8, 16))
    return with_model(f, "none", hashlib.sha256(st).digest(), st)


def coder_available(key: str) -> bool:
    """Whether text coder ``key`` writes and reads back a file here."""
    try:
        f = new(text_coder=key, prompt="a red circle", negative_prompt="blurry")
        g = codec.read(codec.write(f, REG), REG)
        return (g.prompt, g.negative_prompt) == (f.prompt, f.negative_prompt)
    except (AigifError, ImportError):
        return False
