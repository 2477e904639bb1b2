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

    def write(self, rows: list[dict]) -> None:
        self.fh.seek(0, io.SEEK_END)
        self.fh.write(b"".join(json.dumps(r, ensure_ascii=True, separators=(",", ":")).encode() + b"\n" for r in rows))
        self.fh.flush()
        if time.monotonic() - self.synced > self.sync_s:
            os.fsync(self.fh.fileno())
            self.synced = time.monotonic()

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


def summary(rows: list[dict]) -> list[tuple[str, str, int, int, int, float]]:
    """(status, code, files, bytes in, bytes out, seconds) per status and code."""
    acc: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        k = (str(r.get("status")), r.get("code") or "")
        a = acc.setdefault(k, [0, 0, 0, 0.0])
        a[0] += 1
        a[1] += r.get("in_bytes") or 0
        a[2] += r.get("out_bytes") or 0
        a[3] += r.get("seconds") or 0.0
    return [(s, c, *v) for (s, c), v in sorted(acc.items())]


def format_summary(rows: list[dict]) -> str:
    lines = [f"{'status':<10}{'code':<28}{'files':>10}{'bytes in':>16}{'bytes out':>14}{'s/file':>10}"]
    for status, code, n, bi, bo, sec in summary(rows):
        lines.append(f"{status:<10}{code:<28}{n:>10,}{bi:>16,}{bo:>14,}{sec / n if n else 0:>10.4f}")
    c = Counter(r.get("status") for r in rows)
    lines.append(f"{len(rows):,} files: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))))
    return "\n".join(lines)
