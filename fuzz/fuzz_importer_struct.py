#!/usr/bin/env python3
"""atheris target (structure-aware): the tool readers of ``aigif.importers`` below the container level.

    python fuzz/fuzz_importer_struct.py --make-seeds
    nice -n 19 python fuzz/fuzz_importer_struct.py fuzz/corpus/importer_struct fuzz/corpus/importer_struct_seed \
        -runs=1000000 -max_len=2048 -timeout=60 -rss_limit_mb=2048 -artifact_prefix=fuzz/artifacts/importer_struct-

The input bytes are not an image: :class:`harness.Draw` turns them into the
text a container reader would have found (a ``RawMetadata`` of PNG text
items, ``build``), one tool's structure at a time:

* ComfyUI: a ``prompt`` graph (API format) as JSON, nodes with
  ``class_type`` and ``inputs``, inputs that are links ``[node id, slot]``
  or values, built from the node classes and input names the reader knows
  (KSampler, loaders, text encoders, latents, savers...): links to missing
  nodes and slots, cycles, self-links, chains thousands of nodes deep,
  huge numbers, values of the wrong type; sometimes a ``workflow`` too;
* A1111 infotext in ``parameters``: prompt, ``Negative prompt:``, and a
  parameter line of the keys the reader knows, quoted and unquoted values;
* InvokeAI ``invokeai_metadata`` / ``sd-metadata`` JSON and the ``Dream``
  command line; NovelAI ``Comment`` JSON with ``Software``; SwarmUI
  ``sui_image_params``; Fooocus JSON; other JSON ``parameters``; Draw
  Things' XMP ``UserComment``.

Keys, class names and values come from the readers' own string constants
(``_vocabulary``: every short string literal in the tool's module), so the
fuzzer reaches their branches without guessing names. The rest is
:class:`harness.Draw`'s arbitrary text and numbers.

Contract: that of ``fuzz_importer.py`` (``check_import``), on the readers'
dispatch (``aigif.importers._read``, what ``read_generation_bytes`` runs
after the container): a typed ``ImportFailure`` with an ``IMPORT_CODES``
code and ``internal`` false, or a generation that converts (``AigifError``
only), writes and reads back to the same bytes. ``RecursionError`` is what
``read_generation_bytes`` maps to ``E_IMPORT_MALFORMED``; every other
exception is a crash. ``-timeout`` bounds the time per input.

``python fuzz/fuzz_importer_struct.py --replay FILE...`` runs the checks
without atheris; ``--make-seeds`` writes ``fuzz/corpus/importer_struct_seed``.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import fuzz_importer
from harness import Draw

HERE = Path(__file__).resolve().parent
TOOLS = ("comfyui", "a1111", "invokeai_metadata", "sd-metadata", "Dream", "novelai", "swarmui", "fooocus",
         "webjson", "drawthings")
#: the modules whose string constants are each tool's vocabulary
MODULES = {"comfyui": ("comfyui/__init__.py", "comfyui/graph.py", "comfyui/walks.py", "comfyui/families.py"),
           "a1111": ("a1111.py",), "invokeai_metadata": ("invokeai.py",), "sd-metadata": ("invokeai.py",),
           "Dream": ("invokeai.py",), "novelai": ("novelai.py",), "swarmui": ("swarmui.py",),
           "fooocus": ("fooocus.py",), "webjson": ("webjson.py",), "drawthings": ("drawthings.py",)}
COMMON = ("samplers.py", "coerce.py", "convert.py")
#: Not instrumented (no coverage feedback, up to ~30x faster): convert and the writer (codec, sections,
#: wire, ...: fuzz_writer.py covers them; convert's model lookup walks the whole registry), the text
#: coders, and the prompt-syntax parsers (character loops) that convert runs. The contract still runs
#: them all; the feedback comes from the readers: every other aigif.importers module.
UNINSTRUMENTED = ("aigif.importers.convert", "aigif.codec", "aigif.sections", "aigif.jsonform", "aigif.text",
                  "aigif.wire", "aigif.fields", "aigif.core", "aigif.container", "aigif._fast", "aigif.registry",
                  "aigif.png", "aigif.conformance", "aigif.prompts")
#: ComfyUI nodes as the tools write them: class -> its inputs (a link is "L")
COMFY_TEMPLATES = {
    "KSampler": ("seed", "steps", "cfg", "sampler_name", "scheduler", "denoise", "model:L", "positive:L",
                 "negative:L", "latent_image:L"),
    "KSamplerAdvanced": ("noise_seed", "steps", "cfg", "sampler_name", "scheduler", "start_at_step",
                         "end_at_step", "add_noise", "return_with_leftover_noise", "model:L", "positive:L",
                         "negative:L", "latent_image:L"),
    "SamplerCustom": ("noise_seed", "cfg", "add_noise", "model:L", "positive:L", "negative:L", "sampler:L",
                      "sigmas:L", "latent_image:L"),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "CLIPTextEncode": ("text", "clip:L"),
    "CLIPTextEncodeSDXL": ("text_g", "text_l", "width", "height", "clip:L"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "VAEDecode": ("samples:L", "vae:L"),
    "VAELoader": ("vae_name",),
    "SaveImage": ("images:L", "filename_prefix"),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip", "model:L", "clip:L"),
    "CLIPSetLastLayer": ("stop_at_clip_layer", "clip:L"),
    "LatentUpscale": ("upscale_method", "width", "height", "samples:L"),
    "FluxGuidance": ("guidance", "conditioning:L"),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise", "model:L"),
    "ConditioningCombine": ("conditioning_1:L", "conditioning_2:L"),
    "LatentComposite": ("samples_to:L", "samples_from:L", "x", "y"),
    "PrimitiveNode": ("value",),
}
_INT_INPUTS = {"seed", "noise_seed", "steps", "width", "height", "batch_size", "start_at_step", "end_at_step",
               "stop_at_clip_layer", "x", "y", "seed_value"}
_FLOAT_INPUTS = {"cfg", "denoise", "strength_model", "strength_clip", "guidance"}
A1111_KEYS = ("Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "VAE",
              "VAE hash", "Denoising strength", "Clip skip", "ENSD", "RNG", "Emphasis", "Hires upscale",
              "Hires steps", "Hires upscaler", "Lora hashes", "TI hashes", "Version", "Variation seed",
              "Variation seed strength", "Seed resize from", "Civitai resources", "Template", "Pad conds")


def _vocabulary(files) -> tuple[str, ...]:
    """The short string literals of the importer modules ``files``: the keys, class names and values
    their readers look for."""
    root = Path(fuzz_importer.__file__).resolve().parent.parent / "reference" / "aigif" / "importers"
    try:
        import aigif.importers
        root = Path(aigif.importers.__file__).parent
    except ImportError:
        pass
    out = set()
    for name in files:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        out.update(n.value for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str) and 0 < len(n.value) <= 40)
    return tuple(sorted(out))


def _import():
    global _read, ImportFailure, E_IMPORT_MALFORMED, RawMetadata, TextItem, VOCAB
    fuzz_importer._import()
    from aigif.importers import _read
    from aigif.importers.containers import RawMetadata, TextItem
    from aigif.importers.errors import E_IMPORT_MALFORMED, ImportFailure
    common = _vocabulary(COMMON)
    VOCAB = {tool: _vocabulary(files) + common for tool, files in MODULES.items()}


class _Build:
    """One structured input: ``Draw`` plus the tool's vocabulary."""

    def __init__(self, d: Draw, tool: str):
        self.d, self.tool, self.vocab = d, tool, VOCAB[tool]

    def word(self) -> str:
        return self.d.pick(self.vocab) if not self.d.chance(1, 8) else self.d.text(64)

    def scalar(self, kind: str = ""):
        d = self.d
        if kind == "int" and not d.chance(1, 4):
            return d.uint(8) if d.chance(1, 4) else d.below(1001)
        if kind == "float" and not d.chance(1, 4):
            return d.uint(2) / 100
        mode = d.below(8)
        if mode < 3:
            return d.number()
        if mode < 6:
            return self.word()
        if mode == 6:
            return d.text(4096)
        return d.pick((True, False, None, "", "512x512", "Euler a", "karras", "1e999", "NaN"))

    def value(self, depth: int = 0):
        """A JSON value: mostly a scalar, sometimes a list or an object of the tool's keys; sometimes
        nested deep (what the JSON loader must refuse without a RecursionError escaping)."""
        d = self.d
        mode = d.below(16)
        if mode < 11 or depth > 3:
            return self.scalar()
        if mode < 13:
            return [self.value(depth + 1) for _ in range(d.below(4))]
        if mode < 15:
            return self.obj(depth + 1, d.below(5))
        n = d.pick((50, 500, 999, 1000, 1001, 5000, 100_000))
        inner = self.scalar()
        return json.loads("[" * n + json.dumps(inner) + "]" * n) if n <= 900 else _Deep(n, inner)

    def obj(self, depth: int = 0, n: int | None = None) -> dict:
        d = self.d
        n = d.below(6) if n is None else n
        return {self.word(): self.value(depth) for _ in range(n)}

    # ---------------------------------------------------------------- tools
    def comfy_graph(self) -> dict:
        d = self.d
        mode = d.below(64)  # 1 in 64: a chain up to the node limit (10,000: seconds), and past it
        n = 1 + d.below(12) if mode < 63 else d.pick((50, 200, 1000, 2000, 10_000, 10_001))
        ids = [str(i + 1) for i in range(n)] if not d.chance(1, 8) else [self.word() for _ in range(n)]
        nodes: dict = {}
        for i, nid in enumerate(ids):
            if i == 0 and not d.chance(2):
                nodes[nid] = self.comfy_node(ids, "KSampler")
                continue
            if mode == 63 and i > 12:  # a long chain: each node's input is the node before it (deep walks)
                ct = d.pick(("LoraLoader", "LatentUpscale", "ConditioningCombine", "VAEDecode", "KSampler"))
                nodes[nid] = {"class_type": ct, "inputs": {k.split(":")[0]: [ids[i - 1], 0]
                                                           for k in COMFY_TEMPLATES[ct] if k.endswith(":L")}}
                continue
            nodes[nid] = self.comfy_node(ids)
        if d.chance(1, 8):  # not a node: a wrong type where a node should be
            nodes[self.word()] = self.value()
        return nodes

    def comfy_node(self, ids: list[str], ct: str | None = None):
        d = self.d
        if ct is not None or d.chance(5):
            ct = ct or d.pick(tuple(COMFY_TEMPLATES))
            names = list(COMFY_TEMPLATES[ct])
        else:
            ct = self.word()
            names = [self.word() + (":L" if d.chance(1, 2) else "") for _ in range(d.below(6))]
        inputs = {}
        for name in names:
            if d.chance(1, 16):
                continue
            key, link = name.split(":")[0] if ":" in name else name, name.endswith(":L")
            if link and not d.chance(1, 8) or d.chance(1, 16):
                target = d.pick(ids) if not d.chance(1, 16) else self.word()
                slot = d.below(4) if not d.chance(1, 16) else self.scalar()
                inputs[key] = [target, slot] if not d.chance(1, 32) else [target]
            else:
                inputs[key] = self.scalar("int" if key in _INT_INPUTS else "float" if key in _FLOAT_INPUTS else "")
        node = {"class_type": ct if not d.chance(1, 32) else self.scalar(), "inputs": inputs}
        if d.chance(1, 8):
            node["_meta"] = {"title": self.d.text(32)}
        return node

    def a1111(self) -> str:
        d = self.d
        lines = [d.text(2048)]
        if not d.chance(2):
            lines.append("Negative prompt: " + d.text(1024))
        params = [f"Seed: {self.scalar('int')}"] if not d.chance(1) else []
        for _ in range(d.below(12)):
            key = d.pick(A1111_KEYS) if not d.chance(2) else self.word()
            v = self.scalar("int" if key in ("Steps", "Seed", "Clip skip", "ENSD") else
                            "float" if key in ("CFG scale", "Denoising strength") else "")
            if key == "Size" and not d.chance(1, 4):
                v = f"{d.below(20000)}x{d.below(20000)}"
            v = str(v)
            if d.chance(1, 4):  # quoted, with A1111's escapes
                v = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            params.append(f"{key}: {v}")
        lines.append(", ".join(params))
        if d.chance(1, 8):
            lines.insert(d.below(len(lines) + 1), d.text(256))
        return "\n".join(lines)

    def dream(self) -> str:
        d = self.d
        opts = [f'"{d.text(256)}"'] + ([f"-S {self.scalar('int')}"] if not d.chance(1) else [])
        for _ in range(d.below(8)):
            flag = d.pick(("-s", "-S", "-W", "-H", "-C", "-A", "-f", "-I", "--steps", "--seed", "--cfg_scale",
                           "--sampler", "-U", "--hires_fix", self.word()))
            opts.append(f"{flag} {self.scalar('int')}" if not d.chance(2) else f"{flag}{self.word()}")
        return " ".join(opts)

    def record(self) -> dict:
        """A JSON object of the tool's keys, the usual generation keys set to plausible values."""
        d = self.d
        rec = self.obj()
        for key, kind in (("prompt", "str"), ("seed", "int"), ("steps", "int"), ("width", "int"),
                          ("height", "int"), ("cfg_scale", "float"), ("scale", "float"), ("uc", "str"),
                          ("sampler", "str"), ("model", "str"), ("negative_prompt", "str")):
            if (not d.chance(1)) if key in ("seed", "prompt", "width", "height") else d.chance(4):
                rec[key] = d.text(512) if kind == "str" else self.scalar(kind)
        return rec

    def items(self) -> list[tuple[str, str]]:
        d, tool = self.d, self.tool
        if tool == "comfyui":
            out = [("prompt", self.dumps(self.comfy_graph()))]
            if d.chance(1, 4):
                out.append(("workflow", self.dumps({"nodes": [self.obj(1, 3) for _ in range(d.below(4))]})))
            return out
        if tool == "a1111":
            return [("parameters", self.a1111())]
        if tool == "Dream":
            return [("Dream", self.dream())]
        if tool == "invokeai_metadata":
            return [("invokeai_metadata", self.dumps(self.record()))]
        if tool == "sd-metadata":
            rec = self.record()
            rec["image"] = self.record() if not d.chance(1) else self.value()
            out = [("sd-metadata", self.dumps(rec))]
            return out + [("Dream", self.dream())] if d.chance(1, 2) else out
        if tool == "novelai":
            out = [("Comment", self.dumps(self.record()))]
            if not d.chance(1, 8):
                out.append(("Software", "NovelAI"))
            return out + [("Description", d.text(512))] if d.chance(1, 2) else out
        if tool == "swarmui":
            return [("parameters", self.dumps({"sui_image_params": self.record(), **self.obj(1, d.below(3))}))]
        if tool == "fooocus":
            rec = self.record()
            rec[d.pick(("metadata_scheme", "full_prompt", "version"))] = d.pick(("fooocus", "a1111", "Fooocus v2.5.0"))
            out = [("parameters", self.dumps(rec))]
            return out + [("fooocus_scheme", "fooocus")] if d.chance(1, 2) else out
        if tool == "webjson":
            return [("parameters", self.dumps(self.record()))]
        rec = self.record()  # drawthings
        rec.update({"c": d.text(256), "seed_mode": self.scalar()} if d.chance(4) else {})
        return [("xmp:UserComment", self.dumps(rec)), ("xmp:CreatorTool", "Draw Things")]

    def dumps(self, obj) -> str:
        d = self.d
        deep: list[_Deep] = []

        def default(o):
            if isinstance(o, _Deep):
                deep.append(o)
                return f"__deep{len(deep) - 1}__"
            return str(o)
        text = json.dumps(obj, ensure_ascii=d.chance(1, 2), default=default)
        for i, o in enumerate(deep):
            text = text.replace(f'"__deep{i}__"', o.text(), 1)
        if d.chance(1, 32):  # cut short
            text = text[:d.below(len(text) + 1)]
        return text


class _Deep:
    """A list nested ``n`` deep, as JSON text only (a Python object that deep would not survive json.dumps)."""

    def __init__(self, n: int, inner):
        self.n, self.inner = n, inner

    def text(self) -> str:
        return "[" * self.n + json.dumps(self.inner, default=str) + "]" * self.n


def build(data: bytes):
    """The ``RawMetadata`` a container reader would have returned for this input."""
    d = Draw(data)
    tool = d.pick(TOOLS)
    b = _Build(d, tool)
    items = b.items()
    if d.chance(1, 8):  # another tool's text beside it: the dispatcher's order decides
        items += _Build(d, d.pick(TOOLS)).items()
    if d.chance(1, 16):
        items.append((b.word(), d.text(256)))
    size = None if d.chance(1, 16) else (d.below(20000), d.below(20000)) if d.chance(1, 8) else (512, 512)
    return RawMetadata("PNG", image_size=size, items=[TextItem(k, v, f"png:tEXt:{k}") for k, v in items])


def read_meta(meta):
    """The readers' dispatch on ``meta`` and the container's image size, as ``read_generation_bytes``
    does; a RecursionError is what its net reports as E_IMPORT_MALFORMED (its net, not a reader's)."""
    try:
        gen = _read(meta)
    except RecursionError:
        raise ImportFailure(E_IMPORT_MALFORMED, "metadata is nested too deeply") from None
    gen.image_size = meta.image_size  # as read_generation_bytes does: convert falls back on it
    return gen


def check(data: bytes) -> str:
    meta = build(data)
    return fuzz_importer.check_import(lambda: read_meta(meta))


def make_seeds() -> None:
    """Deterministic pseudo-random inputs, a few per tool and result."""
    from harness import hashed_seeds
    _import()
    out = HERE / "corpus" / "importer_struct_seed"
    seen = hashed_seeds(out, 3000, (32, 128, 512, 1024), check, lambda r: 6 if r.startswith("ok:") else 2,
                        prefix=lambda i: bytes([i % len(TOOLS)]), key=lambda i, r: f"{TOOLS[i % len(TOOLS)]}:{r}")
    print(f"importer_struct seeds: {len(list(out.iterdir()))}")
    print(seen)


if __name__ == "__main__":
    from harness import run  # fuzz/ is sys.path[0] when a target runs as a script
    run(_import, check, commands={"--make-seeds": make_seeds}, exclude=UNINSTRUMENTED)
