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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AigifError
from ..fsutil import iter_walk
from . import E_BATCH_EXISTS, E_BATCH_WORKER_LOST

IN_SUFFIX = {"validate": {".aigif"}, "decode": {".aigif"}, "verify": {".aigif"}}
OUT_SUFFIX = {"decode": ".png"}
OPS_WITH_OUTPUT = ("convert", "decode")
# Statuses that are a result (the file was judged); a "failed" row is final
# too, except for these codes: a lost worker, an I/O error or an output in
# the way may not recur.
FINAL = {"ok", "invalid", "mismatch"}
RETRY_CODES = {E_BATCH_WORKER_LOST, "E_IO", E_BATCH_EXISTS}  # E_BATCH_EXISTS: the file may be gone now


@dataclass
class Item:
    input: str           # absolute path: the key of its result row
    output: str | None   # absolute path, None for validate / verify
    rel: str             # the path under OUTDIR (or the input's relative name)


def iter_manifest(path: str) -> Iterator[str]:
    """The paths of a manifest, read as a stream: one path a line; blank lines
    and lines starting with # are skipped; relative paths are relative to the
    manifest's own directory."""
    base = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    yield os.path.join(base, line)
    except (OSError, UnicodeDecodeError) as exc:
        raise AigifError("E_USAGE", f"cannot read manifest {path}: {getattr(exc, 'strerror', None) or exc}") from None


def read_manifest(path: str) -> list[str]:
    """:func:`iter_manifest` as a list."""
    return list(iter_manifest(path))


def sources(paths: list[str], manifests: list[str]) -> Iterator[str]:
    """The paths named, then each manifest's, as a stream."""
    yield from paths
    for m in manifests:
        yield from iter_manifest(m)


def _pairs(paths: list[str], manifests: list[str], suffixes, report_other: bool, follow_symlinks: bool,
           on_excluded) -> Iterator[tuple[str, Path]]:
    """(input as named, path relative to its directory argument or, for
    files, to the directory the files have in common), as a stream; two
    passes over the manifests (the first finds that directory, and checks
    every input exists)."""
    base = None
    for p in sources(paths, manifests):
        if not os.path.lexists(p):
            raise AigifError("E_USAGE", f"{p}: no such file or directory")
        if not os.path.isdir(p):
            d = os.path.dirname(os.path.abspath(p))
            base = d if base is None else os.path.commonpath([base, d])
    for p in sources(paths, manifests):
        if os.path.isdir(p):
            for q, why in iter_walk(p, suffixes, follow_symlinks, report_other):
                if why is None:
                    yield q, Path(q).relative_to(p)
                else:
                    on_excluded(q, why)
        else:
            yield p, Path(os.path.relpath(os.path.abspath(p), base or ""))


def plan_into(index, op: str, paths: list[str], manifests: list[str], outdir: str | None,
              follow_symlinks: bool = False, forbidden: tuple[str, ...] = ()) -> None:
    """Plan a batch into ``index`` (:class:`aigif.batch.index.Index`): its
    items, in a stable order, and the files left out of directory trees
    (symlinks out of them, FIFOs, other types) with why. Raises E_USAGE for
    an output collision, a missing input, or an input or output in
    ``forbidden`` (the results files). Memory: one directory listing per
    tree level; the rest is in the index, on disk."""
    out = Path(outdir) if outdir else None

    def add(key: str, src: str, dest: str | None, rel: Path, same) -> None:
        a = os.path.abspath(src)
        if a in forbidden or dest in forbidden:
            raise AigifError("E_USAGE", f"{a if a in forbidden else dest}: the results of the batch cannot be one of its inputs or outputs")
        other = index.add_item(key, a, dest, str(rel))
        if other is not None and not same(other, src):
            what = "be written to" if dest is not None or op == "convert" else "have the result name"
            raise AigifError("E_USAGE", f"{other} and {src} would both {what} {rel}; run them as separate batches")

    if op == "convert":
        # the names `aigif convert` gives (same function, same stems rule): same outputs, byte for byte
        from ..cli.common import same_file
        from ..cli.convert import IMAGE_SUFFIXES, _out_name
        assert out is not None
        for src, rel in _pairs(paths, manifests, IMAGE_SUFFIXES, True, follow_symlinks, index.add_excluded):
            index.add_raw(src, str(rel), f"{rel.parent}\0{rel.stem.lower()}")
        for src, rel_s, n in index.raw_named():
            rel = Path(rel_s)
            dest = _out_name(rel, {(rel.parent, rel.stem.lower()): n})
            add(str(dest).lower(), src, os.path.abspath(out / dest), dest, same_file)
    else:
        for src, rel in _pairs(paths, manifests, IN_SUFFIX[op], False, follow_symlinks, index.add_excluded):
            if op in OUT_SUFFIX:
                rel = rel.with_suffix(OUT_SUFFIX[op])
            written = os.path.abspath(out / rel) if (out is not None and op in OUT_SUFFIX) else None
            # casefold: a case-insensitive file system would merge these too
            add(str(rel).casefold(), src, written, rel, lambda a, b: os.path.abspath(a) == os.path.abspath(b))
    index.planned()


def items(op: str, paths: list[str], outdir: str | None, follow_symlinks: bool = False,
          excluded: list | None = None) -> list[Item]:
    """The work of a batch as a list (small batches, tests); the driver uses
    :func:`plan_into`, which holds none of it in memory."""
    import tempfile

    from .index import Index
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(os.path.join(tmp, "plan.sqlite"))
        try:
            plan_into(index, op, paths, [], outdir, follow_symlinks)
            if excluded is not None:
                excluded += list(index.excluded_rows())
            return [Item(i, o, r) for page in index.plan_with_offsets() for _, i, o, r, _ in page]
        finally:
            index.close()


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
