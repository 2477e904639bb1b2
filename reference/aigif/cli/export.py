"""aigif export FILE... --format a1111: a file's settings in another tool's text.

The text is data to paste into the tool, so its newlines and tabs (a prompt
may have several lines) are printed as they are; every other control
character (ESC, C1, DEL, CR, bidirectional controls) is escaped (``\\x1b``,
``\\u202e``): no prompt legitimately holds one, and printed raw it would
drive the terminal (SPEC.md §16). Names and warnings are escaped fully.
"""
from __future__ import annotations

import sys

from .. import codec
from ..registry import load
from ..safetext import printable
from .common import add_walk_options, expand, read_file


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="files, or directories searched recursively for *.aigif (several: each under a '== PATH' line)")
    p.add_argument("--format", choices=["a1111"], default="a1111", help="the tool whose text to print")
    add_walk_options(p)


def run(args) -> int:
    from ..importers.a1111 import format_a1111
    from ..importers.convert import to_imported
    reg = load()
    files = expand(args.files, follow_symlinks=args.follow_symlinks)
    many = len(files) > 1 or files != args.files
    for path in files:
        f = codec.read(read_file(path), reg)
        if many:
            print(f"== {printable(path)}")
        gen = to_imported(f, reg)
        print(printable(format_a1111(gen), keep="\n\t"))
        for warning in gen.lost:  # what A1111 would read differently from the file
            print(printable(f"aigif export: {path}: {warning}"), file=sys.stderr)
    return 0
