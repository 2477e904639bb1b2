"""aigif decode FILE... -o OUT: regenerate images (one model load per batch).

Exit status 0 when every image was regenerated and, where the file has a
digest, matches it bit for bit; 1 when any failed or differs from its
digest; 2 for usage errors (an output that is an input, that exists without
--force, or is not named *.png)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import codec
from ..errors import AigifError
from ..fsutil import atomic_write
from ..safetext import printable
from .common import add_force, add_walk_options, check_output, expand, read_file
from .regen_args import add_regen_options, regenerator

FILE_SUFFIXES = (".png", ".aigif", ".jpg", ".jpeg", ".webp")


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="files, or directories searched recursively for *.aigif")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="PNG path (one file) or directory")
    p.add_argument("--use-payload", action="store_true", help="use the pixel payload instead of regenerating")
    p.add_argument("--approximate", action="store_true",
                   help="regenerate a partial record anyway (its image is then an approximation, labelled so)")
    add_force(p)
    add_walk_options(p)
    add_regen_options(p)
    p.epilog = ("exit status: 0 when every image was regenerated and matches its digest (where the file has one); "
                "1 when any failed or does not match its digest; 2 for usage errors")


def out_path(out: str, src: str, many: bool) -> Path:
    o = Path(out)
    if many or o.is_dir() or out.endswith(("/", "\\")):
        return o / (Path(src).stem + ".png")
    return o


def plan(out: str, files: list[str], force: bool) -> list[Path]:
    """The output path of each input, checked before any model loads."""
    o = Path(out)
    many = len(files) > 1
    as_dir = many or o.is_dir() or out.endswith(("/", "\\"))
    if as_dir and o.exists() and not o.is_dir():
        raise AigifError("E_USAGE", f"{out} is a file, but {len(files)} images need a directory")
    if as_dir and not o.exists() and o.suffix.lower() in FILE_SUFFIXES:
        raise AigifError("E_USAGE", f"-o {out}: {len(files)} inputs need an output directory, not a {o.suffix} file name")
    dests = [out_path(out, src, many) for src in files]
    seen: dict[Path, str] = {}
    for src, d in zip(files, dests):
        if d in seen:
            raise AigifError("E_USAGE", f"{seen[d]} and {src} would both be written to {d}; decode them separately")
        seen[d] = src
        check_output(d, files, force, ".png", make_parents=True)
    return dests


def run(args) -> int:
    files = expand(args.files, follow_symlinks=args.follow_symlinks)
    dests = plan(args.output, files, args.force)
    from ..regen import pixels
    regen = regenerator(args)
    failed = 0
    last_fidelity: tuple[str, str] | None = None
    for i, (path, dest) in enumerate(zip(files, dests), 1):
        t = time.perf_counter()
        try:
            f = codec.read(read_file(path), regen.reg)
            from ..regen.platform import fidelity
            cls, why = fidelity(f, regen.platform)
            # the fidelity line once per batch, again only when it changes
            said = "" if (cls, why) == last_fidelity else f"; expected fidelity: {cls} ({why})"
            last_fidelity = (cls, why)
            # Everything printed is escaped: names and the file's strings are attacker-chosen (SPEC.md §16).
            print(printable(f"[{i}/{len(files)}] {path}: {f.model} {f.width}x{f.height}, {f.fields.get('steps', '?')} steps{said}"),
                  file=sys.stderr)
            if args.use_payload and f.pixels is None:
                print(printable(f"{path}: --use-payload: the file has no pixel payload; regenerating it"), file=sys.stderr)
            res = regen.render(f, args.use_payload, approximate=args.approximate)
            if res.fidelity == "partial" or "partial record" in res.reason:
                print(printable(f"{path}: {res.reason}"), file=sys.stderr)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AigifError("E_IO", f"cannot create {dest.parent}: {exc.strerror or exc}") from None
            atomic_write(dest, pixels.encode_png(res.pixels))
            check = "" if res.bit_exact is None else ("; digest matches: bit-exact" if res.bit_exact else "; digest DIFFERS: not bit-exact")
            print(printable(f"{path} -> {dest} ({res.source}, {time.perf_counter() - t:.1f} s{check})"))
            if res.bit_exact is False:
                failed += 1
                print(printable(f"{path}: the regenerated image does not match the file's digest"), file=sys.stderr)
        except AigifError as err:
            failed += 1
            print(printable(f"{path}: {err}"), file=sys.stderr)
    return 1 if failed else 0
