"""aigif info FILE [--bits]"""
from __future__ import annotations

import json

from .. import bits, codec, jsonform
from ..registry import load
from .common import read_file


def add_arguments(p):
    p.add_argument("file", metavar="FILE")
    p.add_argument("--bits", action="store_true", help="each field with its bit offset and raw bits")


def run(args) -> int:
    reg = load()
    data = read_file(args.file)
    f = codec.read(data, reg)
    if args.bits:
        print(bits.format_table(bits.bit_table(data, reg)))
    else:
        print(json.dumps(jsonform.to_json(f, reg), indent=2, ensure_ascii=False))
    return 0
