"""aigif pack FIELDS.json -o FILE.aigif — the exact inverse of `aigif info`."""
from __future__ import annotations

import json
import sys

from .. import codec, jsonform
from ..errors import AigifError
from ..fsutil import atomic_write
from ..registry import load
from .common import add_force, check_output, read_file


def add_arguments(p):
    p.add_argument("fields", metavar="FIELDS.json", help="JSON fields ('-' for standard input)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.aigif", help="the file to write (refused if it exists, unless --force)")
    add_force(p)


def run(args) -> int:
    check_output(args.output, [args.fields], args.force)
    raw = sys.stdin.buffer.read() if args.fields == "-" else read_file(args.fields, 1 << 30)
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AigifError("E_FIELDS", f"not valid JSON: {exc}") from None
    reg = load()
    data = codec.write(jsonform.from_json(d, reg), reg)
    atomic_write(args.output, data)
    print(f"{args.output}: {len(data)} bytes")
    return 0
