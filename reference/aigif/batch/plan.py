"""What a batch works on: inputs, their outputs, and what a re-run skips.

Outputs mirror each input's path relative to its directory argument (or, for
files and manifest lines, to the directory they have in common) under OUTDIR,
so ``a/x.png`` and ``b/x.png`` never meet; two inputs that would still share
an output (two directory arguments with the same tree, names that differ only
in case) are refused before any work. ``convert`` names its outputs exactly as
``aigif convert`` does (it calls the same function).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AigifError
from . import E_BATCH_WORKER_LOST

IN_SUFFIX = {"validate": {".aigif"}, "decode": {".aigif"}, "verify": {".aigif"}}
OUT_SUFFIX = {"decode": ".png"}
OPS_WITH_OUTPUT = ("convert", "decode")
# Statuses that are a result (the file was judged); a "failed" row is final
# too, except for these codes: a lost worker or an I/O error may not recur.
FINAL = {"ok", "invalid", "mismatch"}
RETRY_CODES = {E_BATCH_WORKER_LOST, "E_IO"}


@dataclass
class Item:
    input: str           # absolute path: the key of its result row
    output: str | None   # absolute path, None for validate / verify
    rel: str             # the path under OUTDIR (or the input's relative name)


def read_manifest(path: str) -> list[str]:
    """One path a line; blank lines and lines starting with # are skipped;
    relative paths are relative to the manifest's own directory."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AigifError("E_USAGE", f"cannot read manifest {path}: {getattr(exc, 'strerror', None) or exc}") from None
    base = os.path.dirname(os.path.abspath(path))
    return [os.path.join(base, line) for line in (s.strip() for s in lines) if line and not line.startswith("#")]


def items(op: str, paths: list[str], outdir: str | None, follow_symlinks: bool = False,
          excluded: list | None = None) -> list[Item]:
    """The work of a batch, in a stable order; files left out of directory
    trees (symlinks out of them, FIFOs, other types) go to ``excluded`` as
    (path, why). Raises E_USAGE for an output collision or a missing input."""
    for p in paths:
        if not os.path.lexists(p):
            raise AigifError("E_USAGE", f"{p}: no such file or directory")
    out = Path(outdir) if outdir else None
    if op == "convert":
        from ..cli.convert import inputs  # the names `aigif convert` gives: same outputs, byte for byte
        assert out is not None
        return [Item(os.path.abspath(s), os.path.abspath(out / rel), str(rel))
                for s, rel in inputs(paths, follow_symlinks, excluded)]
    from ..cli.common import walk
    pairs: list[tuple[str, Path]] = []
    files = [p for p in paths if not os.path.isdir(p)]
    base = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]) if files else ""
    for p in paths:
        if os.path.isdir(p):
            found, left = walk(p, IN_SUFFIX[op], follow_symlinks, report_other=False)
            if excluded is not None:
                excluded += left
            pairs += [(q, Path(q).relative_to(p)) for q in found]
        else:
            pairs.append((p, Path(os.path.relpath(os.path.abspath(p), base))))
    result: list[Item] = []
    seen: dict[str, str] = {}
    for src, rel in pairs:
        if op in OUT_SUFFIX:
            rel = rel.with_suffix(OUT_SUFFIX[op])
        key = str(rel).casefold()  # a case-insensitive file system would merge these too
        if key in seen:
            if os.path.abspath(seen[key]) == os.path.abspath(src):
                continue  # the same file named twice
            what = "be written to" if op in OUT_SUFFIX else "have the result name"
            raise AigifError("E_USAGE", f"{seen[key]} and {src} would both {what} {rel}; run them as separate batches")
        seen[key] = src
        dest = os.path.abspath(out / rel) if (out is not None and op in OUT_SUFFIX) else None
        result.append(Item(os.path.abspath(src), dest, str(rel)))
    return result


def options_key(op: str, opts: dict) -> str:
    """A short hash of the options that change an output or a verdict: a row
    made with other ones is not "done" for this run."""
    keys = {"convert": ["keep_pixels"], "decode": ["use_payload", "device", "threads"], "verify": ["device", "threads"]}
    chosen = {k: opts.get(k) for k in keys.get(op, [])}
    return hashlib.sha256(json.dumps([op, chosen], sort_keys=True).encode()).hexdigest()[:16]


def sha256_of(path: str, limit: int | None = None) -> str | None:
    """Hex SHA-256 of a regular file (None if it cannot be read), never blocking on a FIFO."""
    from ..fsutil import open_regular
    try:
        fd = open_regular(path)
    except AigifError:
        return None
    h = hashlib.sha256()
    try:
        with open(fd, "rb", closefd=False) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    finally:
        os.close(fd)
    return h.hexdigest()


def is_done(item: Item, row: dict | None, op: str, okey: str, retry_failed: bool, rehash: bool) -> bool:
    """Whether ``row``, the last recorded result of ``item``, still stands: same
    operation and options, input unchanged (size and mtime; with ``rehash``
    its SHA-256 too), and its output in place with the recorded size (and hash)."""
    if row is None or row.get("op") != op or row.get("options") != okey:
        return False
    if row.get("status") not in FINAL and (row.get("status") != "failed" or retry_failed or row.get("code") in RETRY_CODES):
        return False
    try:
        st = os.stat(item.input)
    except OSError:
        return False
    if st.st_size != row.get("in_size") or st.st_mtime_ns != row.get("in_mtime_ns"):
        return False
    if rehash and sha256_of(item.input) != row.get("in_sha256"):
        return False
    if row.get("out_sha256") is not None:  # the row says an output was written: it must still be there
        if row.get("output") != item.output or item.output is None:
            return False
        try:
            ost = os.lstat(item.output)
        except OSError:
            return False
        if not os.path.isfile(item.output) or os.path.islink(item.output) or ost.st_size != row.get("out_bytes"):
            return False
        if rehash and sha256_of(item.output) != row["out_sha256"]:
            return False
    return True
