"""aigif encode-pixels FILE.aigif IMAGE -o OUT.aigif --codec diffc: give a file
a pixel payload (SPEC.md §6.3) in any implemented codec.

A command of its own rather than a flag of ``encode``/``convert``: the image
to store is often not the one the recipe regenerates (an edited image, a
screenshot of it), and the generative codecs need the file's own model,
which only a command that loads it provides.
"""
from __future__ import annotations

import io
import math
import os

from ..errors import AigifError
from ..safetext import printable
from .common import add_force, check_output, read_file
from .regen_args import add_regen_options

CODECS = ("diffc", "png", "test-linear")
MAX_IMAGE = 256 * 2**20  #: image file limit, bytes (the pixel payload's, SPEC.md §11)


def add_arguments(p):
    p.add_argument("file", metavar="FILE.aigif", help="the file whose pixel payload to set (its model encodes diffc)")
    p.add_argument("image", metavar="IMAGE", help="the image to store (PNG, WebP, …; the file's width × height)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.aigif", help="the file to write (FILE with the new payload)")
    p.add_argument("--codec", choices=CODECS, default="diffc", help="pixel codec")
    g = p.add_argument_group("diffc (SPEC.md Appendix H)")
    g.add_argument("--steps", type=int, default=8, help="coded steps (the UNet calls of the reverse-channel chain)")
    g.add_argument("--until", type=int, default=300, metavar="T", help="last coded timestep: lower is more bits, closer to the image")
    g.add_argument("--flow-steps", type=int, default=4, help="probability-flow (DDIM) steps of the final denoise")
    g.add_argument("--k-max", type=int, default=12, help="largest index width: 2**K candidates per chunk")
    g.add_argument("--step-bits", type=int, default=None, metavar="BITS", help="cap on the index bits of one step (the rate knob)")
    g.add_argument("--codec-seed", type=int, default=None, help="seed of the shared randomness (default: the file's seed)")
    g2 = p.add_argument_group("learned codecs (SPEC.md Appendix H.10)")
    g2.add_argument("--weights", metavar="FILE", help="the codec's weights (safetensors); test-linear only")
    g2.add_argument("--keep", type=int, default=6, help="test-linear: coefficients kept per 8×8 patch")
    g2.add_argument("--quant", type=int, default=16, help="test-linear: quantiser step")
    p.add_argument("--check", action="store_true", help="decode the new payload and print its PSNR against IMAGE")
    add_force(p)
    add_regen_options(p)


def read_image(path: str):
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    try:
        if not os.path.isfile(path):
            raise AigifError("E_IO", f"cannot read {path}: not a regular file")
        if os.path.getsize(path) > MAX_IMAGE:
            raise AigifError("E_LIMIT", f"{path} is larger than {MAX_IMAGE} bytes")
        with open(path, "rb") as fh:
            data = fh.read(MAX_IMAGE + 1)
    except OSError as exc:
        raise AigifError("E_IO", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > 16384 * 16384:
                raise AigifError("E_LIMIT", f"{path} is {im.width}×{im.height}, over 16384 × 16384")
            return np.ascontiguousarray(np.asarray(im.convert("RGB")), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AigifError("E_IO", f"{path}: not an image this tool reads ({type(exc).__name__})") from None


def run(args) -> int:
    from .. import codec
    from ..fsutil import atomic_write
    check_output(args.output, [args.file, args.image], args.force, suffix=".aigif")
    f = codec.read(read_file(args.file))
    img = read_image(args.image)
    regen = None
    if args.codec == "diffc" or args.check:
        from .regen_args import regenerator
        regen = regenerator(args)
    from ..pixelcodecs import encode_payload
    if args.codec == "diffc":
        seed = f.seed if args.codec_seed is None else args.codec_seed
        if not 0 <= seed < 2**64:
            raise AigifError("E_RANGE", f"--codec-seed {seed} outside 0 … 2^64 − 1")
        opts = dict(seed=seed, steps=args.steps, t_end=args.until, flow_steps=args.flow_steps, k_max=args.k_max,
                    max_step_bits=args.step_bits)
    elif args.codec == "test-linear":
        if not args.weights:
            raise AigifError("E_USAGE", "--codec test-linear needs --weights FILE")
        opts = dict(weights=args.weights, keep=args.keep, step=args.quant)
    else:
        opts = {}
    f.pixels = encode_payload(f, img, args.codec, regen, **opts)
    atomic_write(args.output, codec.write(f))
    line = f"{args.output}: pixel payload {args.codec}, {len(f.pixels.data)} bytes ({8 * len(f.pixels.data) / (f.width * f.height):.4f} bpp)"
    if args.check:
        from ..pixelcodecs import decode_payload
        from ..regen.pixels import psnr
        if args.codec == "png":
            from ..regen.pixels import decode_png
            out = decode_png(f.pixels.data, f.width, f.height)
        else:
            out = decode_payload(f, regen, weights_dirs=_weights_dirs(args, f) if args.codec == "test-linear" else None)
        p = psnr(img, out)
        line += "; PSNR " + ("identical" if math.isinf(p) else f"{p:.2f} dB")
    print(printable(line))
    return 0


def _weights_dirs(args, f) -> list[str]:
    from ..pixelcodecs.learned import read_slot, weights_entries
    sha = read_slot(f.pixels.data, f.width, f.height).weights_sha256
    return [f"{sha.hex()}={args.weights}", *weights_entries()]
