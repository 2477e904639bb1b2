"""aigif verify FILE...: regenerate and compare with the digest and the pixel payload."""
from __future__ import annotations

import math

from .. import codec
from ..errors import AigifError
from ..safetext import printable
from .common import add_walk_options, expand, read_file
from .regen_args import add_regen_options, regenerator


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="files, or directories searched recursively for *.aigif")
    add_walk_options(p)
    add_regen_options(p)


def run(args) -> int:
    files = expand(args.files, follow_symlinks=args.follow_symlinks)
    from ..regen import pixels
    regen = regenerator(args)
    bad = 0
    for path in files:
        try:
            f = codec.read(read_file(path), regen.reg)
            if f.digest is None and f.pixels is None:
                raise AigifError("E_UNSUPPORTED", "the file has neither a digest nor a pixel payload to verify against")
            partial = f.extension("partial") is not None
            res = regen.render(f, approximate=partial)  # a partial record: how far its recipe is from its pixels
            parts = [f"fidelity {res.fidelity}"]
            ok = not partial
            if res.bit_exact is not None:
                parts.append("digest: bit-exact" if res.bit_exact else "digest: differs")
                ok &= res.bit_exact
            if f.pixels is not None:
                ref = regen.payload_pixels(f)
                p = pixels.psnr(res.pixels, ref)
                parts.append("payload PSNR: identical" if math.isinf(p) else f"payload PSNR: {p:.2f} dB")
                ok &= math.isinf(p)
            status = "PARTIAL" if partial else ("OK" if ok else "MISMATCH")
            print(printable(f"{path}: {status} ({'; '.join(parts)})"))
            bad += not ok
        except AigifError as err:
            bad += 1
            print(printable(f"{path}: {err}"))
    return 1 if bad else 0
