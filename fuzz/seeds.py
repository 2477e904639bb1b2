"""Seed corpora for the fuzz targets (deterministic: same bytes every run).

    python fuzz/seeds.py            # writes fuzz/corpus/parser_seed/ and fuzz/corpus/importer_seed/

Parser seeds are valid AIGIF files built with ``jsonform.new`` +
``codec.write``: every text coder that works in this build (``none``,
``deflate``, ``prompt`` once it is wired in), registered and unknown
extensions, all digest lengths, a PNG pixel payload, model payloads, every
model (registered and unregistered), every device; plus ``vectors/**/*.aigif``.

Each seed is written three times, once per *framing mode* of
``fuzz_parser.py`` (the first byte of a fuzz input): 0 = the bytes as a file,
1 = a file whose CRC-32 the target recomputes, 2 = a body that the target
wraps into a file (header, length and CRC computed). Modes 1 and 2 let
mutations reach the core, sections and text block instead of dying at the
checksum.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from aigif import codec, jsonform, text, wire
from aigif.errors import AigifError
from aigif.file import Extension, ModelPayload, PixelPayload
from aigif.registry import load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

REG = load()


def body_of(data: bytes) -> bytes | None:
    try:
        _, start = wire.read_uvarint(data, 4, len(data))
    except AigifError:
        return None
    return data[start:-4]


def png_rgb(w: int, h: int, seed: int = 0) -> bytes:
    """A tiny deterministic RGB PNG (stored DEFLATE blocks)."""
    from aigif.conformance.png import write_png
    rgb = bytes((seed + i * 7) & 0xFF for i in range(w * h * 3))
    return write_png(w, h, rgb)


def working_coders() -> list[str]:
    out = []
    for key in ("none", "deflate", "prompt"):
        try:
            text.encode(key, ["a"])
        except AigifError:
            continue
        out.append(key)
    return out


def valid_files() -> dict[str, bytes]:
    coders = working_coders()
    files: dict[str, bytes] = {}

    def add(name, f):
        try:
            data = codec.write(f, REG)
            codec.read(data, REG)
        except AigifError as e:  # a seed the reference cannot round-trip is skipped, loudly
            print(f"seed {name}: {e}", file=sys.stderr)
            return
        files[name] = data

    base = dict(height=512, width=512, seed=42, prompt="a cute cat, masterpiece", negative_prompt="worst quality")
    for coder in coders:
        add(f"paper-{coder}", jsonform.new("sd-1.5", **base, text_coder=coder,
                                           fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5},
                                           device="cuda", platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}))
        add(f"empty-{coder}", jsonform.new("sd-1.5", height=8, width=8, seed=0, text_coder=coder))
        add(f"repeat-{coder}", jsonform.new("sd-1.5", height=64, width=64, seed=1, text_coder=coder,
                                            prompt="ab" * 200, negative_prompt="x"))
        add(f"unicode-{coder}", jsonform.new("sdxl-base-1.0", height=1024, width=768, seed=2**40, text_coder=coder,
                                             prompt="猫 \u00e9\U0001F408", negative_prompt="\u0000\u007f",
                                             fields={"prompt_2": "second", "negative_prompt_2": "neg2"}))
    for m in REG.table("models").entries:
        add(f"model-{m['key']}", jsonform.new(m["key"], height=1024, width=1024, seed=m["id"] * 1000,
                                              prompt=f"model {m['key']}", text_coder="deflate"))
    # unregistered models with hashes of every interesting length
    for n in (0, 5, 32):
        add(f"unreg-hash{n}", jsonform.new("unregistered-sd", height=512, width=512, seed=7, text_coder="none",
                                           prompt="p", model_fields={"weights_hash": ("ab" * n), "model_name": "my_merge.safetensors"}))
    add("unreg-sdxl", jsonform.new("unregistered-sdxl", height=1024, width=1024, seed=7, text_coder="deflate",
                                   model_fields={"weights_hash": "0123456789", "model_name": "juggernaut"}))
    # devices and platforms
    for d in REG.table("devices").entries:
        add(f"device-{d['key']}", jsonform.new("sd-1.5", height=512, width=512, seed=3, device=d["key"], text_coder="none"))
    # dec corner cases: binary form, -0.0-like, big seeds, extreme sizes
    add("dec-binary", jsonform.new("sd-1.5", height=16384, width=8, seed=2**64 - 1, text_coder="none",
                                   fields={"guidance": 3.0000000000000004, "steps": 1000, "clip_skip": 12}))
    add("dec-small", jsonform.new("sd-1.5", height=8, width=16384, seed=255, text_coder="none",
                                  fields={"guidance": 1e-7, "steps": 1}))
    add("flux", jsonform.new("flux.1-dev", height=1024, width=1024, seed=65535, text_coder="deflate",
                             fields={"true_cfg": 1.5, "prompt_2": "t5 prompt"}))
    # digests
    for n in (8, 16, 32):
        add(f"digest{n}", jsonform.new("sd-1.5", height=512, width=512, seed=5, text_coder="none", digest="cd" * n))
    # extensions: registered (software, source), unknown ignorable, private range
    def ext(key, **values):  # every field of the registered extension, from the registry
        e = next(x for x in REG.extensions.entries if x["key"] == key)
        fields = {f["name"]: values.get(f["name"], f.get("default", "")) for f in e["fields"]}
        return Extension(e["tag"], b"", key, fields)

    sw = ext("software", torch="2.13.0", diffusers="0.42.1", writer="aigif 1.0")
    src = ext("source", tool="automatic1111", settings='{"ENSD": 31337}')
    f = jsonform.new("sd-1.5", **base, text_coder="deflate")
    f.extensions = [sw, src, Extension(6, b"\x01\x02\x03"), Extension(64, b""), Extension(300, b"\xff" * 4)]
    add("extensions", f)
    f = jsonform.new("sd-1.5", height=8, width=8, seed=0, text_coder="none")
    f.extensions = [Extension(2 * i, b"x") for i in range(3, 35)]  # 32 unknown ignorable extensions
    add("extensions-32", f)
    # pixel payloads
    f = jsonform.new("sd-1.5", height=8, width=8, seed=9, text_coder="none", prompt="px")
    f.pixels = PixelPayload("png", png_rgb(8, 8))
    add("pixels-png", f)
    f = jsonform.new("sd-1.5", height=8, width=16, seed=9, text_coder="deflate")
    f.pixels = PixelPayload("jpeg-xl", b"\xff\x0a" + bytes(20))
    add("pixels-jxl", f)
    # model payloads
    weights = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "
    f = jsonform.new("sd-1.5", height=8, width=8, seed=9, text_coder="none")
    f.model_payload = ModelPayload("none", hashlib.sha256(weights).digest(), weights)
    add("model-none", f)
    f = jsonform.new("sd-1.5", height=8, width=8, seed=9, text_coder="none")
    f.model_payload = ModelPayload("int8", b"\x11" * 32, b"int8 weights")
    add("model-int8", f)
    # everything at once
    f = jsonform.new("sdxl-base-1.0", height=8, width=8, seed=123456789, text_coder="deflate",
                     prompt="all sections", fields={"prompt_2": "x"}, digest="ee" * 16)
    f.extensions = [sw, Extension(8, b"\x00")]
    f.pixels = PixelPayload("png", png_rgb(8, 8, 3))
    f.model_payload = ModelPayload("none", hashlib.sha256(weights).digest(), weights)
    add("all-sections", f)
    for p in sorted((ROOT / "vectors").glob("**/*.aigif")):
        data = p.read_bytes()
        if len(data) <= 1 << 16:
            files["vec-" + "-".join(p.relative_to(ROOT / "vectors").parts)] = data
    return files


def write_corpus(out: Path, files: dict[str, bytes]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, data in files.items():
        for mode, payload in ((0, data), (1, data[:-4] + b"\0\0\0\0"), (2, body_of(data) if data[:3] == b"AIG" else None)):
            if payload is None:
                continue
            (out / f"{name}.m{mode}").write_bytes(bytes([mode]) + payload)
            n += 1
    return n


def importer_seeds() -> dict[str, bytes]:
    out = {}
    base = ROOT.parent / "shared" / "realworld" / "sd-parsers"
    for p in sorted(base.glob("**/*")):
        if p.is_file() and p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
            out["-".join(p.relative_to(base).parts)] = p.read_bytes()
    return out


def main() -> None:
    n = write_corpus(HERE / "corpus" / "parser_seed", valid_files())
    imp = HERE / "corpus" / "importer_seed"
    imp.mkdir(parents=True, exist_ok=True)
    seeds = importer_seeds()
    for name, data in seeds.items():
        (imp / f"m0-{name}").write_bytes(b"\x00" + data)  # mode 0 of fuzz_importer.py: the file as is
    print(f"parser seeds: {n} ({', '.join(working_coders())} coders); importer seeds: {len(seeds)}")


if __name__ == "__main__":
    main()
