"""Helpers shared by the command-line tools: reading files safely and
turning every failure into a one-line typed error."""
from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
from pathlib import Path

from ..container import MAX_BODY
from ..errors import AigifError

MAX_FILE = 4 + 10 + MAX_BODY + 4


def read_file(path: str, limit: int = MAX_FILE) -> bytes:
    """Read a whole file, refusing before allocation if it is larger than any
    valid AIGIF file can be."""
    try:
        size = os.stat(path).st_size
        if size > limit:
            raise AigifError("E_LIMIT", f"{size} bytes is larger than any AIGIF file can be")
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as exc:
        raise AigifError("E_IO", f"cannot read {path}: {exc.strerror or exc}") from None


def fail(err: AigifError, path: str | None = None, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps({"file": path, "valid": False, "error": err.to_json()}), file=sys.stderr)
    else:
        print(f"{path + ': ' if path else ''}{err}", file=sys.stderr)


def expand(paths: list[str], suffix: str = ".aigif") -> list[str]:
    """The paths as given, each directory replaced by the ``*.aigif`` files
    under it (recursively, sorted)."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(q) for q in Path(p).rglob("*") if q.suffix.lower() == suffix and q.is_file())
            if not found:
                raise AigifError("E_USAGE", f"{p}: a directory with no {suffix} file in it")
            out += found
        else:
            out.append(p)
    return out


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output(dest: str | os.PathLike, inputs: list[str], force: bool = False, suffix: str | None = None) -> None:
    """Refuse an output path that is one of the inputs, has the wrong
    extension, or already exists (unless ``force``), before any work is done."""
    for src in inputs:
        if src != "-" and same_file(dest, src):
            raise AigifError("E_USAGE", f"refusing to write {dest}: it is an input of this command (choose another -o)")
    if suffix is not None and Path(dest).suffix.lower() != suffix:
        raise AigifError("E_USAGE", f"{dest}: this command writes {suffix.lstrip('.').upper()}; name the output *{suffix}")
    if os.path.isdir(dest):
        raise AigifError("E_USAGE", f"{dest} is a directory; name a file")
    if os.path.lexists(dest) and not force:
        raise AigifError("E_USAGE", f"{dest} exists and would be overwritten; pass --force to replace it")


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
