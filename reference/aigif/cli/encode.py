"""aigif encode --model KEY --prompt ... -o FILE.aigif [--png OUT.png]"""
from __future__ import annotations

import json
import os

from ..errors import AigifError
from ..fsutil import atomic_write
from ..prompts.a1111 import EMPHASIS_KEYS
from ..regen.encode import SOFTWARE_LEVELS
from ..safetext import printable
from .common import add_force, check_output, did_you_mean
from .regen_args import add_regen_options, check_device, regenerator


def add_arguments(p):
    p.add_argument("--model", required=True, help="registry model key (e.g. sd-1.5, tiny-sd1); see `aigif list models`")
    p.add_argument("--prompt", default="", help="the prompt")
    p.add_argument("--negative-prompt", default="", help="the negative prompt")
    p.add_argument("--height", type=int, help="image height (default: the model's sample size)")
    p.add_argument("--width", type=int, help="image width (default: the model's sample size)")
    p.add_argument("--seed", type=int, default=0, help="the noise seed")
    p.add_argument("--steps", type=int, help="family field 'steps' (default: the family's)")
    p.add_argument("--guidance", type=float, help="family field 'guidance' (default: the family's)")
    p.add_argument("--scheduler", help="registry scheduler key (see `aigif list schedulers`) or an A1111/ComfyUI sampler name such as 'Euler a'")
    p.add_argument("--dtype", default="float32", help="registry dtype key")
    p.add_argument("--noise", default="torch-cpu", help="noise source key (as diffusers)")
    p.add_argument("--prompt-syntax", default="plain", metavar="SYNTAX",
                   help="how the prompts are read: plain (as diffusers), a1111, comfyui, compel; see `aigif list prompt-syntaxes`")
    p.add_argument("--emphasis", default="original", choices=EMPHASIS_KEYS,
                   help="a1111 only: AUTOMATIC1111's Emphasis setting")
    p.add_argument("--field", action="append", metavar="NAME=VALUE", help="any other family field (VALUE parsed as JSON when it can be)")
    p.add_argument("--keep-pixels", action="store_true", help="embed the image as a lossless PNG payload")
    p.add_argument("--text-coder", help="force a text coder (default: the smallest)")
    p.add_argument("--software", default="compact", choices=list(SOFTWARE_LEVELS),
                   help="software versions to record: compact = what a verifier compares (torch, diffusers, transformers, "
                        "CPU kernels), full = also the writer, none = none (then no bit-exact promise) (default: %(default)s)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.aigif", help="the file to write (refused if it exists, unless --force)")
    p.add_argument("--png", metavar="OUT.png", help="also write the generated image")
    add_force(p)
    add_regen_options(p)


def resolve_scheduler(name: str, reg) -> str:
    """A registry scheduler key, from the key itself or a tool's sampler name
    (A1111 "Euler a", "DPM++ 2M Karras"; ComfyUI "euler_ancestral")."""
    table = reg.table("schedulers")
    if name in table.by_key:
        return name
    from ..importers import samplers
    for tool in ("AUTOMATIC1111", "ComfyUI", "InvokeAI", "NovelAI"):
        try:
            key = samplers.registry_key(samplers.resolve(tool, name, None, reg), reg)
        except (samplers.UnknownSamplerName, KeyError, ValueError):
            continue
        if key is not None:
            return key
    by_name = {e.get("name", "").lower(): e["key"] for e in table.entries}
    if name.lower() in by_name:
        return by_name[name.lower()]
    raise AigifError("E_USAGE", f"--scheduler: no scheduler {name!r}" +
                     (did_you_mean(name, list(table.by_key) + [e.get("name", "") for e in table.entries])
                      or "; see `aigif list schedulers`"))


def prompt_extension(syntax: str, emphasis: str, reg) -> list[dict]:
    """The `prompts` extension (JSON form) for a syntax; none for plain read plainly."""
    table = reg.table("prompt_syntaxes")
    if syntax not in table.by_key:
        raise AigifError("E_USAGE", f"--prompt-syntax: no syntax {syntax!r}{did_you_mean(syntax, table.by_key)}; "
                         f"the registry has {', '.join(table.by_key)}")
    if syntax != "a1111" and emphasis != "original":
        raise AigifError("E_USAGE", "--emphasis applies to --prompt-syntax a1111 only")
    fields = {"syntax": syntax, "emphasis": EMPHASIS_KEYS.index(emphasis), "pad_conds": 0}
    if syntax == "plain":
        return []
    entry = reg.extensions.entry("prompts")
    return [{"tag": entry["tag"], "critical": True, "key": "prompts", "fields": fields}]


def family_fields(model: str, reg) -> dict:
    if model not in reg.table("models").by_key:
        raise AigifError("E_USAGE", f"--model: no model {model!r}" +
                         (did_you_mean(model, reg.table("models").by_key) or "; see `aigif list models`"))
    return {f.name: f for f in reg.family_of(model).fields}


def run(args) -> int:
    from ..registry import load
    reg = load()
    known = family_fields(args.model, reg)
    fields = {}
    for name in ("steps", "guidance", "scheduler"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    for item in args.field or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise AigifError("E_USAGE", f"--field wants NAME=VALUE, got {item!r}")
        if k not in known:
            raise AigifError("E_USAGE", f"--field {k}: model {args.model} has no field {k!r}{did_you_mean(k, known)}; "
                             f"its fields are {', '.join(known)}")
        try:
            fields[k] = json.loads(v)
        except ValueError:
            fields[k] = v
    if isinstance(fields.get("scheduler"), str):
        fields["scheduler"] = resolve_scheduler(fields["scheduler"], reg)
    ext = prompt_extension(args.prompt_syntax, args.emphasis, reg)
    if args.threads != 1 and args.device != "cuda":
        # the thread count changes a CPU image, and a file does not record it: its digest would hold for no decoder
        raise AigifError("E_USAGE", f"--threads {args.threads}: a CPU encode runs with 1 thread, as every decoder "
                                    "regenerates (SPEC.md §12.4); more threads make an image that its digest cannot promise")
    check_output(args.output, [], args.force)
    if args.png:
        if os.path.abspath(args.png) == os.path.abspath(args.output):
            raise AigifError("E_USAGE", f"-o and --png both name {args.output}; give the image its own *.png name")
        check_output(args.png, [], args.force, ".png")
    check_device(args.device)
    regen = regenerator(args)
    size = regen.reg.table("models").by_key[args.model].get("sample_size") or 512
    d = {"model": args.model, "prompt": args.prompt, "negative_prompt": args.negative_prompt,
         "height": args.height or size, "width": args.width or size, "seed": args.seed,
         "dtype": args.dtype, "noise": args.noise, "fields": fields, "extensions": ext}
    from ..regen import pixels
    from ..regen.encode import encode_fields
    image, data, f = encode_fields(d, regen, keep_pixels=args.keep_pixels, text_coder=args.text_coder, software=args.software)
    atomic_write(args.output, data)
    msg = f"{args.output}: {len(data)} bytes"
    if args.png:
        png = pixels.encode_png(pixels.canonical(image))
        atomic_write(args.png, png)
        msg += f"; {args.png}: {len(png)} bytes (PNG is {len(png) / len(data):.0f}× larger)"
    print(printable(msg))  # the paths are the user's, but may not be UTF-8
    return 0
