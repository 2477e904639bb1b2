"""File helpers: bounded reads of regular files only, atomic writes (a reader
never sees a partial file), temporaries that a killed writer leaves are found
and removed, and SHA-256 of a file read in blocks (SPEC.md §16)."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import AigifError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike) -> int:
    """A read-only descriptor of ``path`` if it is a regular file (after
    symlinks), else E_IO. ``O_NONBLOCK`` so that opening a FIFO never waits
    for a writer; the type is then checked on the open descriptor, so a file
    swapped for a FIFO or device after a ``stat`` is still refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        mode = os.stat(path).st_mode  # first, for a clear message (a socket cannot even be opened)
        if not stat.S_ISREG(mode):
            raise AigifError("E_IO", f"cannot read {os.fsdecode(path)}: {kind_of(mode)}, not a regular file")
        fd = os.open(path, flags)
    except OSError as exc:
        raise AigifError("E_IO", f"cannot read {os.fsdecode(path)}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise AigifError("E_IO", f"cannot read {os.fsdecode(path)}: {kind_of(mode)}, not a regular file")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


def read_exact(fd: int, n: int) -> bytes:
    """Up to ``n`` bytes from ``fd``'s position, ``n`` being what a regular
    file's size says is there: one allocation, filled by one read for files
    under 2 GiB (more reads, joined, above what one read may return)."""
    with open(fd, "rb", buffering=0, closefd=False) as f:
        data = f.read(n) or b""
        parts = [data]
        got = len(data)
        while got < n:
            chunk = f.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    return data if len(parts) == 1 else b"".join(parts)


def read_regular(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; the size is
    checked before anything is read, and no more than it is ever read."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise AigifError("E_LIMIT", f"{os.fsdecode(path)}: {size:,} bytes is more than a {what} may be ({limit:,})")
        data = read_exact(fd, size)
        if os.read(fd, 1):
            raise AigifError("E_IO", f"{os.fsdecode(path)} grew while it was read")
        return data
    finally:
        os.close(fd)


TMP_MARK = ".aigif-tmp-"
_TMP_NAME = re.compile(r"^\..*\.aigif-tmp-(\d+)-[0-9a-f]{8}$")
_cleaned: set[str] = set()


def temp_name(path: Path) -> Path:
    """``.NAME.aigif-tmp-PID-RANDOM`` beside ``path``: recognisably ours, with the
    writer's PID so a later run can tell a dead writer's leftover from a live one's."""
    return path.with_name(f".{path.name[:180]}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def clean_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Remove the temporaries that writers killed mid-write (``kill -9``, power
    loss) left in ``directory``: our name pattern, a regular file of this user,
    and no process with its PID alive. Once per directory and process; returns
    the names removed."""
    key = os.path.realpath(directory)
    if key in _cleaned:
        return []
    _cleaned.add(key)
    removed = []
    try:
        with os.scandir(os.fsdecode(directory)) as it:
            for e in it:
                m = _TMP_NAME.match(e.name)
                if not m or _alive(int(m.group(1))):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
                    if stat.S_ISREG(st.st_mode) and mine:
                        os.unlink(e.path)
                        removed.append(e.name)
                except OSError:
                    continue
    except OSError:
        pass
    return removed


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    directory and an atomic rename, so an interrupted write leaves either the
    old file or the new one, never half of one; failures are E_IO.

    The new file gets the mode an ordinary ``open(path, "w")`` would give it
    (``0o666`` less the umask), or the mode of the file it replaces. The
    temporary is named by :func:`temp_name`; one a killed writer left is
    removed by the next write into that directory."""
    path = Path(path)
    where = path.parent if str(path.parent) else Path(".")
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    clean_stale_temporaries(where)
    tmp = temp_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise AigifError("E_IO", f"cannot write {os.fsdecode(path)}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode) if hasattr(os, "fchmod") else os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise AigifError("E_IO", f"cannot write {os.fsdecode(path)}: {exc.strerror or exc}") from None
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read 1 MiB at a time (weights can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def iter_walk(root: str, suffixes, follow_symlinks: bool = False, report_other: bool = False
              ) -> Iterator[tuple[str, str | None]]:
    """The files under directory ``root`` whose suffix is in ``suffixes``, as a stream:
    (path, None) for each file found, (path, why) for each left out — broken
    symlinks, symlinks that lead out of ``root`` (followed only with
    ``follow_symlinks``), FIFOs and devices, and (``report_other``) files of
    other types — depth first, each directory's entries sorted by name.
    Symlinked directories are entered only with ``follow_symlinks``, each real
    directory once (no cycles). It holds one directory listing per level of
    the tree, never the whole tree (``aigif batch`` walks millions of files)."""
    real_root = os.path.realpath(root)
    seen_dirs = {real_root}

    def inside(real: str) -> bool:
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

    def visit(d: str) -> Iterator[tuple[str, str | None]]:
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield d, f"cannot list it: {exc.strerror or exc}"
            return
        for e in entries:
            try:
                link = e.is_symlink()
                st = os.stat(e.path)
            except OSError:
                if link:
                    yield e.path, "a broken symlink"
                continue
            real = os.path.realpath(e.path) if link else None
            if stat.S_ISDIR(st.st_mode):
                if link:
                    if not follow_symlinks:
                        yield e.path, "a symlink to a directory; not followed (--follow-symlinks)"
                        continue
                    assert real is not None
                    if real in seen_dirs:
                        continue
                    seen_dirs.add(real)  # symlinked directories only: no cycles
                yield from visit(e.path)
                continue
            if os.path.splitext(e.name)[1].lower() not in suffixes:
                if report_other:
                    yield e.path, "not a supported file type"
                continue
            if not stat.S_ISREG(st.st_mode):
                yield e.path, f"{kind_of(st.st_mode)}, not a regular file"
            elif link and not follow_symlinks and real is not None and not inside(real):
                yield e.path, f"a symlink out of {root}; not followed (--follow-symlinks)"
            else:
                yield e.path, None

    yield from visit(root)
