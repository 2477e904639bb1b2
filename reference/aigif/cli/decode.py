"""aigif decode FILE... -o OUT: regenerate images (one model load per batch)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import codec
from ..errors import AigifError
from ..fsutil import atomic_write
from .common import read_file
from .regen_args import add_regen_options, regenerator


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="PNG path (one file) or directory")
    p.add_argument("--use-payload", action="store_true", help="use the pixel payload instead of regenerating")
    add_regen_options(p)


def out_path(out: str, src: str, many: bool) -> Path:
    o = Path(out)
    if many or o.is_dir() or out.endswith(("/", "\\")):
        o.mkdir(parents=True, exist_ok=True)
        return o / (Path(src).stem + ".png")
    return o


def run(args) -> int:
    from ..regen import pixels
    regen = regenerator(args)
    many = len(args.files) > 1
    failed = 0
    for i, path in enumerate(args.files, 1):
        t = time.perf_counter()
        try:
            f = codec.read(read_file(path), regen.reg)
            from ..regen.platform import fidelity
            cls, why = fidelity(f, regen.platform)
            print(f"[{i}/{len(args.files)}] {path}: {f.model} {f.width}x{f.height}, {f.fields.get('steps', '?')} steps; "
                  f"expected fidelity: {cls} ({why})", file=sys.stderr)
            res = regen.render(f, args.use_payload)
            dest = out_path(args.output, path, many)
            atomic_write(dest, pixels.encode_png(res.pixels))
            check = "" if res.bit_exact is None else ("; digest matches: bit-exact" if res.bit_exact else "; digest DIFFERS: not bit-exact")
            print(f"{path} -> {dest} ({res.source}, {time.perf_counter() - t:.1f} s{check})")
        except AigifError as err:
            failed += 1
            print(f"{path}: {err}", file=sys.stderr)
    return 1 if failed else 0
