"""aigif info FILE... [--bits]"""
from __future__ import annotations

from .. import bits, codec, jsonform
from ..registry import load
from ..safetext import json_text, printable
from .common import add_walk_options, expand, read_file


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a file (its JSON is the input of `aigif pack`); several, or directories searched "
                        "recursively for *.aigif, print one JSON object mapping each path to its fields")
    p.add_argument("--bits", action="store_true", help="each field with its bit offset and raw bits")
    add_walk_options(p)


def run(args) -> int:
    reg = load()
    files = expand(args.files, follow_symlinks=args.follow_symlinks)
    many = len(files) > 1 or files != args.files
    out = {}
    for path in files:
        data = read_file(path)
        f = codec.read(data, reg)
        if args.bits:
            if many:
                print(f"== {printable(path)}")
            print(printable(bits.format_table(bits.bit_table(data, reg)), keep="\n"))
        else:
            out[path] = jsonform.to_json(f, reg)
    if not args.bits:
        # JSON escapes (the same value): no raw C1, bidi or undecodable bytes on a terminal (SPEC.md §16)
        print(json_text(out if many else out[files[0]], indent=2))
    return 0
