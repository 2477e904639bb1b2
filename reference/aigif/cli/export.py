"""aigif export FILE... --format a1111: a file's settings in another tool's text."""
from __future__ import annotations

from .. import codec
from ..registry import load
from .common import expand, read_file


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="files, or directories searched recursively for *.aigif (several: each under a '== PATH' line)")
    p.add_argument("--format", choices=["a1111"], default="a1111", help="the tool whose text to print")


def run(args) -> int:
    from ..importers.a1111 import format_a1111
    from ..importers.convert import to_imported
    reg = load()
    files = expand(args.files)
    many = len(files) > 1 or files != args.files
    for path in files:
        f = codec.read(read_file(path), reg)
        if many:
            print(f"== {path}")
        print(format_a1111(to_imported(f, reg)))
    return 0
