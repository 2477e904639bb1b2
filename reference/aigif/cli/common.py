"""Helpers shared by the command-line tools: reading files safely and
turning every failure into a one-line typed error."""
from __future__ import annotations

import json
import os
import sys

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
