"""aigif-validate FILE...: exit 0 if all are valid, 1 if any is not, 2 on usage errors."""
from __future__ import annotations

import argparse
import json
import sys

from .. import __version__
from ..codec import read
from ..errors import AigifError
from ..registry import load
from .common import DefaultsFormatter, expand, fail, guard_pipe, read_file


@guard_pipe
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aigif-validate", description="Validate AIGIF files against SPEC.md (parser/validator class).",
                                 formatter_class=DefaultsFormatter)
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    ap.add_argument("files", nargs="+", metavar="FILE", help="files, or directories searched recursively for *.aigif")
    ap.add_argument("--json", action="store_true", help="one JSON object per file on stdout: file, valid, error {code, message, offset}")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only invalid files")
    args = ap.parse_args(argv)
    try:
        args.files = expand(args.files)
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
        bad += err is not None
        if args.json:
            print(json.dumps({"file": path, "valid": err is None, "error": None if err is None else err.to_json()}))
        elif err is not None:
            print(f"{path}: INVALID {err}")
        elif not args.quiet:
            print(f"{path}: valid ({f.model}, {f.width}x{f.height}, seed {f.seed})")
    if not args.json and len(args.files) > 1:
        print(f"{len(args.files) - bad} valid, {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
