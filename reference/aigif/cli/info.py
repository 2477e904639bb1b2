"""aigif info FILE... [--bits]"""
from __future__ import annotations

import json

from .. import bits, codec, jsonform
from ..registry import load
from .common import expand, read_file


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a file (its JSON is the input of `aigif pack`); several, or directories searched "
                        "recursively for *.aigif, print one JSON object mapping each path to its fields")
    p.add_argument("--bits", action="store_true", help="each field with its bit offset and raw bits")


def run(args) -> int:
    reg = load()
    files = expand(args.files)
    many = len(files) > 1 or files != args.files
    out = {}
    for path in files:
        data = read_file(path)
        f = codec.read(data, reg)
        if args.bits:
            if many:
                print(f"== {path}")
            print(bits.format_table(bits.bit_table(data, reg)))
        else:
            out[path] = jsonform.to_json(f, reg)
    if not args.bits:
        print(json.dumps(out if many else out[files[0]], indent=2, ensure_ascii=False))
    return 0
