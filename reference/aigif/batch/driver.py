"""One batch from start to end: plan, skip what an earlier run finished, run
the rest on Ray, log each row as it arrives, then write the table, remove
the temporaries killed writers left, and summarise.

Resumable by construction: an output is written (atomically) before its row
is logged, so a row always means its output is complete; an output without a
row is simply written again, with the same bytes. A re-run with the same
arguments therefore ends with exactly the outputs of one uninterrupted run.
"""
from __future__ import annotations

import os
import secrets
import sys
import time
from collections import Counter
from typing import Any, TextIO

from ..errors import AigifError
from ..fsutil import clean_stale_temporaries
from ..safetext import printable
from . import plan, results


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
              progress: bool | None = None, hard_grace_s: float = 30.0, out: TextIO = sys.stdout) -> dict:
    """Run one batch; returns the counts (``done_before``, ``ran``, statuses, ``seconds``, engine facts)."""
    from ..registry import load
    if op not in plan.OPS_WITH_OUTPUT and op not in ("validate", "verify"):
        raise AigifError("E_USAGE", f"unknown batch operation {op!r}")
    if op in plan.OPS_WITH_OUTPUT:
        if not outdir:
            raise AigifError("E_USAGE", f"batch {op} writes files: name the output directory with -o")
        if os.path.exists(outdir) and not os.path.isdir(outdir):
            raise AigifError("E_USAGE", f"-o {outdir}: it is a file; the batch writes its outputs into a directory")
    all_paths = list(paths)
    for m in manifests or []:
        all_paths += plan.read_manifest(m)
    if not all_paths:
        raise AigifError("E_USAGE", "no input: name files, directories or --manifest FILE")
    t0 = time.monotonic()
    excluded: list[tuple[str, str]] = []
    items = plan.items(op, all_paths, outdir, follow_symlinks, excluded)
    log_path, table_path = results.paths(results_path)
    named = {it.input for it in items} | {it.output for it in items if it.output}
    if os.path.abspath(log_path) in named or os.path.abspath(table_path) in named:
        raise AigifError("E_USAGE", f"--results {results_path}: it is an input or an output of the batch")
    okey = plan.options_key(op, opts)
    previous = results.read_log(log_path)
    todo = [it for it in items if not plan.is_done(it, previous.get(it.input), op, okey, retry_failed, rehash)]
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"
    log = results.Log(log_path)
    latest = dict(previous)
    show = progress if progress is not None else sys.stderr.isatty()
    bar = Progress(len(todo), op, show)

    def on_rows(rows: list[dict]) -> None:
        now = time.time()
        for r in rows:
            r.update(op=op, options=okey, run=run_id, finished_at=round(now, 3))
            latest[r["input"]] = r
        log.write(rows)
        bar.add(rows)

    for path, why in excluded:  # left out of a directory tree: a row says why, every run
        on_rows([{"input": os.path.abspath(path), "output": None, "status": "excluded", "code": None, "message": why}])
    facts: dict[str, Any] = {}
    try:
        if todo:
            from . import engine
            engine.start(address, workers)
            worker_opts = {**opts, "outdir": os.path.abspath(outdir) if outdir else None,
                           "fault": os.environ.get("AIGIF_BATCH_FAULT")}
            keys = None
            if op in ("decode", "verify"):  # one model per actor as long as its files last
                from .work import peek_key
                reg = load()
                found = [peek_key(it.input, reg) for it in todo]
                order = sorted(range(len(todo)), key=lambda i: repr(found[i]))
                todo, keys = [todo[i] for i in order], [found[i] for i in order]
            facts = engine.run(op, [{"input": it.input, "output": it.output} for it in todo], worker_opts, on_rows,
                               workers=workers, chunk=chunk, keys=keys, hard_grace_s=hard_grace_s)
    finally:
        bar.end()
        log.close()
    if outdir and os.path.isdir(outdir):  # temporaries of workers killed mid-write (kill -9): never left behind
        for d in sorted({os.path.dirname(it.output) for it in items if it.output}):
            if os.path.isdir(d):
                clean_stale_temporaries(d)
    current = {it.input for it in items}
    rows = [latest[k] for k in sorted(latest) if k in current or latest[k].get("op") == op]
    wrote_table = results.write_table(table_path, rows)
    counts = Counter(latest[it.input]["status"] for it in items if it.input in latest)
    summary = {"op": op, "inputs": len(items), "done_before": len(items) - len(todo), "ran": len(todo),
               "excluded": len(excluded), "status": dict(counts), "seconds": round(time.monotonic() - t0, 3),
               "results": [log_path] + ([table_path] if wrote_table else []), **facts}
    rate = len(todo) / summary["seconds"] if summary["seconds"] else 0.0
    print(printable(f"batch {op}: {len(items):,} inputs, {summary['done_before']:,} done before, {len(todo):,} run "
                    f"in {summary['seconds']:.1f} s ({rate:,.1f} files/s); "
                    + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
                    + f"; results: {', '.join(summary['results'])}"), file=out)
    return summary
