"""aigif-validate FILE...: exit 0 if all are valid, 1 if any is not, 2 on usage errors."""
from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..codec import read
from ..errors import AigifError
from ..registry import load
from ..safetext import json_text, printable
from .common import DefaultsFormatter, add_walk_options, expand, fail, guard_pipe, read_file


@guard_pipe
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aigif-validate", description="Validate AIGIF files against SPEC.md (parser/validator class).",
                                 formatter_class=DefaultsFormatter)
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    ap.add_argument("files", nargs="+", metavar="FILE", help="files, or directories searched recursively for *.aigif")
    ap.add_argument("--json", action="store_true", help="one JSON object per file on stdout: file, valid, record (complete or partial), "
                    "error {code, message, offset}")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only invalid files")
    add_walk_options(ap)
    args = ap.parse_args(argv)
    try:
        args.files = expand(args.files, follow_symlinks=args.follow_symlinks)
    except AigifError as usage:
        fail(usage)
        return 2
    reg = load()
    bad = 0
    for path in args.files:
        try:
            f = read(read_file(path), reg)
            err = None
        except AigifError as e:
            err = e
        except RecursionError:  # no input may produce a traceback (SPEC.md §16)
            err = AigifError("E_LIMIT", "input nests too deeply")
        except MemoryError:
            err = AigifError("E_LIMIT", "out of memory reading the file")
        bad += err is not None
        # Names and messages are escaped: a file name with a newline must not print a fake "valid" line.
        # SPEC.md §12.10: a partial record is valid, and says it cannot regenerate its image
        missing = None if err is not None else (f.extension_fields("partial") or {}).get("missing")
        if args.json:
            rec = {"file": path, "valid": err is None, "error": None if err is None else err.to_json()}
            if err is None:
                rec["record"] = "partial" if missing is not None else "complete"
            print(json_text(rec))
        elif err is not None:
            print(f"{printable(path)}: INVALID {printable(err)}")
        elif not args.quiet:
            kind = "" if missing is None else f"; partial record: {len(missing.splitlines())} setting(s) not expressed"
            print(f"{printable(path)}: valid ({printable(f.model)}, {f.width}x{f.height}, seed {f.seed}{kind})")
    if not args.json and len(args.files) > 1:
        print(f"{len(args.files) - bad} valid, {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
