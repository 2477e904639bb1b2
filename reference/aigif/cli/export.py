"""aigif export FILE --format a1111: a file's settings in another tool's text."""
from __future__ import annotations

from .. import codec
from ..registry import load
from .common import read_file


def add_arguments(p):
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["a1111"], default="a1111")


def run(args) -> int:
    from ..importers.a1111 import format_a1111
    from ..importers.convert import to_imported
    reg = load()
    f = codec.read(read_file(args.file), reg)
    print(format_a1111(to_imported(f, reg)))
    return 0
