"""Archive-scale batches: validate, convert, decode and verify millions of
files on Ray (``aigif batch``; install the ``scale`` extra).

The package splits what needs Ray from what does not, so the planner, the
results table and the per-file work stay importable (and testable) without
it:

- :mod:`aigif.batch.plan` finds the inputs (directory trees, manifests),
  maps each to its output under OUTDIR and decides what a re-run skips;
- :mod:`aigif.batch.work` is the per-file work, built on the library
  (``codec``, ``importers``, the :class:`~aigif.regen.Regenerator`);
- :mod:`aigif.batch.index` is the driver's working set on disk (the plan,
  the resume index), so the driver's memory does not grow with the files;
- :mod:`aigif.batch.results` is the results log (JSONL) and table (Parquet);
- :mod:`aigif.batch.engine` runs the work on Ray actors (the only module that
  imports Ray).

Row codes are the library's error codes (SPEC.md §10), plus four that only a
batch gives: :data:`E_BATCH_TIMEOUT` (the per-file budget ran out),
:data:`E_BATCH_WORKER_LOST` (the worker process died on the file),
:data:`E_BATCH_INTERNAL` (an unexpected exception, named in the message) and
:data:`E_BATCH_EXISTS` (the output path holds a file this batch did not
write: it is left as it is unless ``--force``).
"""
from __future__ import annotations

E_BATCH_TIMEOUT = "E_BATCH_TIMEOUT"
E_BATCH_WORKER_LOST = "E_BATCH_WORKER_LOST"
E_BATCH_INTERNAL = "E_BATCH_INTERNAL"
E_BATCH_EXISTS = "E_BATCH_EXISTS"
BATCH_CODES = (E_BATCH_TIMEOUT, E_BATCH_WORKER_LOST, E_BATCH_INTERNAL, E_BATCH_EXISTS)

OPS = ("validate", "convert", "decode", "verify")
