"""File helpers: atomic writes (a reader never sees a partial file, SPEC.md §16)
and SHA-256 of a file read in blocks."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    directory and an atomic rename, so an interrupted write leaves either the
    old file or the new one, never half of one.

    The new file gets the mode an ordinary ``open(path, "w")`` would give it
    (``0o666`` less the umask), or the mode of the file it replaces:
    ``mkstemp`` alone would leave every output readable by its owner only."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read 1 MiB at a time (weights can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
