"""aigif verify FILE...: regenerate and compare with the digest and the pixel payload."""
from __future__ import annotations

import math

from .. import codec
from ..errors import AigifError
from .common import expand, read_file
from .regen_args import add_regen_options, regenerator


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="files, or directories searched recursively for *.aigif")
    add_regen_options(p)


def run(args) -> int:
    files = expand(args.files)
    from ..regen import pixels
    regen = regenerator(args)
    bad = 0
    for path in files:
        try:
            f = codec.read(read_file(path), regen.reg)
            if f.digest is None and f.pixels is None:
                raise AigifError("E_UNSUPPORTED", "the file has neither a digest nor a pixel payload to verify against")
            res = regen.render(f)
            parts = [f"fidelity {res.fidelity}"]
            ok = True
            if res.bit_exact is not None:
                parts.append("digest: bit-exact" if res.bit_exact else "digest: differs")
                ok &= res.bit_exact
            if f.pixels is not None:
                ref = regen.payload_pixels(f)
                p = pixels.psnr(res.pixels, ref)
                parts.append("payload PSNR: identical" if math.isinf(p) else f"payload PSNR: {p:.2f} dB")
                ok &= math.isinf(p)
            print(f"{path}: {'OK' if ok else 'MISMATCH'} ({'; '.join(parts)})")
            bad += not ok
        except AigifError as err:
            bad += 1
            print(f"{path}: {err}")
    return 1 if bad else 0
