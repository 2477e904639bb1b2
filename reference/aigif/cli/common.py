"""Helpers shared by the command-line tools: reading files safely and
turning every failure into a one-line typed error."""
from __future__ import annotations

import argparse
import difflib
import functools
import os
import sys
from pathlib import Path

from ..container import MAGIC, MAX_BODY, VERSION
from ..errors import AigifError
from ..fsutil import iter_walk, open_regular, read_exact
from ..safetext import json_text, printable
from ..wire import read_uvarint

MAX_FILE = 4 + 10 + MAX_BODY + 4


def read_file(path: str, limit: int = MAX_FILE) -> bytes:
    """The bytes of an AIGIF file, read so that no input costs more than its
    own valid size (SPEC.md §16): only a regular file (a FIFO, device or
    directory is E_IO, and opening never blocks); the first 14 bytes first,
    and when they are not a valid header they are all that is read (the
    parser reports the same error for them as for the whole file); when the
    header's body length does not match the file's size, the §9 step 4 error
    without reading further; else exactly header + L + 4 bytes."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        head = read_exact(fd, HEADER_MAX)
        total = _declared_total(head)
        if total is None:
            return head
        if size < total:  # the messages and offsets of container.Body
            raise AigifError("E_TRUNCATED", f"file has {size} bytes; its header says {total}", offset=size)
        if size > total:
            raise AigifError("E_TRAILING_DATA", f"{size - total} bytes after the end of the file", offset=total)
        if total > limit:
            raise AigifError("E_LIMIT", f"{total} bytes is larger than this command reads ({limit})")
        os.lseek(fd, 0, os.SEEK_SET)
        data = read_exact(fd, total)  # one allocation of the file's own size
        if len(data) != total or os.read(fd, 1):
            raise AigifError("E_IO", f"cannot read {path}: it changed while it was read")
        return data
    finally:
        os.close(fd)


HEADER_MAX = 4 + 10  # magic, version, the longest uvarint


def _declared_total(head: bytes) -> int | None:
    """header + L + 4 when ``head`` starts with a valid header (SPEC.md §4),
    else None: the parser's own error then lies within these bytes."""
    if head[:4] != MAGIC + bytes([VERSION]):
        return None
    try:
        n, pos = read_uvarint(head, 4, len(head), truncated_code="E_TRUNCATED")
    except AigifError:
        return None
    return pos + n + 4 if 1 <= n <= MAX_BODY else None


def fail(err: AigifError, path: str | None = None, as_json: bool = False) -> None:
    if as_json:
        print(json_text({"file": path, "valid": False, "error": err.to_json()}), file=sys.stderr)
    else:
        print(printable(f"{path + ': ' if path else ''}{err}"), file=sys.stderr)


def walk(root: str, suffixes: set[str] | frozenset[str], follow_symlinks: bool = False,
         report_other: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """(files found, [(path, why left out)]) under directory ``root``: :func:`aigif.fsutil.iter_walk`, collected."""
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path, why in iter_walk(root, suffixes, follow_symlinks, report_other):
        if why is None:
            found.append(path)
        else:
            skipped.append((path, why))
    return found, skipped


def expand(paths: list[str], suffix: str = ".aigif", follow_symlinks: bool = False) -> list[str]:
    """The paths as given, each directory replaced by the ``*.aigif`` files
    under it (recursively, sorted; symlinks as :func:`walk` says, each file
    left out named on stderr)."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found, skipped = walk(p, {suffix}, follow_symlinks)
            for path, why in skipped:
                print(printable(f"{path}: skipped ({why})"), file=sys.stderr)
            if not found:
                raise AigifError("E_USAGE", f"{p}: a directory with no {suffix} file in it")
            out += found
        else:
            out.append(p)
    return out


def add_walk_options(p) -> None:
    p.add_argument("--follow-symlinks", action="store_true",
                   help="in directories, also follow symlinks that lead out of them and symlinked directories")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output(dest: str | os.PathLike, inputs: list[str], force: bool = False, suffix: str | None = None,
                 make_parents: bool = False) -> None:
    """Refuse an output path that is one of the inputs, has the wrong
    extension, already exists (unless ``force``) or has no directory to go
    in (``make_parents``: one the command will create), before any work is done."""
    for src in inputs:
        if src != "-" and same_file(dest, src):
            raise AigifError("E_USAGE", f"refusing to write {dest}: it is an input of this command (choose another -o)")
    if suffix is not None and Path(dest).suffix.lower() != suffix:
        raise AigifError("E_USAGE", f"{dest}: this command writes {suffix.lstrip('.').upper()}; name the output *{suffix}")
    if os.path.isdir(dest):
        raise AigifError("E_USAGE", f"{dest} is a directory; name a file")
    if os.path.lexists(dest) and not force:
        raise AigifError("E_USAGE", f"{dest} exists and would be overwritten; pass --force to replace it")
    parent = os.path.dirname(os.path.abspath(dest))
    if make_parents:
        while not os.path.lexists(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)  # the nearest part that exists must be a directory
    if not os.path.isdir(parent):
        what = "does not exist" if not os.path.lexists(parent) else "is not a directory"
        raise AigifError("E_USAGE", f"cannot write {dest}: {parent} {what}")


def add_force(p) -> None:
    p.add_argument("--force", action="store_true", help="overwrite outputs that already exist")


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def exit_code(err: AigifError) -> int:
    """2 for usage errors (as argparse), 1 for everything else."""
    return 2 if err.code == "E_USAGE" else 1


def guard_pipe(main):
    """Wrap a command's ``main``: a reader that leaves (``aigif-validate … |
    head``) ends the command quietly, with no BrokenPipeError traceback."""
    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            rc = main(argv)
            sys.stdout.flush()
            return rc
        except BrokenPipeError:
            # Python flushes stdout again at exit: point it at devnull so that fails no more.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 0
    return wrapped


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default, except flags (off by default)
    and options whose help already names it."""

    def _get_help_string(self, action):
        h = action.help or ""
        if action.default in (None, "") or isinstance(action.default, bool) or "default" in h:
            return h
        return super()._get_help_string(action)
