"""Parse vectors: valid files and their fields as JSON (SPEC.md §17). Each is
checked as it is built: the reference reads it, it is canonical
(``write(read(b)) == b``), ``pack(info(b)) == b``, and its info JSON matches
``schemas/info.schema.json``."""
from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache

from aigif import codec, jsonform
from aigif.conformance.bitwriter import frame
from aigif.errors import AigifError
from aigif.file import Extension
from aigif.png import chunk

from .common import MAX_SIDE, REG, ROOT, TEXT_LIMIT, BuildError, Vectors, dumps, table
from .deflate import canonical_deflate, emit, greedy_parse, inflate_all
from .files import raw_of
from .fixtures import FAMILY_MODEL, SOFTWARE, all_sections, coder_available, ext, new, paper, png_rgb, tiny_safetensors, with_ext, with_model, with_pixels


@lru_cache(maxsize=1)
def _info_schema():
    from jsonschema import Draft202012Validator
    return Draft202012Validator(json.loads((ROOT / "schemas" / "info.schema.json").read_text()))


def add_parse(vs: Vectors, name: str, f, description: str) -> bytes:
    data = f if isinstance(f, bytes) else codec.write(f, REG)
    try:
        g = codec.read(data, REG)
    except AigifError as exc:
        raise BuildError(f"parse/{name}: the reference rejects it: {exc}") from None
    if codec.write(g, REG) != data:
        raise BuildError(f"parse/{name}: not canonical")
    fields = jsonform.to_json(g, REG)
    round_trip = json.loads(json.dumps(fields))
    if codec.write(jsonform.from_json(round_trip, REG), REG) != data:
        raise BuildError(f"parse/{name}: pack(info(b)) != b")
    errors = list(_info_schema().iter_errors(round_trip))
    if errors:
        raise BuildError(f"parse/{name}: info JSON does not match schemas/info.schema.json: {errors[0].message}")
    vs.add("parse", name, description, {"input": (f"{name}.aigif", data), "expected": (f"{name}.json", dumps(fields))})
    return data


# (value, label, why) of the guidance of sd-1.5
DEC_GUIDANCE = [
    (6.3, "6.3", "decimal form e=1, m=63: the double nearest 6.3"), (0.1, "0.1", "e=1, m=1"),
    (7.5, "7.5", "the SPEC.md §3.6 example"), (7.0, "7", "e=0, m=7"), (0.0, "0", "zero: e=0, m=0"),
    (12.25, "12.25", "e=2"), (2.675, "2.675", "e=3 (2.675 is not exactly representable)"),
    (0.000001, "0.000001", "e=6, m=1"), (99.999999, "99.999999", "e=6, m=99999999"),
    (1e-7, "1e-7", "binary form: needs e=7"),
    (3.0000000000000004, "3.0000000000000004", "binary form: no decimal with e<=6 rounds to it"),
    (0.30000000000000004, "0.30000000000000004", "binary form: 0.1+0.2"),
    (5e-324, "5e-324", "binary form: the smallest subnormal"),
    (math.nextafter(100.0, 0.0), "100-ulp", "binary form: the largest double below the maximum 100"),
    (-0.0, "negative-zero", "binary form: -0.0 has no decimal form; as IEEE 754 compares, it equals the minimum 0"),
]

# (tag, body, what) of unknown ignorable extensions
UNKNOWN_IGNORABLE = [
    (0, b"zero", "tag 0"), (6, b"\x00\xff", "tag 6 (unregistered, even)"), (64, b"private", "private tag 64"),
    (126, b"private", "private tag 126"), (128, b"two-byte tag", "tag 128 (a 2-byte uvarint)"),
    (2**64 - 2, b"largest", "tag 2^64-2 (the largest even tag, a 10-byte uvarint)"), (8, b"", "tag 8 with an empty body"),
]


def non_default(e: dict) -> dict:
    """Values for every field of a registered extension, none at its default:
    strings get text, numbers their maximum, refs the last entry of their
    table, except a ref that another field's ``when`` rule names, which gets
    the first value that rule allows (so the other field may leave its default)."""
    vals: dict = {}
    gates = {x["when"]["field"]: x["when"]["in"][0] for x in e["fields"] if x.get("when")}
    for x in e["fields"]:
        if x["name"] in gates:
            vals[x["name"]] = gates[x["name"]]
        elif x["type"] == "str":
            vals[x["name"]] = SOFTWARE.get(x["name"], f"{x['name']} value")
        elif x["type"] == "uint":
            vals[x["name"]] = x["max"]
        elif x["type"] == "ref":
            vals[x["name"]] = table(x["table"]).entries[-1]["key"]
        elif x["type"] == "dec":  # the resources extension's weights
            vals[x["name"]] = x["max"]
        elif x["type"] == "bytes":  # the resources extension's hashes, at their longest
            vals[x["name"]] = bytes(range(x["max_len"]))
        else:
            raise BuildError(f"extension {e['key']}: no sample value for a {x['type']} field")
    return vals


def build_resources_parse(P) -> None:
    """The resources extension (tag 11, SPEC.md §12.11): slots in order, the rest unused."""
    from aigif.regen.resources import Resource, extension

    def R(*res):
        return with_ext(new(), [extension(list(res), REG)])
    lora = Resource("lora", "detail-tweaker", tensors_sha256=bytes.fromhex("0123456789ab"), weight=0.8, te_weight=0.8)
    emb = Resource("embedding", "easynegative", sha256=bytes.fromhex("c74b4e810b"))
    vae = Resource("vae", "vae-ft-mse-840000-ema-pruned", sha256=bytes.fromhex("735e4c3a44"))
    full = Resource("lora", "full-hash", sha256=bytes(range(32)), weight=1.25, te_weight=0)
    P("resources-one-lora", R(lora), "resources: one LoRA by its A1111 'Lora hashes' hash (6 bytes of the tensor-data SHA-256), "
      "UNet and text encoder at 0.8; slots 2-8 unused", ["§6.2.3", "§12.11"])
    P("resources-lora-embedding-vae", R(lora, emb, vae), "resources: a LoRA, a textual-inversion embedding and a VAE (AutoV2 hashes)",
      ["§6.2.3", "§12.11"])
    P("resources-vae-only", R(vae), "resources: only a VAE override", ["§6.2.3", "§12.11"])
    P("resources-lora-weights-apart", R(full, Resource("lora", "slider", weight=-1.5, te_weight=0.1)),
      "resources: a LoRA by full SHA-256 with the text encoder at 0, a negative-weight LoRA without hashes", ["§3.6", "§12.11"])
    P("resources-8", R(*[Resource("lora" if k % 2 else "embedding", f"r{k}", sha256=bytes([k]) * 5) for k in range(8)]),
      "resources: 8 resources, every slot used (the limit)", ["§11", "§12.11"])


def build_parse(vs: Vectors) -> None:
    def P(name, f, description, spec):  # spec: the SPEC.md sections the vector exercises, named in its description
        return add_parse(vs, name, f, f"{description} ({', '.join(spec)})")

    P("paper-example", paper(), "the paper's example (Table II) with the deflate text coder", ["§2", "App. D"])
    P("paper-example-text-none", paper(text_coder="none"), "the paper's example with the none text coder", ["§7.2"])
    P("minimal-defaults", jsonform.new("sd-1.5", REG, height=8, width=8, seed=0, text_coder="none"),
      "smallest sd-1.5 file: 8x8, seed 0, empty strings, every default", ["§5"])
    P("all-sections", all_sections(),
      "every optional section at once: digest, extensions (registered and unknown), PNG payload, model payload", ["§6"])

    # ---- every model (unregistered ones with name and hash)
    for m in table("models").entries:
        key = m["key"]
        kw = {}
        if key.startswith("unregistered-"):
            kw["model_fields"] = {"weights_hash": "6ce0161689", "model_name": f"{key[13:]}_finetune_v2.safetensors"}
        P(f"model-{key}", new(key, **kw), f"model {key} (ID {m['id']}, family {m['family']})", ["§5", "§8"])
    P("unregistered-sd-hash-empty", new("unregistered-sd", model_fields={"weights_hash": "", "model_name": "unknown.ckpt"}),
      "unregistered model, hash unknown (0 bytes)", ["§5.3"])
    P("unregistered-sd-hash-32", new("unregistered-sd", model_fields={"weights_hash": hashlib.sha256(b"w").hexdigest(), "model_name": "w.safetensors"}),
      "unregistered model, full SHA-256 (32 bytes: the max_len limit)", ["§5.3", "§11"])
    P("unregistered-sd-name-empty", new("unregistered-sd", model_fields={"weights_hash": "0102030405", "model_name": ""}),
      "unregistered model with hash and no name", ["§5.3"])

    # ---- family fields at min and max, the strings of each family, sizes
    for fam_key, model in FAMILY_MODEL.items():
        fam = REG.families[fam_key]
        for end in ("min", "max"):
            fields = {"scheduler": "default"}
            for x in fam.fields:
                if x.type in ("uint", "dec"):
                    fields[x.name] = getattr(x, end) if x.type == "uint" else float(getattr(x, end))
            P(f"family-{fam_key}-{end}", new(model, fields=fields),
              f"family {fam_key}: every uint and dec field at its {end}imum", ["§3.5", "§3.6", "§5.2"])
        strs = [x.name for x in fam.fields if x.type == "str"]
        if strs:
            P(f"family-{fam_key}-strings", new(model, fields={s: f"{s} text ✓" for s in strs}),
              f"family {fam_key}: its string fields ({', '.join(strs)}) in the text block after the core strings", ["§7.1"])
        g = fam.size_multiple
        for tag, (h, w) in {"min": (g, g), "max": (MAX_SIDE, MAX_SIDE), "wide": (g, MAX_SIDE), "tall": (MAX_SIDE, g),
                            "odd-multiple": (3 * g, 5 * g), "units-of-64": (512, 768), "mixed-units": (64, 64 + g)}.items():
            P(f"size-{fam_key}-{tag}", new(model, height=h, width=w),
              f"family {fam_key} (size multiple {g}): height {h}, width {w}", ["§5", "§11"])

    # ---- every scheduler
    for s in table("schedulers").entries:
        model = "sd3-medium" if s["kind"] == "flow" else "sd-1.5"
        P(f"scheduler-{s['key']}", new(model, fields={"scheduler": s["key"]}),
          f"scheduler {s['key']} (ID {s['id']}, {s['kind']}) with {model}", ["§5.2", "§8"])
    P("scheduler-default-flow-family", new("sd3-medium", fields={"scheduler": "default"}),
      "scheduler default (kind any) in a flow family", ["§5.2"])

    # ---- platform: every device, GPU and CUDA version
    for d in table("devices").entries:
        P(f"device-{d['key']}", new(device=d["key"]), f"device {d['key']} (ID {d['id']})", ["§5.1"])
    for gpu in table("gpus").entries:
        P(f"gpu-{gpu['key']}", new(device="cuda", platform={"gpu": gpu["key"], "cuda": "cu124"}, noise="torch-cuda"),
          f"cuda device, GPU {gpu['key']} (ID {gpu['id']})", ["§5.1"])
    for cu in table("cuda_versions").entries:
        P(f"cuda-{cu['key']}", new(device="cuda", platform={"gpu": "rtx-4090", "cuda": cu["key"]}, noise="torch-cuda"),
          f"cuda device, CUDA version {cu['key']} (ID {cu['id']})", ["§5.1"])

    def top(t, ok=lambda e: True):
        return max((e for e in table(t).entries if ok(e)), key=lambda e: e["id"])["key"]
    top_model = top("models")
    kind = REG.family_of(top_model).raw["scheduler_kind"]
    P("platform-highest-ids",
      new(top_model, device="cuda", platform={"gpu": top("gpus"), "cuda": top("cuda_versions")},
          fields={"scheduler": top("schedulers", lambda e: e["kind"] in ("any", kind))},
          model_fields={x.name: x.default for x in REG.model_fields(top_model)}),
      "the highest registered ID of every referenced table at once (model, GPU, CUDA, scheduler)", ["§3.3", "§3.4", "§3.9"])

    # ---- dtypes, noise sources, text coders
    for d in table("dtypes").entries:
        P(f"dtype-{d['key']}", new(dtype=d["key"]), f"dtype {d['key']} (ID {d['id']})", ["§5"])
    for n in table("noise_sources").entries:
        P(f"noise-source-{n['key']}", new(noise=n["key"]), f"noise source {n['key']} (ID {n['id']})", ["§5", "§12.5"])
    for tc in table("text_coders").entries:
        key = tc["key"]
        if not coder_available(key):
            raise BuildError(f"text coder {key}: aigif.text.encode({key!r}, …) does not work in this build")
        P(f"text-coder-{key}", new(text_coder=key), f"text coder {key} (ID {tc['id']})", ["§7"])
        P(f"text-coder-{key}-empty", new(text_coder=key, prompt="", negative_prompt=""), f"text coder {key}, two empty strings", ["§7"])
        P(f"text-coder-{key}-unicode", new(text_coder=key, prompt="ein Bild: Kätzchen, 猫, 🐱", negative_prompt="ǅ\u0301"),
          f"text coder {key}, 2-, 3- and 4-byte UTF-8", ["§7"])
        if key not in ("none", "deflate"):
            P(f"text-coder-{key}-sdxl-strings", new("sdxl-base-1.0", text_coder=key, fields={"prompt_2": "oil painting", "negative_prompt_2": "photo"}),
              f"text coder {key}, four strings (sdxl)", ["§7"])

    # ---- pixel payloads, model payloads
    for pc in table("pixel_codecs").entries:
        if pc["key"] == "png":
            P("pixels-png-8x8", with_pixels(new(height=8, width=8), "png", png_rgb(8, 8)), "PNG pixel payload, 8x8 RGB", ["§6.3"])
            P("pixels-png-sd3-16x48", with_pixels(new("sd3-medium", height=16, width=48), "png", png_rgb(48, 16)),
              "PNG pixel payload, 48x16 RGB (width != height)", ["§6.3"])
            png_extra = png_rgb(8, 8)
            # (the comment names the builder's former name: it is part of the vector's bytes)
            png_extra = png_extra[:33] + chunk(b"tEXt", b"Comment\x00made by build_vectors") + png_extra[33:]
            P("pixels-png-ancillary-chunk", with_pixels(new(height=8, width=8), "png", png_extra),
              "PNG pixel payload with an ancillary chunk after IHDR", ["§6.3"])
        else:
            P(f"pixels-{pc['key']}-framing", with_pixels(new(height=8, width=8), pc["key"], f"{pc['key']} payload: opaque to a parser".encode()),
              f"pixel codec {pc['key']} (ID {pc['id']}): framing only (a parser does not decode it)", ["§6.3"])
    st = tiny_safetensors()
    for mc in table("model_compressors").entries:
        if mc["key"] == "none":
            P("model-payload-none", with_model(new(), "none", hashlib.sha256(st).digest(), st),
              "model payload, compressor none: a tiny safetensors file with its SHA-256", ["§6.4"])
        else:
            P(f"model-payload-{mc['key']}-framing", with_model(new(), mc["key"], hashlib.sha256(st).digest(), b"\x01compressed weights"),
              f"model compressor {mc['key']} (ID {mc['id']}): framing only", ["§6.4"])

    # ---- digests
    for n in (8, 16, 32):
        P(f"digest-{n}", new(digest=hashlib.sha256(b"pixels").hexdigest()[:2 * n]), f"verification digest of {n} bytes", ["§6.1"])

    # ---- extensions
    for e in REG.extensions.entries:  # every registered extension, every field away from its default
        P(f"extension-{e['key']}", with_ext(new(), [ext(e["tag"], **non_default(e))]),
          f"registered extension {e['key']} (tag {e['tag']}, {'critical' if e['critical'] else 'ignorable'})", ["§6.2.3"])
        if not e.get("not_all_default"):
            P(f"extension-{e['key']}-defaults", with_ext(new(), [ext(e["tag"])]),
              f"registered extension {e['key']} with every field at its default", ["§6.2"])
    for s_ in table("prompt_syntaxes").entries:  # every prompt syntax, and each a1111 setting at its maximum
        if s_["key"] != "plain":
            P(f"prompts-{s_['key']}", with_ext(new(), [ext(1, syntax=s_["key"])]),
              f"prompts extension: syntax {s_['key']} (ID {s_['id']})", ["§6.2.3", "§12.9"])
    P("prompts-a1111-all-set", with_ext(new(), [ext(1, syntax="a1111", emphasis=3, pad_conds=2)]),
      "prompts extension: a1111, emphasis None (3), pad_conds v0 (2): each field at its maximum", ["§6.2.3", "§12.9"])
    P("extension-source-a1111-settings", with_ext(new(), [ext(4, tool="automatic1111", settings='{"ENSD": 31337}')]),
      "extension source with JSON settings", ["§6.2.3"])
    P("extension-software-unicode", with_ext(new(), [ext(2, **{**SOFTWARE, "writer": "ツール 🐍 1.0"})]),
      "extension software with multi-byte UTF-8 in an inline str", ["§3.8", "§6.2"])
    build_resources_parse(P)
    for tag, body, what in UNKNOWN_IGNORABLE:
        P(f"extension-unknown-ignorable-{tag if tag < 2**63 else 'max'}", with_ext(new(), [Extension(tag, body)]),
          f"unknown ignorable extension, {what}: skipped, kept as raw bytes", ["§6.2", "§6.2.2"])
    P("extensions-known-and-unknown", with_ext(new(), [Extension(0, b"a"), ext(2, **SOFTWARE), ext(4, tool="x"), Extension(200, b"b")]),
      "registered and unknown ignorable extensions interleaved in tag order", ["§6.2"])
    exts = [ext(e["tag"], **(non_default(e) if e.get("not_all_default") else {})) for e in REG.extensions.entries]
    free = [t for t in range(0, 200, 2) if t not in REG.extensions.by_id][:32 - len(exts)]
    exts = sorted(exts + [Extension(t, bytes([t])) for t in free], key=lambda e: e.tag)
    P("extensions-32", with_ext(new(), exts), "32 extensions: the limit", ["§6.2", "§11"])

    # ---- seeds
    for s in (0, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1):
        P(f"seed-{s}", new(seed=s), f"seed {s}: the smallest width class that holds it", ["§3.7"])

    # ---- dec
    for x, label, why in DEC_GUIDANCE:
        P(f"dec-guidance-{label}", new(fields={"guidance": x}), f"guidance {x!r}: {why}", ["§3.6"])
    P("dec-flux-true-cfg-binary", new("flux.1-dev", fields={"guidance": 3.5, "true_cfg": 1.0000000000000002}),
      "a second dec field (flux true_cfg) in binary form", ["§3.6", "§5.2"])

    # ---- text block
    P("text-none-nul-and-controls", new(text_coder="none", prompt="a\x00b\tc\nd", negative_prompt="\u2028\ufeff"),
      "strings with NUL, tab, newline, U+2028 and U+FEFF (all valid UTF-8)", ["§7.1"])
    P("text-none-max-code-points", new(text_coder="none", prompt="\U0010ffff\uffff\ue000", negative_prompt="\u07ff\u0800"),
      "UTF-8 boundaries: U+10FFFF, U+FFFF, U+E000, U+07FF, U+0800", ["§1", "§7.1"])
    long = ("a red circle on a blue square, highly detailed, " * 2000).encode()
    for coder in ("none", "deflate"):
        P(f"text-{coder}-framed-limit", new(text_coder=coder, prompt=long[:TEXT_LIMIT - 4].decode(), negative_prompt=""),
          "framed text of exactly 65,536 bytes (the limit): a 65,532-byte prompt", ["§7.1", "§11"])
    P("text-prompt-framed-limit", new(text_coder="prompt", prompt=long[:TEXT_LIMIT - 4].decode(), negative_prompt=""),
      "prompt coder, framed text of exactly 65,536 bytes (the limit)", ["§7.1", "§7.4", "§11"])
    P("text-none-3-byte-length", new(text_coder="none", prompt="x" * 16384, negative_prompt="y"),
      "a 16,384-byte string: its length is a 3-byte uvarint", ["§3.2", "§7.1"])

    build_deflate_parse(vs)


# (name, prompt, the wrong encoder's knobs, what it tests): valid files whose
# canonical stream a wrong re-encoder gets wrong (so a decoder making that
# mistake rejects a valid file); each asserts that the mistake changes the bytes.
_SEG = b"0123456789abcdefghijklmnopqrstuvwxyz"
DEFLATE_PARSE = [
    ("deflate-equal-length-nearest", b"abcXabcYabc", dict(nearest=False),
     "two candidates of equal length: the nearest is chosen"),
    # each segment ends with a byte seen nowhere else, so every "qzj" starts a match: the best is the 34th
    ("deflate-candidate-limit-32", b"qzj!" + b"".join(b"qzj" + bytes([65 + k % 26, 0x30 + k]) for k in range(40)) + b"qzj!",
     dict(max_candidates=10**9), "more than 32 candidates: only the 32 nearest are considered"),
    ("deflate-window-32768", _SEG + bytes((i * 7 + i // 256) % 26 + 65 for i in range(32768 - len(_SEG) - 1)) + b"#" + _SEG,
     dict(window=32767), "a match at distance exactly 32,768 (the window) is used"),
    ("deflate-max-match-258", b"z" * 1000, dict(max_match=257),
     "a 1000-byte run: overlapping matches of the maximum length 258"),
    ("deflate-candidates-inside-matches", b"abcdefgh" + b"abcdefgh" + b"XX" + b"cdefghij" + b"YY" + b"efgh", dict(insert_all=False),
     "positions inside an earlier match are candidates too"),
]


def build_deflate_parse(vs: Vectors) -> None:
    for name, prompt, wrong, desc in DEFLATE_PARSE:
        framed = frame([prompt, b""])
        canon = canonical_deflate(framed)
        other = emit(greedy_parse(framed, **wrong))
        if other == canon or inflate_all(other) != framed:
            raise BuildError(f"parse/{name}: the wrong encoder ({wrong}) does not differ from the canonical one")
        f = paper(prompt=prompt.decode(), negative_prompt="")
        if codec.write(f, REG) != raw_of(f).copy(text=canon).bytes():
            raise BuildError(f"parse/{name}: canonical stream mismatch")
        add_parse(vs, name, f, f"deflate: {desc} (§7.3)")
