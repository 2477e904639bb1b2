"""One batch from start to end: plan, skip what an earlier run finished, run
the rest on Ray, log each row as it arrives, then write the table, remove
the temporaries killed writers left, and summarise.

Resumable by construction: an output is written (atomically) before its row
is logged, so a row always means its output is complete; an output without a
row is simply written again, with the same bytes. A re-run with the same
arguments therefore ends with exactly the outputs of one uninterrupted run.
An output already in OUTDIR that no row of these results records is left
alone (an E_BATCH_EXISTS row) unless it holds exactly the bytes this run
would write (a killed run's output whose row was not logged yet) or
``force`` is given.

Memory is bounded whatever the number of files: the plan and the resume
index are on disk (:mod:`aigif.batch.index`), the engine holds a window of
the work, the table is written in row groups.
"""
from __future__ import annotations

import os
import secrets
import sys
import time
from collections import Counter
from typing import Any, TextIO

from ..errors import AigifError
from ..safetext import printable
from . import plan, results
from .index import Index, LogReader, enc


class Progress:
    """``done/total, files/s, ETA`` on one stderr line, at most 4 times a second."""

    def __init__(self, total: int, op: str, enabled: bool, stream: TextIO = sys.stderr):
        self.total, self.op, self.enabled, self.stream = total, op, enabled, stream
        self.done = 0
        self.t0 = self.shown = time.monotonic()
        self.status: Counter = Counter()

    def add(self, rows: list[dict]) -> None:
        self.done += len(rows)
        self.status.update(r["status"] for r in rows)
        now = time.monotonic()
        if self.enabled and (now - self.shown > 0.25 or self.done == self.total):
            self.shown = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0
            failed = self.status.get("failed", 0)
            self.stream.write(f"\r[batch {self.op}] {self.done:,}/{self.total:,}  {rate:,.1f} files/s  "
                              f"ETA {int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}  failed {failed:,} ")
            self.stream.flush()

    def end(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")


def run_batch(op: str, paths: list[str], *, outdir: str | None, results_path: str, opts: dict,
              manifests: list[str] | None = None, workers: int | None = None, address: str | None = None,
              chunk: int = 64, retry_failed: bool = False, rehash: bool = False, follow_symlinks: bool = False,
              force: bool = False, progress: bool | None = None, hard_grace_s: float = 30.0,
              out: TextIO = sys.stdout) -> dict:
    """Run one batch; returns the counts (``done_before``, ``ran``, statuses, ``seconds``, engine facts).

    Memory: the inputs are walked and the manifests read as streams into an
    on-disk index (:mod:`aigif.batch.index`) with the resume index and the
    plan; the engine holds a bounded window of that work; the results table
    is written a row group at a time. ``force``: replace outputs in OUTDIR
    that this batch's results do not record (else each is an
    E_BATCH_EXISTS row and stays as it is)."""
    from ..registry import load
    if op not in plan.OPS_WITH_OUTPUT and op not in ("validate", "verify"):
        raise AigifError("E_USAGE", f"unknown batch operation {op!r}")
    if op in plan.OPS_WITH_OUTPUT:
        if not outdir:
            raise AigifError("E_USAGE", f"batch {op} writes files: name the output directory with -o")
        if os.path.exists(outdir) and not os.path.isdir(outdir):
            raise AigifError("E_USAGE", f"-o {outdir}: it is a file; the batch writes its outputs into a directory")
    manifests = list(manifests or [])
    if not paths and next(plan.sources([], manifests), None) is None:
        raise AigifError("E_USAGE", "no input: name files, directories or --manifest FILE")
    t0 = time.monotonic()
    log_path, table_path = results.paths(results_path)
    stem = log_path[: -len(".jsonl")]
    try:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    except OSError as exc:
        raise AigifError("E_IO", f"cannot create the directory of {log_path}: {exc.strerror or exc}") from None
    idx = Index(stem + ".index.sqlite")
    try:
        return _run(idx, op, list(paths), manifests, outdir, log_path, table_path, opts, workers, address, chunk,
                    retry_failed, rehash, follow_symlinks, force, progress, hard_grace_s, out, t0, load)
    finally:
        idx.close()


def _run(idx: Index, op, paths, manifests, outdir, log_path, table_path, opts, workers, address, chunk, retry_failed,
         rehash, follow_symlinks, force, progress, hard_grace_s, out, t0, load) -> dict:
    plan.plan_into(idx, op, paths, manifests, outdir, follow_symlinks,
                   forbidden=(os.path.abspath(log_path), os.path.abspath(table_path)))
    n_items, n_excluded = idx.count("plan"), idx.count("excluded")
    okey = plan.options_key(op, opts)
    idx.load_log(log_path)

    # what this run does: a row that still stands is skipped (one page of the plan in memory at a time)
    grouped = op in ("decode", "verify")  # one model per actor as long as its files last
    reg = load() if grouped else None
    reader = LogReader(log_path)
    n_todo = 0
    try:
        for page in idx.plan_with_offsets():
            marks = []
            for seq, inp, outp, rel, off in page:
                item = plan.Item(inp, outp, rel)
                prev = reader.row(off)
                if prev is not None and prev.get("input") != inp:
                    prev = None
                if plan.is_done(item, prev, op, okey, retry_failed, rehash):
                    continue
                mine = prev.get("out_sha256") if (prev and outp is not None and prev.get("output") == outp) else None
                gkey = b""
                if grouped:
                    from .work import peek_key
                    gkey = repr(peek_key(inp, reg)).encode("utf-8", "surrogatepass")
                marks.append((seq, mine, gkey))
            idx.mark_todo(marks)
            n_todo += len(marks)
    finally:
        reader.close()

    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"
    log = results.Log(log_path)
    show = progress if progress is not None else sys.stderr.isatty()
    bar = Progress(n_todo, op, show)

    def on_rows(rows: list[dict]) -> None:
        now = time.time()
        for r in rows:
            r.update(op=op, options=okey, run=run_id, finished_at=round(now, 3))
        offsets = log.write(rows)
        idx.set_latest([(enc(r["input"]), o) for r, o in zip(rows, offsets)])
        bar.add(rows)

    left: list[dict] = []
    for path, why in idx.excluded_rows():  # left out of a directory tree: a row says why, every run
        left.append({"input": os.path.abspath(path), "output": None, "status": "excluded", "code": None, "message": why})
        if len(left) >= 1000:
            on_rows(left)
            left = []
    if left:
        on_rows(left)
    facts: dict[str, Any] = {}
    try:
        if n_todo:
            from . import engine
            engine.start(address, workers)
            worker_opts = {**opts, "outdir": os.path.abspath(outdir) if outdir else None, "force": bool(force),
                           "fault": os.environ.get("AIGIF_BATCH_FAULT")}
            facts = engine.run(op, idx.todo_items(), worker_opts, on_rows, total=n_todo, grouped=grouped,
                               workers=workers, chunk=chunk, hard_grace_s=hard_grace_s)
    finally:
        bar.end()
        log.close()
    if outdir and os.path.isdir(outdir):  # temporaries of workers killed mid-write (kill -9): never left behind
        from .. import fsutil
        for d in idx.output_dirs():
            if os.path.isdir(d):
                fsutil.clean_stale_temporaries(d)
                fsutil._cleaned.discard(os.path.realpath(d))  # its once-per-process memo would grow with the directories

    # the table: the latest row of each input of this run, and of earlier runs of the same operation
    counts: Counter = Counter()
    table = results.TableWriter(table_path)
    reader = LogReader(log_path)
    try:
        for _input, off, inplan in idx.latest_rows():
            row = reader.row(off)
            if row is None:
                continue
            if inplan:
                counts[row.get("status")] += 1
            if inplan or row.get("op") == op:
                table.add(row)
        wrote_table = table.close()
    except BaseException:
        table.abort()
        raise
    finally:
        reader.close()
    summary = {"op": op, "inputs": n_items, "done_before": n_items - n_todo, "ran": n_todo,
               "excluded": n_excluded, "status": dict(counts), "seconds": round(time.monotonic() - t0, 3),
               "results": [log_path] + ([table_path] if wrote_table else []), **facts}
    rate = n_todo / summary["seconds"] if summary["seconds"] else 0.0
    print(printable(f"batch {op}: {n_items:,} inputs, {summary['done_before']:,} done before, {n_todo:,} run "
                    f"in {summary['seconds']:.1f} s ({rate:,.1f} files/s); "
                    + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
                    + f"; results: {', '.join(summary['results'])}"), file=out)
    return summary
