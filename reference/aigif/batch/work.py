"""The per-file work of a batch, one result row per file, on the library's
own functions (``codec.read``, ``aigif convert``'s ``convert_one``, the
:class:`~aigif.regen.Regenerator`). No Ray here: :class:`Worker` is what a
Ray actor wraps, and runs the same in a plain loop (the benchmark's baseline).

Every failure becomes a row with a code; nothing escapes :meth:`Worker.one`
but a signal the process is meant to die of.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import codec
from ..errors import AigifError
from ..fsutil import atomic_write, kind_of, open_regular, read_exact, read_regular
from . import E_BATCH_EXISTS, E_BATCH_INTERNAL, E_BATCH_TIMEOUT

MAX_INPUT = 512 << 20  # an image bigger than this is not a generated image: E_LIMIT, not read


class OutputExists(Exception):
    """The output path holds a file this batch did not write (E_BATCH_EXISTS,
    a batch code: not one of the library's AigifError codes)."""


class _Timeout(BaseException):  # not Exception: the library's own nets must not swallow it
    pass


def _alarm(signum, frame):
    raise _Timeout()


@contextmanager
def budget(seconds: float | None):
    """Interrupt the block after ``seconds`` (SIGALRM: Ray runs an actor's
    calls on its main thread). A hang inside C code that never returns to the
    interpreter is the engine's to catch: it kills the worker."""
    usable = bool(seconds) and hasattr(signal, "setitimer")
    if seconds and usable:
        old = signal.signal(signal.SIGALRM, _alarm)
        # Repeating: an exception raised where the interpreter discards it (a
        # __del__, a weakref callback) would otherwise end the budget unnoticed.
        signal.setitimer(signal.ITIMER_REAL, float(seconds), 0.05)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def fingerprint(path: str) -> tuple[bytes, dict]:
    """The bytes of a regular file (never blocking on a FIFO, bounded) and its
    fingerprint: size, mtime and SHA-256 of exactly what was processed."""
    fd = open_regular(path)
    try:
        st = os.fstat(fd)
        if st.st_size > MAX_INPUT:
            raise AigifError("E_LIMIT", f"{st.st_size:,} bytes is more than a batch input may be ({MAX_INPUT:,})")
        data = read_exact(fd, st.st_size)
    finally:
        os.close(fd)
    return data, {"in_size": st.st_size, "in_mtime_ns": st.st_mtime_ns, "in_bytes": len(data),
                  "in_sha256": hashlib.sha256(data).hexdigest()}


def in_place(dest: Path, data: bytes, ours: str | None) -> bool:
    """Whether ``dest`` already holds exactly ``data`` (nothing to write).
    False when there is no file, or when it is the output the results last
    recorded for this input (SHA-256 ``ours``): this batch's own, replaced.
    Anything else there was not written by this batch: E_BATCH_EXISTS, and it
    is left as it is (``--force`` replaces it): :class:`OutputExists`."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AigifError("E_IO", f"cannot check {dest}: {exc.strerror or exc}") from None
    what = "a file"
    if stat.S_ISREG(st.st_mode):
        if st.st_size == len(data) or ours:
            try:
                existing = read_regular(dest, max(len(data), MAX_INPUT), "batch output")
            except AigifError:
                existing = None
            if existing == data:
                return True  # the same bytes: a killed run wrote it before its row was logged
            if ours and existing is not None and hashlib.sha256(existing).hexdigest() == ours:
                return False
    else:
        what = kind_of(st.st_mode) if not stat.S_ISLNK(st.st_mode) else "a symlink"
    raise OutputExists(f"{dest} exists ({what}) and these results do not record this batch writing it; "
                     "left as it is: remove it, or run with --force to replace it")


def model_key(f) -> tuple:
    """What one loaded pipeline serves: files with the same key share it."""
    return (f.model, f.dtype, f.width, f.height, tuple(sorted((k, v.hex() if isinstance(v, bytes) else v)
                                                              for k, v in f.model_fields.items())))


def _fault(spec: str | None, path: str) -> None:
    """Test hook (``AIGIF_BATCH_FAULT=crash:NAME`` or ``stall:NAME``): make the
    worker die, or hang where no signal reaches it, on inputs named NAME, so the
    tests can show one crashing or stuck worker does not stop a run."""
    if not spec:
        return
    how, _, name = spec.partition(":")
    if os.path.basename(path) != name:
        return
    if how == "crash":
        os._exit(3)
    if how == "stall" and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)


class Worker:
    """Does one operation on files. ``opts``: ``budget`` (seconds a file may
    take), ``keep_pixels`` (convert), ``use_payload`` (decode), ``device``,
    ``threads``, ``model_dirs`` (decode, verify), ``outdir``, ``force`` (replace
    outputs this batch did not write), ``fault`` (tests). An item may carry
    ``prev_sha256``: the SHA-256 of the output the results last recorded for
    it, which this batch may replace."""

    def __init__(self, op: str, opts: dict):
        from ..registry import load
        self.op, self.opts = op, opts
        self.reg = load()
        self.regen: Any = None
        self.key: tuple | None = None
        self.where = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, batch: list[dict]) -> list[dict]:
        return [self.one(item) for item in batch]

    def one(self, item: dict) -> dict:
        row: dict[str, Any] = {"input": item["input"], "output": item.get("output"), "status": "failed", "code": None,
                               "message": None, "worker": self.where, "out_bytes": None, "out_sha256": None}
        if self.op in ("decode", "verify"):
            self._prepare(item["input"])
        t0 = time.perf_counter()
        try:
            with budget(self.opts.get("budget")):
                _fault(self.opts.get("fault"), item["input"])
                data, fp = fingerprint(item["input"])
                row.update(fp)
                getattr(self, "_" + self.op)(item, data, row)
        except AigifError as err:
            row.update(status="invalid" if row.get("stage") == "parse" else "failed", code=err.code, message=err.message)
        except OutputExists as exc:
            row.update(status="failed", code=E_BATCH_EXISTS, message=str(exc))
        except _Timeout:
            row.update(status="failed", code=E_BATCH_TIMEOUT, message=f"took more than {self.opts.get('budget')} s")
        except RecursionError:  # no input may produce a traceback (SPEC.md §16)
            row.update(status="failed", code="E_LIMIT", message="input nests too deeply")
        except MemoryError:
            row.update(status="failed", code="E_LIMIT", message="out of memory on this file")
        except Exception as exc:  # a bug on one file must not stop the other million: a row, named
            row.update(status="failed", code=E_BATCH_INTERNAL, message=f"{type(exc).__name__}: {str(exc)[:200]}")
        row.pop("stage", None)
        row["seconds"] = round(time.perf_counter() - t0, 6)
        return row

    # -- the operations ---------------------------------------------------------------

    def _write(self, item: dict, data: bytes, row: dict) -> None:
        dest = Path(item["output"])
        outdir = os.path.realpath(self.opts["outdir"])
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AigifError("E_IO", f"cannot create {dest.parent}: {exc.strerror or exc}") from None
        real = os.path.realpath(dest.parent)
        if real != outdir and not real.startswith(outdir.rstrip(os.sep) + os.sep):  # never through a symlink out of OUTDIR
            raise AigifError("E_IO", f"refusing to write {dest}: a symlinked directory leads out of the output directory")
        if self.opts.get("force") or not in_place(dest, data, item.get("prev_sha256")):
            atomic_write(dest, data)
        row.update(out_bytes=len(data), out_sha256=hashlib.sha256(data).hexdigest())

    def _validate(self, item: dict, data: bytes, row: dict) -> None:
        row["stage"] = "parse"  # an error from here on is the file's verdict, not a failure
        f = codec.read(data, self.reg)
        row.update(status="ok", model=f.model, width=f.width, height=f.height)

    def _convert(self, item: dict, data: bytes, row: dict) -> None:
        from ..cli.convert import convert_one
        # keep_pixels None: `aigif convert`'s default (pixels for partial records only)
        conv, out = convert_one(Path(item["input"]), self.opts.get("keep_pixels"), self.reg)
        self._write(item, out, row)
        row.update(status="ok", tool=conv.tool, carried=list(conv.carried), lost=list(conv.lost), model=conv.file.model,
                   width=conv.file.width, height=conv.file.height)

    def _regenerator(self, f):
        """The worker's Regenerator, holding one model: when the files move to
        another model, the previous pipeline is dropped (memory stays bounded)."""
        if self.regen is None:
            from ..regen import Regenerator
            self.regen = Regenerator(device=self.opts.get("device"), model_dirs=self.opts.get("model_dirs") or {},
                                     threads=self.opts.get("threads", 1), reg=self.reg)
        key = self.regen._pipe_key(f)  # model, dtype, model fields: a new size reuses the pipeline
        if key != self.key:
            self.regen._pipes.clear()
            self.key = key
        return self.regen

    def _prepare(self, path: str) -> None:
        """Load the file's model before its budget starts: the budget is for
        the file, a first load (gigabytes) is the worker's. Any error here is
        left for the timed run to report, in its row."""
        from ..cli.common import read_file
        try:
            f = codec.read(read_file(path), self.reg)
            self._regenerator(f).pipeline(f)
        except Exception:  # reported by the timed run, with its code
            pass

    def _render(self, data: bytes, row: dict, use_payload: bool = False):
        f = codec.read(data, self.reg)
        row.update(model=f.model, width=f.width, height=f.height)
        regen = self._regenerator(f)
        return f, regen, regen.render(f, use_payload)

    def _decode(self, item: dict, data: bytes, row: dict) -> None:
        from ..regen import pixels
        f, _, res = self._render(data, row, bool(self.opts.get("use_payload")))
        self._write(item, pixels.encode_png(res.pixels), row)
        row.update(status="mismatch" if res.bit_exact is False else "ok", bit_exact=res.bit_exact,
                   fidelity=res.fidelity, source=res.source)

    def _verify(self, item: dict, data: bytes, row: dict) -> None:
        import math

        from ..regen import pixels
        f = codec.read(data, self.reg)
        if f.digest is None and f.pixels is None:
            raise AigifError("E_UNSUPPORTED", "the file has neither a digest nor a pixel payload to verify against")
        f, regen, res = self._render(data, row)
        ok = res.bit_exact is not False
        row.update(bit_exact=res.bit_exact, fidelity=res.fidelity, source=res.source)
        if f.pixels is not None:
            p = pixels.psnr(res.pixels, regen.payload_pixels(f))
            row.update(pixels_identical=math.isinf(p), psnr_db=None if math.isinf(p) else round(p, 4))
            ok &= math.isinf(p)
        row["status"] = "ok" if ok else "mismatch"


def peek_key(path: str, reg) -> tuple | None:
    """The model key of an .aigif (for grouping), None when it does not parse:
    the worker then reports why."""
    from ..cli.common import read_file
    try:
        return model_key(codec.read(read_file(path), reg))
    except (AigifError, RecursionError, MemoryError):
        return None
