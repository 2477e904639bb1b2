"""aigif pack FIELDS.json -o FILE.aigif — the exact inverse of `aigif info`."""
from __future__ import annotations

import json
import sys

from .. import codec, jsonform
from ..errors import AigifError
from ..fsutil import atomic_write, read_regular
from ..registry import load
from ..safetext import printable
from .common import add_force, check_output

#: The JSON of the largest file (a §11 payload as base64) fits; a stream of zeros does not.
MAX_JSON = 1 << 30


def add_arguments(p):
    p.add_argument("fields", metavar="FIELDS.json", help="JSON fields ('-' for standard input)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.aigif", help="the file to write (refused if it exists, unless --force)")
    add_force(p)


def run(args) -> int:
    check_output(args.output, [args.fields], args.force)
    if args.fields == "-":
        raw = sys.stdin.buffer.read(MAX_JSON + 1)
        if len(raw) > MAX_JSON:
            raise AigifError("E_LIMIT", f"standard input: more than {MAX_JSON:,} bytes of JSON")
    else:
        raw = read_regular(args.fields, MAX_JSON, "fields JSON file")
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AigifError("E_FIELDS", f"not valid JSON: {exc}") from None
    except RecursionError:  # nested arrays 10^5 deep: no traceback (SPEC.md §16)
        raise AigifError("E_FIELDS", "not valid JSON: it nests too deeply") from None
    reg = load()
    data = codec.write(jsonform.from_json(d, reg), reg)
    atomic_write(args.output, data)
    print(printable(f"{args.output}: {len(data)} bytes"))
    return 0
