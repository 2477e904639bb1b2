"""aigif encode --model KEY --prompt ... -o FILE.aigif [--png OUT.png]"""
from __future__ import annotations

import json

from ..errors import AigifError
from ..fsutil import atomic_write
from .regen_args import add_regen_options, regenerator


def add_arguments(p):
    p.add_argument("--model", required=True, help="registry model key (e.g. sd-1.5, tiny-sd1)")
    p.add_argument("--prompt", default="")
    p.add_argument("--negative-prompt", default="")
    p.add_argument("--height", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, help="family field 'steps'")
    p.add_argument("--guidance", type=float, help="family field 'guidance'")
    p.add_argument("--scheduler", help="registry scheduler key")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--noise", default="torch-cpu", help="noise source key (default torch-cpu, as diffusers)")
    p.add_argument("--field", action="append", metavar="NAME=VALUE", help="any other family field (VALUE parsed as JSON when it can be)")
    p.add_argument("--keep-pixels", action="store_true", help="embed the image as a lossless PNG payload")
    p.add_argument("--text-coder", help="force a text coder (default: the smallest)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.aigif")
    p.add_argument("--png", metavar="OUT.png", help="also write the generated image")
    add_regen_options(p)


def run(args) -> int:
    from ..regen import pixels
    from ..regen.encode import encode_fields
    fields = {}
    for name in ("steps", "guidance", "scheduler"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    for item in args.field or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise AigifError("E_USAGE", f"--field wants NAME=VALUE, got {item!r}")
        try:
            fields[k] = json.loads(v)
        except ValueError:
            fields[k] = v
    regen = regenerator(args)
    fam = regen.reg.family_of(args.model) if args.model in regen.reg.table("models") else None
    if fam is None:
        raise AigifError("E_UNKNOWN_ID", f"models has no entry {args.model!r}")
    size = regen.reg.table("models").by_key[args.model].get("sample_size") or 512
    d = {"model": args.model, "prompt": args.prompt, "negative_prompt": args.negative_prompt,
         "height": args.height or size, "width": args.width or size, "seed": args.seed,
         "dtype": args.dtype, "noise": args.noise, "fields": fields}
    image, data, f = encode_fields(d, regen, keep_pixels=args.keep_pixels, text_coder=args.text_coder)
    atomic_write(args.output, data)
    msg = f"{args.output}: {len(data)} bytes"
    if args.png:
        png = pixels.encode_png(pixels.canonical(image))
        atomic_write(args.png, png)
        msg += f"; {args.png}: {len(png)} bytes (PNG is {len(png) / len(data):.0f}× larger)"
    print(msg)
    return 0
