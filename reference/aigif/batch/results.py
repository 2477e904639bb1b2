"""The results of a batch: ``RESULTS.jsonl``, an append-only log (one row per
file processed, flushed as rows arrive, so a killed run keeps what it
finished), and ``RESULTS.parquet``, one row per input (its latest), rewritten
atomically at the end of every run.

A run killed mid-line leaves a partial last line; reading skips it and
appending first cuts it off, so the log stays one JSON object a line.
"""
from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import AigifError
from ..fsutil import atomic_write

COLUMNS: list[tuple[str, str]] = [  # name, arrow type: a fixed schema, whatever the operation
    ("input", "string"), ("output", "string"), ("op", "string"), ("status", "string"), ("code", "string"),
    ("message", "string"), ("in_bytes", "int64"), ("out_bytes", "int64"), ("in_size", "int64"),
    ("in_mtime_ns", "int64"), ("in_sha256", "string"), ("out_sha256", "string"), ("seconds", "float64"),
    ("worker", "string"), ("tool", "string"), ("carried", "list<string>"), ("lost", "list<string>"),
    ("model", "string"), ("width", "int64"), ("height", "int64"), ("bit_exact", "bool"),
    ("pixels_identical", "bool"), ("psnr_db", "float64"), ("fidelity", "string"), ("source", "string"),
    ("options", "string"), ("run", "string"), ("finished_at", "float64"),
]


def paths(results: str) -> tuple[str, str]:
    """(log, table) for ``--results RESULTS``: RESULTS.jsonl and RESULTS.parquet
    (a given .jsonl or .parquet suffix is the stem's)."""
    stem = results[: -len(ext)] if (ext := os.path.splitext(results)[1]) in (".jsonl", ".parquet") else results
    return stem + ".jsonl", stem + ".parquet"


def read_log(log: str) -> dict[str, dict]:
    """The latest row of each input in the log ({} when there is none)."""
    rows: dict[str, dict] = {}
    try:
        fh = open(log, "rb")
    except FileNotFoundError:
        return rows
    except OSError as exc:
        raise AigifError("E_IO", f"cannot read {log}: {exc.strerror or exc}") from None
    with fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the partial last line of a killed run
            if isinstance(row, dict) and isinstance(row.get("input"), str):
                rows[row["input"]] = row
    return rows


class Log:
    """Appends rows; flushes each write (a killed driver loses none it wrote)
    and fsyncs at most every ``sync_s`` seconds and on close."""

    def __init__(self, log: str, sync_s: float = 2.0):
        d = os.path.dirname(os.path.abspath(log))
        try:
            os.makedirs(d, exist_ok=True)
            self.fh = open(log, "ab+")
            self._trim()
        except OSError as exc:
            raise AigifError("E_IO", f"cannot write {log}: {exc.strerror or exc}") from None
        self.sync_s, self.synced = sync_s, time.monotonic()

    def _trim(self) -> None:
        """Cut a partial last line off (a killed writer's)."""
        size = self.fh.seek(0, io.SEEK_END)
        if size == 0:
            return
        self.fh.seek(size - 1)
        if self.fh.read(1) == b"\n":
            return
        pos, block = size, 1 << 16
        while pos > 0:
            start = max(0, pos - block)
            self.fh.seek(start)
            chunk = self.fh.read(pos - start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                self.fh.truncate(start + nl + 1)
                return
            pos = start
        self.fh.truncate(0)

    def write(self, rows: list[dict]) -> list[int]:
        """Appends ``rows``; returns the byte offset of each in the log."""
        pos = self.fh.seek(0, io.SEEK_END)
        lines = [json.dumps(r, ensure_ascii=True, separators=(",", ":")).encode() + b"\n" for r in rows]
        offsets = []
        for line in lines:
            offsets.append(pos)
            pos += len(line)
        self.fh.write(b"".join(lines))
        self.fh.flush()
        if time.monotonic() - self.synced > self.sync_s:
            os.fsync(self.fh.fileno())
            self.synced = time.monotonic()
        return offsets

    def close(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


def _schema():
    import pyarrow as pa
    kinds = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
             "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS])


def write_table(table_path: str, rows: list[dict]) -> bool:
    """The Parquet table of ``rows`` (atomically); False when pyarrow is missing."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    schema = _schema()
    names = [n for n, _ in COLUMNS]
    table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf, compression="zstd")
    atomic_write(table_path, buf.getvalue().to_pybytes())
    return True


class TableWriter:
    """The Parquet table written a row group at a time (``rows`` rows held at
    most), to a temporary renamed over ``table_path`` by :meth:`close`;
    nothing is written when pyarrow is missing (``self.ok`` False)."""

    def __init__(self, table_path: str, rows: int = 4096):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            self.ok = False
            return
        from ..fsutil import temp_name
        self.ok, self.path, self.size = True, table_path, rows
        self.tmp = str(temp_name(Path(table_path)))
        self.names = [n for n, _ in COLUMNS]
        self.schema = _schema()
        self.buf: list[dict] = []
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")

    def add(self, row: dict) -> None:
        if self.ok:
            self.buf.append({n: row.get(n) for n in self.names})
            if len(self.buf) >= self.size:
                self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        if self.buf:
            self.writer.write_table(pa.Table.from_pylist(self.buf, schema=self.schema))
            self.buf = []

    def close(self) -> bool:
        if not self.ok:
            return False
        try:
            self._flush()
            self.writer.close()
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return True

    def abort(self) -> None:
        if self.ok:
            try:
                self.writer.close()
            except Exception:  # already failing: the temporary goes either way
                pass
            try:
                os.unlink(self.tmp)
            except OSError:
                pass


def load(results: str) -> list[dict]:
    """The rows of a results table: the Parquet one, else the log's latest rows."""
    log, table = paths(results)
    if os.path.exists(table):
        try:
            import pyarrow.parquet as pq
            return pq.read_table(table).to_pylist()
        except ImportError:
            pass
        except Exception as exc:  # pyarrow raises its own types on a damaged file
            raise AigifError("E_IO", f"cannot read {table}: {exc}") from None
    if not os.path.exists(log):
        raise AigifError("E_USAGE", f"no results at {results} (neither {table} nor {log})")
    return list(read_log(log).values())


SUMMARY_COLUMNS = ["status", "code", "in_bytes", "out_bytes", "seconds"]


def iter_rows(results: str, columns: list[str] | None = None) -> Iterator[dict]:
    """The rows of a results table as a stream (``columns`` only, when given):
    the Parquet one a row group at a time, else the log's latest rows."""
    log, table = paths(results)
    if os.path.exists(table):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            pq = None
        if pq is not None:
            try:
                batches = pq.ParquetFile(table).iter_batches(batch_size=4096, columns=columns)
                for batch in batches:
                    yield from batch.to_pylist()
            except Exception as exc:  # pyarrow raises its own types on a damaged file
                raise AigifError("E_IO", f"cannot read {table}: {exc}") from None
            return
    if not os.path.exists(log):
        raise AigifError("E_USAGE", f"no results at {results} (neither {table} nor {log})")
    yield from read_log(log).values()


def summary(rows: Iterable[dict]) -> list[tuple[str, str, int, int, int, float]]:
    """(status, code, files, bytes in, bytes out, seconds) per status and code, in one pass."""
    acc: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        k = (str(r.get("status")), r.get("code") or "")
        a = acc.setdefault(k, [0, 0, 0, 0.0])
        a[0] += 1
        a[1] += r.get("in_bytes") or 0
        a[2] += r.get("out_bytes") or 0
        a[3] += r.get("seconds") or 0.0
    return [(s, c, *v) for (s, c), v in sorted(acc.items())]


def format_summary(rows: Iterable[dict]) -> str:
    """The per-status / per-code table of ``rows`` (any iterable: :func:`iter_rows` streams a table of any size)."""
    table = summary(rows)
    lines = [f"{'status':<10}{'code':<28}{'files':>10}{'bytes in':>16}{'bytes out':>14}{'s/file':>10}"]
    for status, code, n, bi, bo, sec in table:
        lines.append(f"{status:<10}{code:<28}{n:>10,}{bi:>16,}{bo:>14,}{sec / n if n else 0:>10.4f}")
    c: Counter = Counter()
    for status, _, n, *_ in table:
        c[status] += n
    lines.append(f"{sum(c.values()):,} files: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))))
    return "\n".join(lines)
